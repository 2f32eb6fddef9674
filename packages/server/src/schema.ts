/**
 * Every table, for drizzle-kit (`npm run db:generate`), which compares this
 * with the committed migrations. Each module owns its tables in its own
 * `tables.ts`; the outbox's table is the platform's.
 */
export * from './modules/projects/tables.ts'
export * from './modules/bots/tables.ts'
export * from './modules/conversations/tables.ts'
export * from './modules/knowledge/tables.ts'
export * from './modules/webhooks/tables.ts'
export * from './modules/integrations/tables.ts'
export * from './modules/integrations/channels/tables.ts'
export * from './modules/integrations/oauth/tables.ts'
export * from './platform/events/tables.ts'
export * from './platform/http/idempotency/tables.ts'
export * from './modules/billing/tables.ts'
export * from './modules/billing/invoices/tables.ts'
export * from './platform/http/rate-limit-table.ts'
