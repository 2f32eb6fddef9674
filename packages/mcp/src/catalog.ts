import type { ToolAnnotations } from '@modelcontextprotocol/server'
import type { ApiExecutor } from './executor.ts'
import { inlineRefs, operationsOf, resolveParameter, type DocumentedOperation, type HttpMethod, type JsonSchema, type OpenApiDocument } from './openapi.ts'

/** What a tool does to the project: `read` (GET), `write`, or `destructive` (deletes something). */
export type ToolAccess = 'read' | 'write' | 'destructive'

/** How a tool's arguments become the HTTP request. */
export type ArgumentPlan = {
  path: string[]
  query: string[]
  header: string[]
  body: BodyPlan
}

export type BodyPlan =
  | { kind: 'none' }
  /** These top-level arguments make the JSON body. */
  | { kind: 'json'; fields: string[] }
  /** The argument `body` is the JSON body (a body that is no plain object, or whose fields clash with a parameter). */
  | { kind: 'nested' }
  /**
   * `multipart/form-data`: the file comes as `filename` + `content` or `content_base64`, the other
   * `fields` as form fields. With `jsonFields`, the operation also takes JSON, used when no file is given.
   */
  | { kind: 'upload'; fileField: string; fields: string[]; jsonFields?: string[] }

/** One tool: an operation of the API, as an MCP client sees it and as the executor calls it. */
export type ToolSpec = {
  /** The MCP tool name: the operationId with `.` as `_` (see TOOL_NAME). */
  name: string
  operationId: string
  /** The toolset it belongs to: its OpenAPI tag as a slug (`bots`, `vector_stores`, …). */
  toolset: string
  title: string
  description: string
  method: HttpMethod
  path: string
  access: ToolAccess
  /** The role the operation needs on the internal API (`x-worken-access`): `member` or `admin`. */
  role?: string
  annotations: ToolAnnotations
  inputSchema: JsonSchema
  arguments: ArgumentPlan
}

export type ToolCatalog = {
  tools: ToolSpec[]
  /** Operations of the document that are no tool, and why. */
  excluded: Array<{ operationId: string; reason: string }>
  /** Every toolset some tool belongs to, sorted. */
  toolsets: string[]
}

/**
 * Operations that are deliberately no tool. A tool call must return: the live event feeds
 * never end (they are for dashboards and webhooks' consumers; an agent reads `threads.list`,
 * `threads.get` and `chats.threads.messages.list` instead), and the probes are for load balancers.
 */
export const EXCLUDED_OPERATIONS: Readonly<Record<string, string>> = {
  'health.live': 'a liveness probe for load balancers, not an action on the project',
  'health.ready': 'a readiness probe for load balancers, not an action on the project',
  'threads.events.stream': 'a live event feed that never ends, while a tool call must return; read threads.list / chats.threads.messages.list instead',
  'threads.events.streamThread': "a live event feed that never ends, while a tool call must return; read threads.get / chats.threads.messages.list instead",
}

/**
 * Operations whose request needs shaping to be tool-shaped: `chats.threads.stream` answers in
 * our own `data` format (which the tool reads to its end), so `format` is not offered, and its
 * body is the plain `{ messages }` form (the first branch), not the AI SDK's `useChat` body.
 */
const SHAPING: Readonly<Record<string, { omitParameters?: string[]; bodyBranch?: number }>> = {
  'chats.threads.stream': { omitParameters: ['format'], bodyBranch: 0 },
}

/**
 * The MCP specification allows `.` in tool names, but the model APIs behind common clients
 * (Anthropic's and OpenAI's tool names, and clients that check them) accept only
 * `[A-Za-z0-9_-]{1,64}`, so `bots.list` is offered as `bots_list`. operationIds never
 * contain `_` (docs/design.md), so no two operations get the same name.
 */
export const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/

/**
 * The tool name of an operation.
 *
 * @example
 * toolNameOf('bots.settings.update') // 'bots_settings_update'
 */
export function toolNameOf(operationId: string): string {
  return operationId.replaceAll('.', '_')
}

/**
 * The toolset of a tag: `Bots` → `bots`, `Vector stores` → `vector_stores`,
 * `Projects & API Keys` → `projects`.
 */
export function toolsetOf(tag: string): string {
  return tag.split(' & ')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '')
}

