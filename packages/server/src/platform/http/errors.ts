import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { z } from '@hono/zod-openapi'
import { ZodError } from 'zod'
import { AppError, ERROR_CODES, type ErrorCode, type FieldProblem } from '../errors.ts'
import type { AppEnv } from './context.ts'

/** The HTTP status of each error code: the one place where codes meet statuses. */
export const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  malformed_request: 400,
  unauthorized: 401,
  insufficient_credits: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_key_reused: 409,
  idempotency_key_in_use: 409,
  thread_id_taken: 409,
  chat_disabled: 409,
  bot_disabled: 409,
  mode_forbids_reply: 409,
  name_taken: 409,
  request_timeout: 408,
  payload_too_large: 413,
  invalid_request: 422,
  model_unavailable: 422,
  credentials_refused: 422,
  rate_limited: 429,
  internal_error: 500,
  vendor_unavailable: 502,
  unavailable: 503,
}

/** The spec's name for each status we answer with. */
const STATUS_TEXT: Record<number, string> = {
  502: 'Bad Gateway',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/** Zod issues flattened into one entry per offending field, naming unknown keys individually. */
export function fieldProblems(error: ZodError, prefix?: string): FieldProblem[] {
  const join = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.')
  return error.issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: join([...issue.path, key]), message: 'is not a known field' }))
    }
    return [{ path: join(issue.path), message: issue.message }]
  })
}

/**
 * The spec's error body, `{ error, message?, details? }`, with `code` beside
 * `error` (an extension: a stable machine code, see docs/design.md).
 */
export function errorBody(code: ErrorCode, message?: string, details?: FieldProblem[]) {
  return {
    error: STATUS_TEXT[STATUS_OF[code]] ?? 'Error',
    code,
    ...(message !== undefined ? { message } : {}),
    ...(details !== undefined ? { details } : {}),
  }
}

/** The status and body of any error, as the API answers it. */
export function errorResponse(error: AppError): { status: ContentfulStatusCode; body: ReturnType<typeof errorBody> } {
  return { status: STATUS_OF[error.code], body: errorBody(error.code, error.hasMessage ? error.message : undefined, error.details) }
}

/** The error shape for the OpenAPI document. */
export const ErrorResponse = z
  .object({
    error: z.string().openapi({ description: "The HTTP status's name, as the specification gives it" }),
    code: z.enum(ERROR_CODES).openapi({ description: 'Extension: a stable machine code to branch on' }),
    message: z.string().optional(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Error', { example: { error: 'Not Found', code: 'not_found', message: "Bot 'bot_123' not found" } })

/** The single place where anything thrown becomes a response. */
export function handleError(err: Error, c: Context<AppEnv>) {
  if (err instanceof AppError) {
    for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value)
    const { status, body } = errorResponse(err)
    // Clients retry 409s by default (a lock or an attempt still running); a conflict with the
    // resource's state stays until something changes it, so say that retrying is useless.
    if (status === 409 && !err.headers?.['x-should-retry']) c.header('x-should-retry', 'false')
    return c.json(body, status)
  }
  if (err instanceof ZodError) {
    // A service validated something the route schema could not see (a merged settings document).
    const { status, body } = errorResponse(AppError.validation(fieldProblems(err)))
    return c.json(body, status)
  }
  if (err instanceof HTTPException) {
    // Raised by Hono itself: malformed JSON, a body that is not JSON, limits.
    if (err.status === 415) return c.json(errorBody('malformed_request', 'Content-Type must be application/json'), 400)
    const code = (Object.entries(STATUS_OF) as Array<[ErrorCode, number]>).find(([, status]) => status === err.status)?.[0]
    if (code && err.status < 500) return c.json(errorBody(code, err.message || undefined), STATUS_OF[code])
  }
  if (isClientAbort(err)) {
    // The client broke its own request (a malformed chunked body, a hang-up mid-body): nothing of
    // ours failed, and nobody may be left to read the answer. Not an error line in our log.
    c.get('logger').info({ requestId: c.get('requestId'), reason: err.message }, 'the client aborted its request')
    return c.json(errorBody('malformed_request', 'The request body was not received whole'), 400)
  }
  c.get('logger').error({ err, requestId: c.get('requestId') }, 'unhandled error')
  return c.json(errorBody('internal_error'), 500)
}

/** Node's error for a request body the client cut short or could not send whole (`aborted`, ECONNRESET). */
function isClientAbort(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ECONNRESET' && err.message === 'aborted'
}
