export { idempotency } from './middleware.ts'
export { IdempotencyStore, type IdempotencyStoreOptions, type Claim } from './store.ts'
