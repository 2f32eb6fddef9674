import { OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { ZodError } from 'zod'
import type { AppEnv } from './context.ts'
import { AppError } from '../errors.ts'
import { ErrorResponse, fieldProblems } from './errors.ts'

/**
 * A router whose validation failures all become the spec's errors: a bad path
 * id is 404 (it cannot name anything), a JSON body that is absent is 400, and
 * every other failure is 422 naming the fields. `Services` names what the
 * module's handlers read from `c.get('services')`.
 */
export function createRouter<Services = unknown>() {
  return new OpenAPIHono<AppEnv<Services>>({ defaultHook: validationHook })
}

/** How a failed validation becomes an error (see createRouter); routes with their own hook end with it. */
export function validationHook(result: { success: true } | { success: false; target: string; error: ZodError }, c: Context): undefined {
  if (result.success) return undefined
  if (result.target === 'param') throw new AppError('not_found', 'Not found: no resource has this id')
  if (result.target === 'json' && !c.req.header('content-type')) throw AppError.badRequest('A JSON request body is required')
  const prefix = result.target === 'query' ? 'query' : undefined
  throw AppError.validation(fieldProblems(result.error, prefix))
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The body is missing or is not JSON',
  401: 'The API key is missing or invalid',
  403: 'The caller may not act on this resource',
  404: 'No such resource in this project',
  409: 'The request conflicts with the current state',
  422: 'Validation failed; the message names the fields',
  500: 'Internal error; details are in the server log under the x-request-id',
  502: 'An external vendor could not be reached or answered unexpectedly',
}

/** One example body per status, for the document (the Error schema's own example is a 404). */
const ERROR_EXAMPLES: Record<number, z.infer<typeof ErrorResponse>> = {
  400: { error: 'Bad Request', code: 'malformed_request', message: 'A JSON request body is required' },
  401: { error: 'Unauthorized', code: 'unauthorized' },
  403: { error: 'Forbidden', code: 'forbidden', message: "This API key belongs to another project and cannot manage project 'prj_01jdq3v5k7m9p2r4t6w8y0a2c5'" },
  404: { error: 'Not Found', code: 'not_found', message: 'Not found: no resource has this id' },
  409: { error: 'Conflict', code: 'conflict', message: 'The request conflicts with the current state of the resource' },
  422: { error: 'Unprocessable Entity', code: 'invalid_request', message: 'name: must not be empty', details: [{ path: 'name', message: 'must not be empty' }] },
  500: { error: 'Internal Server Error', code: 'internal_error' },
  502: { error: 'Bad Gateway', code: 'vendor_unavailable', message: 'telegram could not be reached or answered unexpectedly: fetch failed' },
}

/** The error responses of a route, for the OpenAPI document. 401 and 500 apply everywhere. */
export function errorResponses(...statuses: Array<400 | 403 | 404 | 409 | 422 | 502>) {
  const responses: Record<string, ReturnType<typeof jsonContent<typeof ErrorResponse>>> = {}
  for (const status of [401, ...statuses, 500]) responses[status] = jsonContent(ErrorResponse, ERROR_DESCRIPTIONS[status]!, ERROR_EXAMPLES[status])
  return responses
}

/**
 * A JSON response. `example` is for a route whose answer differs from its schema's own example
 * (which serves every route that returns the object); give the schema one first.
 */
export const jsonContent = <T extends z.ZodType>(schema: T, description: string, example?: z.infer<T>) => ({
  description,
  content: { 'application/json': example === undefined ? { schema } : { schema, example } },
})

/** The 200 of an offset list: the spec's bare array of `item`, and `X-Total-Count` (see `Page` in fields.ts). */
export const listContent = <T extends z.ZodType>(item: T, description: string) => ({
  ...jsonContent(z.array(item), description),
  headers: {
    'X-Total-Count': {
      description: 'How many items the whole list has (extension); page through them with `limit` and `offset`.',
      schema: { type: 'integer' as const, minimum: 0, example: 2741 },
    },
  },
})

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})
