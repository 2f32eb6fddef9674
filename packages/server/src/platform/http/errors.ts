import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { z } from '@hono/zod-openapi'
import { ZodError } from 'zod'
import type { AppEnv } from './context.ts'

/** The spec's name for each status we answer with. */
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export type FieldProblem = { path: string; message: string }

/**
 * The one error type handlers throw. `onError` turns it into
 * `{ "error": <status text>, "message"?: ..., "details"?: [...] }`.
 */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode
  readonly details: FieldProblem[] | undefined
  readonly headers: Record<string, string> | undefined
  /** False when the message is only the status text, which the body leaves out. */
  readonly hasMessage: boolean

  constructor(status: ContentfulStatusCode, message?: string, options?: { details?: FieldProblem[]; headers?: Record<string, string> }) {
    super(message ?? STATUS_TEXT[status] ?? 'Error')
    this.name = 'ApiError'
    this.status = status
    this.details = options?.details
    this.headers = options?.headers
    this.hasMessage = message !== undefined
  }

  static badRequest(message: string) {
    return new ApiError(400, message)
  }
  /** 401 bodies are exactly `{"error":"Unauthorized"}`, whatever the reason. */
  static unauthorized() {
    return new ApiError(401)
  }
  static forbidden(message: string) {
    return new ApiError(403, message)
  }
  static notFound(resource: string, id: string) {
    return new ApiError(404, `${resource} '${id}' not found`)
  }
  static conflict(message: string) {
    return new ApiError(409, message)
  }
  static validation(details: FieldProblem[]) {
    const message = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')
    return new ApiError(422, message, { details })
  }
}

/** Flattens zod issues into one entry per offending field, naming unknown keys individually. */
export function fieldProblems(error: ZodError, prefix?: string): FieldProblem[] {
  const join = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.')
  return error.issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: join([...issue.path, key]), message: 'is not a known field' }))
    }
    return [{ path: join(issue.path), message: issue.message }]
  })
}

export function errorBody(status: number, message?: string, details?: FieldProblem[]) {
  return {
    error: STATUS_TEXT[status] ?? 'Error',
    ...(message !== undefined ? { message } : {}),
    ...(details !== undefined ? { details } : {}),
  }
}

/** The error shape for the OpenAPI document. */
export const ErrorResponse = z
  .object({
    error: z.string(),
    message: z.string().optional(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Error', { example: { error: 'Not Found', message: "Bot 'bot_123' not found" } })

/** The single place where anything thrown becomes a response. */
export function handleError(err: Error, c: Context<AppEnv>) {
  if (err instanceof ApiError) {
    for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value)
    return c.json(errorBody(err.status, err.hasMessage ? err.message : undefined, err.details), err.status)
  }
  if (err instanceof ZodError) {
    // A service validated something the route schema could not see (a merged settings document).
    const problem = ApiError.validation(fieldProblems(err))
    return c.json(errorBody(422, problem.message, problem.details), 422)
  }
  if (err instanceof HTTPException) {
    // Raised by Hono itself: malformed JSON, a body that is not JSON, limits.
    if (err.status === 415) return c.json(errorBody(400, 'Content-Type must be application/json'), 400)
    const status = err.status as ContentfulStatusCode
    if (status < 500) return c.json(errorBody(status, err.message || undefined), status)
  }
  c.get('logger').error({ err, requestId: c.get('requestId') }, 'unhandled error')
  return c.json(errorBody(500), 500)
}
