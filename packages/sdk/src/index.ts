/**
 * @worken/sdk: the TypeScript client for the Worken API.
 *
 * @example
 * import { WorkenClient } from '@worken/sdk'
 *
 * const client = new WorkenClient({ apiKey: process.env.WORKEN_API_KEY })
 * const bot = await client.bots.create({ name: 'Support Bot' })
 */
export { WorkenClient, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, type ClientOptions } from './client.ts'
export { WorkenClient as default } from './client.ts'
export type { CallOptions } from './call.ts'
export {
  WorkenError,
  APIError,
  BadRequestError,
  InsufficientCreditsError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  RequestTimeoutError,
  ConflictError,
  PayloadTooLargeError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  StreamError,
  type ErrorBody,
} from './core/errors.ts'
export { APIPromise, type APIResult } from './core/api-promise.ts'
export { AbstractPage, OffsetPage, TotalPage, CursorPage, StartingAfterPage, NextCursorPage, PagePromise } from './core/pagination.ts'
export { Stream, ReplyStream } from './core/stream.ts'
export { EventFeed, type EventFeedOptions, type ReconnectInfo } from './core/event-feed.ts'
export type { FinalRequestOptions, RequestOptions, HttpMethod, Fetch } from './core/transport.ts'
export type { Uploadable } from './core/uploads.ts'
export type { OperationSpec } from './core/operation-spec.ts'
export { OPERATIONS, type OperationId } from './generated/operations.ts'
export { OPERATION_METHODS } from './operation-methods.ts'
export type { paths, components, operations } from './generated/api.ts'
export type * from './types.ts'
export type { FileCreateParams } from './resources/files.ts'
export type { VectorStoreFileUploadParams } from './resources/vector-stores.ts'
export type { ThreadEvents } from './resources/threads.ts'
export { verifyWebhook, verifySignature, verifyStandardWebhook, signWebhook, Webhooks, WebhookVerificationError, type WebhookHeaders, type WebhookPayload, type VerifyOptions } from './webhooks.ts'
