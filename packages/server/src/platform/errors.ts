/**
 * The one error type services and routes throw. It carries a stable machine
 * `code` that clients can branch on (SDKs map it to error classes); the HTTP
 * edge (`platform/http/errors.ts`) is the only place that turns a code into a
 * status and the response body. Codes are part of the API: add, never rename.
 */
export const ERROR_CODES = [
  /** 400: the body is missing, is not JSON, or the request cannot be parsed. */
  'malformed_request',
  /** 401: no valid credentials (the body never says why). */
  'unauthorized',
  /** 402: the organization has no credits left for a new conversation turn; retrying will not help until it tops up. */
  'insufficient_credits',
  /** 403: the caller is known but may not act on this resource. */
  'forbidden',
  /** 404: no such resource in the caller's project (or no such route). */
  'not_found',
  /** 405: the path exists with other methods (see `Allow`). */
  'method_not_allowed',
  /** 409: the request conflicts with the resource's current state. */
  'conflict',
  /** 409: a client-chosen thread id is already used by another chat of the project. */
  'thread_id_taken',
  /** 409: the chat or its bot is disabled, so nothing can be sent to it. */
  'chat_disabled',
  'bot_disabled',
  /** 409: the thread's mode does not allow this reply (the AI outside `auto`, an operator outside `manual`). */
  'mode_forbids_reply',
  /** 409: a name that must be unique is taken. */
  'name_taken',
  /** 409: this `Idempotency-Key` was used with another request (method, path or body). */
  'idempotency_key_reused',
  /** 409: the first request with this `Idempotency-Key` is still running; `Retry-After` says when to try again. */
  'idempotency_key_in_use',
  /** 408: the request (headers or body) was not received in time; the connection is closed. */
  'request_timeout',
  /** 413: the body or file is larger than the server accepts. */
  'payload_too_large',
  /** 422: the request is well-formed but invalid; `details` names the fields. */
  'invalid_request',
  /** 422: the bot's model (or embedding model) cannot be used on this server. */
  'model_unavailable',
  /** 422: the vendor refused the integration's credentials; the integration is now in status `error`. */
  'credentials_refused',
  /** 429: too many requests; `Retry-After` says when to try again. */
  'rate_limited',
  /** 500: a fault of the server; the request id is in the log. */
  'internal_error',
  /** 502: an external vendor (an integration's platform) could not be reached or answered out of its documented shape. */
  'vendor_unavailable',
  /** 503: the server is shutting down or its database does not answer. */
  'unavailable',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export type FieldProblem = { path: string; message: string }

export class AppError extends Error {
  readonly code: ErrorCode
  readonly details: FieldProblem[] | undefined
  /** Response headers that belong to this error (`Allow`, `Retry-After`). */
  readonly headers: Record<string, string> | undefined
  /** False when there is no message beyond the code's status text, which the body then leaves out. */
  readonly hasMessage: boolean

  constructor(code: ErrorCode, message?: string, options?: { details?: FieldProblem[]; headers?: Record<string, string> }) {
    super(message ?? code)
    this.name = 'AppError'
    this.code = code
    this.details = options?.details
    this.headers = options?.headers
    this.hasMessage = message !== undefined
  }

  static badRequest(message: string) {
    return new AppError('malformed_request', message)
  }
  /** 401 bodies are exactly `{"error":"Unauthorized","code":"unauthorized"}`, whatever the reason. */
  static unauthorized() {
    return new AppError('unauthorized')
  }
  static forbidden(message: string) {
    return new AppError('forbidden', message)
  }
  static notFound(resource: string, id: string) {
    return new AppError('not_found', `${resource} '${id}' not found`)
  }
  static conflict(message: string, code: ErrorCode = 'conflict') {
    return new AppError(code, message)
  }
  static validation(details: FieldProblem[]) {
    const message = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')
    return new AppError('invalid_request', message, { details })
  }
}