/** The arguments that carry a file into a multipart upload. */
export const UPLOAD_ARGUMENTS = ['filename', 'content', 'content_base64', 'content_type'] as const

/**
 * Every tool the document's operations make, with the operations left out and why.
 *
 * @example
 * const catalog = buildCatalog(await (await fetch('http://127.0.0.1:8080/openapi.json')).json())
 * catalog.tools.find((tool) => tool.operationId === 'bots.list')?.annotations.readOnlyHint // true
 */
export function buildCatalog(document: OpenApiDocument): ToolCatalog {
  const tools: ToolSpec[] = []
  const excluded: ToolCatalog['excluded'] = []
  for (const documented of operationsOf(document)) {
    const { operationId } = documented.operation
    if (!operationId) {
      excluded.push({ operationId: `${documented.method.toUpperCase()} ${documented.path}`, reason: 'the operation has no operationId to name a tool after' })
      continue
    }
    const reason = EXCLUDED_OPERATIONS[operationId]
    if (reason) {
      excluded.push({ operationId, reason })
      continue
    }
    tools.push(toolOf(document, documented, operationId))
  }
  return { tools, excluded, toolsets: [...new Set(tools.map((tool) => tool.toolset))].sort() }
}

function toolOf(document: OpenApiDocument, { method, path, operation }: DocumentedOperation, operationId: string): ToolSpec {
  const access: ToolAccess = method === 'get' ? 'read' : method === 'delete' || operationId.endsWith('.delete') ? 'destructive' : 'write'
  const { inputSchema, plan } = inputOf(document, { method, path, operation }, operationId)
  const title = operation.summary ?? operationId
  const notes = [
    plan.body.kind === 'upload' ? 'Give the file as `filename` plus `content` (UTF-8 text) or `content_base64` (any bytes).' : undefined,
    responseIsStream(operation) ? 'The reply streams as Server-Sent Events; this tool reads the stream to its end and returns the reply text and a summary of the events.' : undefined,
  ].filter(Boolean)
  return {
    name: toolNameOf(operationId),
    operationId,
    toolset: toolsetOf(operation.tags?.[0] ?? operationId.split('.')[0]!.replace(/[A-Z]/g, (letter) => ` ${letter}`)),
    title,
    description: [operation.summary, operation.description, ...notes].filter(Boolean).join('\n\n'),
    method,
    path,
    access,
    ...(operation['x-worken-access'] ? { role: operation['x-worken-access'] } : {}),
    annotations: annotationsOf(title, method, operationId, access),
    inputSchema,
    arguments: plan,
  }
}

/**
 * MCP's defaults are the cautious ones (a tool that is not read-only is destructive and not
 * idempotent), so every write says what it is. Updates and deletions leave the same state
 * when repeated; creations and sends do not.
 */
function annotationsOf(title: string, method: HttpMethod, operationId: string, access: ToolAccess): ToolAnnotations {
  if (access === 'read') return { title, readOnlyHint: true }
  const idempotent = method === 'put' || method === 'delete' || /\.(update|delete)$/.test(operationId)
  return { title, readOnlyHint: false, destructiveHint: access === 'destructive', idempotentHint: idempotent }
}

function responseIsStream(operation: DocumentedOperation['operation']): boolean {
  return Object.values(operation.responses ?? {}).some((response) => response.content?.['text/event-stream'])
}

