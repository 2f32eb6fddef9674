import type { CallToolResult } from '@modelcontextprotocol/server'
import type { ToolSpec } from './catalog.ts'
import type { ApiExecutor } from './executor.ts'
import { collectReply } from './sse.ts'

/** A tool's arguments that cannot make a request; the result is `isError` with this message. */
export class ToolArgumentError extends Error {}

/**
 * Calls the operation behind a tool and turns the answer into a tool result. Every failure
 * is a result with `isError: true`, never a thrown error: the API's own error JSON (status,
 * `code`, `message`, `details`) when it answered, a sentence when it could not be reached.
 *
 * @example
 * const result = await callTool(tools.find((tool) => tool.name === 'bots_get')!, { bot_id: 'bot_123' }, api)
 * result.isError // true, with `{"error":"Not Found","code":"not_found",…}` as its text, if there is no such bot
 */
export async function callTool(spec: ToolSpec, args: Record<string, unknown>, api: ApiExecutor, signal?: AbortSignal): Promise<CallToolResult> {
  let response: Response
  try {
    const { path, init } = requestOf(spec, args)
    response = await api(path, { ...init, ...(signal ? { signal } : {}) })
  } catch (error) {
    if (error instanceof ToolArgumentError) return failure(error.message)
    if (signal?.aborted) return failure('The call was cancelled')
    return failure(`The Worken API could not be reached: ${error instanceof Error ? error.message : String(error)}`)
  }
  try {
    return await resultOf(response)
  } catch (error) {
    return failure(`The answer of ${spec.operationId} (HTTP ${response.status}) could not be read: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** The request a tool's arguments make: path parameters in the path, the rest in the query, headers and body. */
export function requestOf(spec: ToolSpec, args: Record<string, unknown>): { path: string; init: RequestInit } {
  const plan = spec.arguments
  const path = spec.path.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const value = args[name]
    if ((typeof value !== 'string' && typeof value !== 'number') || value === '') throw new ToolArgumentError(`\`${name}\` is required: the id in ${spec.path}`)
    return encodeURIComponent(String(value))
  })
  const query = new URLSearchParams()
  for (const name of plan.query) {
    const value = args[name]
    if (value === undefined || value === null) continue
    for (const item of Array.isArray(value) ? value : [value]) query.append(name, typeof item === 'object' ? JSON.stringify(item) : String(item))
  }
  const headers = new Headers()
  for (const name of plan.header) if (args[name] !== undefined && args[name] !== null) headers.set(name, String(args[name]))
  const search = query.size > 0 ? `?${query}` : ''
  const init: RequestInit = { method: spec.method.toUpperCase(), headers }
  const body = plan.body
  if (body.kind === 'json') {
    const fields = Object.fromEntries(body.fields.filter((field) => args[field] !== undefined).map((field) => [field, args[field]]))
    jsonBody(init, headers, fields)
  } else if (body.kind === 'nested') {
    if (args.body !== undefined) jsonBody(init, headers, args.body)
  } else if (body.kind === 'upload') {
    const sendsFile = args.filename !== undefined || args.content !== undefined || args.content_base64 !== undefined
    if (sendsFile || !body.jsonFields) init.body = formOf(body.fileField, body.fields, args)
    else jsonBody(init, headers, Object.fromEntries(body.jsonFields.filter((field) => args[field] !== undefined).map((field) => [field, args[field]])))
  }
  return { path: path + search, init }
}

function jsonBody(init: RequestInit, headers: Headers, value: unknown): void {
  headers.set('content-type', 'application/json')
  init.body = JSON.stringify(value)
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$|^[A-Za-z0-9_-]*={0,2}$/

function formOf(fileField: string, fields: string[], args: Record<string, unknown>): FormData {
  const { filename, content, content_base64: base64, content_type: contentType } = args
  if (typeof filename !== 'string' || filename === '') throw new ToolArgumentError('`filename` is required to upload a file')
  if ((content === undefined) === (base64 === undefined)) throw new ToolArgumentError('Give the file as exactly one of `content` (UTF-8 text) or `content_base64`')
  let bytes: Uint8Array<ArrayBuffer>
  if (content !== undefined) {
    if (typeof content !== 'string') throw new ToolArgumentError('`content` must be a string of text')
    bytes = new TextEncoder().encode(content)
  } else {
    const compact = typeof base64 === 'string' ? base64.replace(/\s+/g, '') : ''
    if (typeof base64 !== 'string' || compact.length % 4 === 1 || !BASE64.test(compact)) throw new ToolArgumentError('`content_base64` is not base64')
    bytes = Uint8Array.from(Buffer.from(compact, 'base64'))
  }
  const form = new FormData()
  form.append(fileField, new Blob([bytes], { type: typeof contentType === 'string' ? contentType : '' }), filename)
  for (const field of fields) {
    const value = args[field]
    // Form fields are text: objects go as JSON, as the multipart form documents.
    if (value !== undefined && value !== null) form.append(field, typeof value === 'object' ? JSON.stringify(value) : String(value))
  }
  return form
}

async function resultOf(response: Response): Promise<CallToolResult> {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (!response.ok) return apiError(response, await response.text())
  if (type === 'text/event-stream' && response.body) return replyOf(await collectReply(response.body))
  if (type === 'application/json' || type.endsWith('+json')) {
    const text = await response.text()
    const value: unknown = text === '' ? null : JSON.parse(text)
    return { content: [{ type: 'text', text: text === '' ? 'null' : JSON.stringify(value) }], ...structured(value) }
  }
  return downloadOf(type, new Uint8Array(await response.arrayBuffer()))
}

/** The API's error body as the result, so an agent can branch on its `code` as any client would. */
function apiError(response: Response, text: string): CallToolResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  const body = value === undefined ? `HTTP ${response.status}: ${text.slice(0, 2000)}` : JSON.stringify(value)
  return { content: [{ type: 'text', text: body }], ...structured(value), isError: true }
}

function replyOf(reply: Awaited<ReturnType<typeof collectReply>>): CallToolResult {
  const { text, ...events } = reply
  const failed = reply.errors.length > 0 || !reply.complete
  if (!reply.complete) reply.errors.push('The stream ended before [DONE]: the reply is incomplete')
  return {
    content: [
      { type: 'text', text: text === '' ? '(no reply text)' : text },
      { type: 'text', text: JSON.stringify(events) },
    ],
    structuredContent: reply,
    ...(failed ? { isError: true } : {}),
  }
}

/** A file's bytes: as text when they are UTF-8, else as base64. */
function downloadOf(contentType: string, bytes: Uint8Array): CallToolResult {
  let text: string | undefined
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    text = undefined
  }
  const file = text === undefined
    ? { content_type: contentType || null, size: bytes.byteLength, encoding: 'base64', content: Buffer.from(bytes).toString('base64') }
    : { content_type: contentType || null, size: bytes.byteLength, encoding: 'utf-8', content: text }
  return { content: [{ type: 'text', text: text ?? JSON.stringify(file) }], structuredContent: file }
}

/** `structuredContent` must be an object; lists and scalars stay in the text only. */
function structured(value: unknown): { structuredContent?: Record<string, unknown> } {
  return value && typeof value === 'object' && !Array.isArray(value) ? { structuredContent: value as Record<string, unknown> } : {}
}

function failure(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true }
}
