import type { WorkenClient } from './client.ts'
import { WorkenError } from './core/errors.ts'
import { CursorPage, NextCursorPage, OffsetPage, StartingAfterPage, TotalPage, type PageClass } from './core/pagination.ts'
import { fillPath } from './core/path.ts'
import type { RequestOptions } from './core/transport.ts'
import { toFormData } from './core/uploads.ts'
import { OPERATIONS, type OperationId } from './generated/operations.ts'
import type { OperationSpec } from './core/operation-spec.ts'

export type CallOptions = RequestOptions & {
  /** Path parameters by name (`{ bot_id: 'bot_123' }`). */
  params?: Record<string, string | number> | undefined
  query?: Record<string, unknown> | undefined
  /** JSON, or for multipart routes a plain object (binary values become file parts; `filename` names them) or a `FormData`. */
  body?: unknown
}

const CURSOR_PAGES: Record<string, PageClass<any>> = { after: CursorPage, starting_after: StartingAfterPage, cursor: NextCursorPage }

/** `client.call()`: one operation of the table, checked against it, then sent like the typed methods send it. */
export function callOperation(client: WorkenClient, operationId: OperationId, options: CallOptions): Promise<unknown> {
  const spec: OperationSpec | undefined = Object.hasOwn(OPERATIONS, operationId) ? OPERATIONS[operationId] : undefined
  if (!spec) return Promise.reject(new WorkenError(`Unknown operation '${operationId}'`))
  try {
    const { params, query, body, ...request } = options
    const unknownParams = Object.keys(params ?? {}).filter((name) => !spec.pathParams.includes(name))
    if (unknownParams.length > 0) throw new WorkenError(`${operationId} has no path parameter ${unknownParams.map((name) => `'${name}'`).join(', ')} (it takes: ${spec.pathParams.join(', ') || 'none'})`)
    const unknownQuery = Object.keys(query ?? {}).filter((name) => !spec.queryParams.includes(name))
    if (unknownQuery.length > 0) throw new WorkenError(`${operationId} has no query parameter ${unknownQuery.map((name) => `'${name}'`).join(', ')} (it takes: ${spec.queryParams.join(', ') || 'none'})`)
    if (spec.requestBody === 'none' && body !== undefined) throw new WorkenError(`${operationId} takes no request body`)
    if (spec.bodyRequired && body === undefined) throw new WorkenError(`${operationId} needs a request body`)
    const path = fillPath(spec.path, params)
    const encodedBody = spec.requestBody === 'multipart' && isPlainObject(body) ? toFormData(body) : body

    if (spec.response === 'sse' && spec.method === 'GET') {
      const { last_event_id, token } = (query ?? {}) as { last_event_id?: string | number; token?: string }
      return Promise.resolve(client.eventFeed(path, { lastEventId: last_event_id, token, signal: request.signal }))
    }
    if (spec.response === 'sse') return client.replyStream(path, { ...request, query, body: encodedBody })
    if (spec.response === 'binary') return client.download(path, { ...request, query })
    if (spec.pagination === 'offset') return client.getPage(OffsetPage, path, { ...request, query })
    if (spec.pagination === 'total') return client.getPage(TotalPage, path, { ...request, query })
    if (spec.pagination === 'cursor') return client.getPage(CURSOR_PAGES[spec.cursorParam ?? 'after']!, path, { ...request, query })
    return client.request({ ...request, method: spec.method, path, query, body: encodedBody })
  } catch (error) {
    return Promise.reject(error)
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}
