/**
 * The SDK's errors. Callers branch on the class (`instanceof NotFoundError`) or
 * on `code`, the server's stable machine code (docs/design.md, "Errors"), never
 * on the message.
 */

/** Base class of every error this SDK throws. */
export class WorkenError extends Error {
  override name = 'WorkenError'
}

/** The server's error body: `{ error, code, message?, details? }`. */
export type ErrorBody = {
  error?: string
  code?: string
  message?: string
  details?: Array<{ path: string; message: string }>
  [field: string]: unknown
}

/**
 * The server answered with a status outside 2xx (after any retries).
 *
 * @example
 * try {
 *   await client.bots.retrieve('bot_missing')
 * } catch (error) {
 *   if (error instanceof APIError) console.log(error.status, error.code, error.requestId)
 * }
 */
export class APIError extends WorkenError {
  override name = 'APIError'
  /** The HTTP status; undefined on a stream's in-band error. */
  readonly status: number | undefined
  /** The server's machine code (`not_found`, `name_taken`, …); null when the body had none. */
  readonly code: string | null
  /** The response headers. */
  readonly headers: Headers | undefined
  /** `x-request-id`: quote it when reporting a problem, the server logs under it. */
  readonly requestId: string | null
  /** The parsed JSON body, or the raw text when it was not JSON. */
  readonly body: unknown
  /** Per-field problems of a 422 (`[{ path, message }]`). */
  readonly details: ErrorBody['details'] | undefined

  constructor(status: number | undefined, body: unknown, message: string | undefined, headers: Headers | undefined) {
    super(APIError.describe(status, body, message))
    this.status = status
    this.headers = headers
    this.body = body
    this.requestId = headers?.get('x-request-id') ?? null
    const error = isErrorBody(body) ? body : undefined
    this.code = typeof error?.code === 'string' ? error.code : null
    this.details = Array.isArray(error?.details) ? error.details : undefined
  }

  private static describe(status: number | undefined, body: unknown, message: string | undefined): string {
    const error = isErrorBody(body) ? body : undefined
    const text = error?.message ?? error?.error ?? message ?? (typeof body === 'string' && body ? body : undefined)
    const code = error?.code ? ` ${error.code}` : ''
    if (status === undefined) return text ?? 'The API returned an error'
    return `${status}${code}${text ? `: ${text}` : ''}`
  }

  /** The subclass for a status; the generic APIError for statuses without one. */
  static generate(status: number, body: unknown, message: string | undefined, headers: Headers | undefined): APIError {
    const Class = STATUS_CLASSES[status] ?? (status >= 500 ? InternalServerError : APIError)
    return new Class(status, body, message, headers)
  }
}

export class BadRequestError extends APIError {
  override name = 'BadRequestError'
}
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError'
}
/** 402 `insufficient_credits`: the organization has no credits for a new turn; retrying will not help until a top-up. */
export class InsufficientCreditsError extends APIError {
  override name = 'InsufficientCreditsError'
}
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError'
}
export class NotFoundError extends APIError {
  override name = 'NotFoundError'
}
export class RequestTimeoutError extends APIError {
  override name = 'RequestTimeoutError'
}
export class ConflictError extends APIError {
  override name = 'ConflictError'
}
export class PayloadTooLargeError extends APIError {
  override name = 'PayloadTooLargeError'
}
export class UnprocessableEntityError extends APIError {
  override name = 'UnprocessableEntityError'
}
export class RateLimitError extends APIError {
  override name = 'RateLimitError'
}
/** Any 5xx. */
export class InternalServerError extends APIError {
  override name = 'InternalServerError'
}

const STATUS_CLASSES: Record<number, typeof APIError> = {
  400: BadRequestError,
  401: AuthenticationError,
  402: InsufficientCreditsError,
  403: PermissionDeniedError,
  404: NotFoundError,
  408: RequestTimeoutError,
  409: ConflictError,
  413: PayloadTooLargeError,
  422: UnprocessableEntityError,
  429: RateLimitError,
}

/** No HTTP answer: the connection failed or broke (after any retries). */
export class APIConnectionError extends WorkenError {
  override name = 'APIConnectionError'
  constructor(message = 'Connection error.', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** No answer within the request's `timeout` (for streams: no response headers in time). */
export class APIConnectionTimeoutError extends APIConnectionError {
  override name = 'APIConnectionTimeoutError'
  constructor(message = 'Request timed out.', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The caller's `signal` aborted the request. */
export class APIUserAbortError extends WorkenError {
  override name = 'APIUserAbortError'
  constructor(message = 'Request was aborted.', options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A reply stream's in-band `{"type":"error","error":"…"}` event: the turn failed
 * after the stream had started (the model provider failed, the reply was taken
 * over…). The user's message is stored; nothing of the failed reply is.
 */
export class StreamError extends WorkenError {
  override name = 'StreamError'
  /** The event as the server sent it. */
  readonly event: { type: 'error'; error: string; [field: string]: unknown }
  constructor(event: { type: 'error'; error: string; [field: string]: unknown }) {
    super(event.error || 'The stream reported an error')
    this.event = event
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
}