function inputOf(document: OpenApiDocument, { operation }: DocumentedOperation, operationId: string): { inputSchema: JsonSchema; plan: ArgumentPlan } {
  const shaping = SHAPING[operationId] ?? {}
  const definitions: Record<string, JsonSchema> = {}
  const inline = (schema: JsonSchema | undefined): JsonSchema => (schema ? inlineRefs(document, schema, definitions) : {})
  const properties: Record<string, JsonSchema> = {}
  const required: string[] = []
  const plan: ArgumentPlan = { path: [], query: [], header: [], body: { kind: 'none' } }

  for (const reference of operation.parameters ?? []) {
    const parameter = resolveParameter(document, reference)
    if (parameter.in === 'cookie' || shaping.omitParameters?.includes(parameter.name)) continue
    const schema = inline(parameter.schema)
    properties[parameter.name] = parameter.description && !schema.description ? { ...schema, description: parameter.description } : schema
    if (parameter.in === 'path' || parameter.required) required.push(parameter.name)
    plan[parameter.in].push(parameter.name)
  }

  const content = operation.requestBody?.content ?? {}
  const bodyRequired = operation.requestBody?.required === true
  const json = content['application/json']?.schema
  const multipart = content['multipart/form-data']?.schema
  if (multipart) {
    plan.body = uploadOf(inline(multipart), json ? inline(json) : undefined, properties, required)
  } else if (json) {
    let body = inline(json)
    const branches = body.anyOf ?? body.oneOf
    if (shaping.bodyBranch !== undefined && Array.isArray(branches)) body = branches[shaping.bodyBranch] as JsonSchema
    const fields = isPlainObject(body) ? Object.keys(body.properties as object) : []
    if (fields.length > 0 && fields.every((field) => !(field in properties))) {
      Object.assign(properties, body.properties)
      if (bodyRequired) required.push(...((body.required as string[] | undefined) ?? []))
      plan.body = { kind: 'json', fields }
    } else {
      properties.body = { ...body, description: (body.description as string | undefined) ?? 'The JSON request body' }
      if (bodyRequired) required.push('body')
      plan.body = { kind: 'nested' }
    }
  }

  const inputSchema: JsonSchema = { type: 'object', properties, additionalProperties: false }
  if (required.length > 0) inputSchema.required = [...new Set(required)]
  if (Object.keys(definitions).length > 0) inputSchema.$defs = definitions
  return { inputSchema, plan }
}

function isPlainObject(schema: JsonSchema): boolean {
  return schema.type === 'object' && !!schema.properties && typeof schema.properties === 'object' && !schema.anyOf && !schema.oneOf && !schema.allOf
}

/**
 * A multipart body as tool arguments: its binary field becomes `filename` + `content` /
 * `content_base64` (+ `content_type`); its other fields are offered in the JSON form's shape
 * when the operation has one (there they are real objects; in the form, JSON text).
 */
function uploadOf(multipart: JsonSchema, json: JsonSchema | undefined, properties: Record<string, JsonSchema>, required: string[]): BodyPlan {
  const formFields = (multipart.properties ?? {}) as Record<string, JsonSchema>
  const fileField = Object.keys(formFields).find((field) => formFields[field]!.format === 'binary')
  if (!fileField) throw new Error('A multipart body without a binary field cannot be offered as an upload')
  const jsonFields = json && isPlainObject(json) ? (json.properties as Record<string, JsonSchema>) : undefined
  const fields = Object.keys(formFields).filter((field) => field !== fileField)
  for (const field of fields) properties[field] = jsonFields?.[field] ?? formFields[field]!
  if (jsonFields) for (const [field, schema] of Object.entries(jsonFields)) properties[field] ??= schema
  const either = jsonFields ? ` Or, instead of a file, the JSON form's fields (${Object.keys(jsonFields).filter((field) => !(field in formFields)).join(', ')}).` : ''
  properties.filename = { type: 'string', minLength: 1, maxLength: 255, description: `The file's name, with its extension (e.g. \`policy.md\`).${either}` }
  properties.content = { type: 'string', description: 'The file as UTF-8 text. Give this or `content_base64`.' }
  properties.content_base64 = { type: 'string', contentEncoding: 'base64', description: 'The file as base64, for bytes that are not text. Give this or `content`.' }
  properties.content_type = { type: 'string', description: "The file's media type; when left out, the server goes by the name's extension." }
  // Without a JSON form the file is the whole point: the form's required fields are required here.
  if (!jsonFields) required.push('filename', ...((multipart.required as string[] | undefined) ?? []).filter((field) => field !== fileField))
  return { kind: 'upload', fileField, fields, ...(jsonFields ? { jsonFields: Object.keys(jsonFields) } : {}) }
}

/**
 * The catalog of the server an executor reaches, from its `GET /openapi.json` (no key needed),
 * so the tools always match the server's version.
 *
 * @example
 * const catalog = await loadCatalog(createExecutor({ baseUrl: 'http://127.0.0.1:8080', apiKey }))
 */
export async function loadCatalog(api: ApiExecutor): Promise<ToolCatalog> {
  const response = await api('/openapi.json')
  if (!response.ok) throw new Error(`GET /openapi.json answered HTTP ${response.status}`)
  return buildCatalog((await response.json()) as OpenApiDocument)
}
