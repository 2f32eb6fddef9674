// The running server's own OpenAPI document, walked: every operation, with its
// parameters and body schema, and request values made from the document's examples.
// Driving the review from the served document (not a list written here) means a
// route added later is attacked and fuzzed without anyone remembering to add it.
import { send } from './common.ts'

export type Json = any

export type Operation = {
  method: string
  template: string
  operationId: string
  /** Parameters, $refs resolved. */
  parameters: Json[]
  /** The JSON body's media type object, if the operation takes JSON. */
  json: Json | undefined
  /** The multipart body's media type object, if it takes a form. */
  form: Json | undefined
  /** Whether the operation is behind the API key (health checks are not). */
  authenticated: boolean
}

export async function fetchDocument(base: string): Promise<Json> {
  const reply = await send(base, { method: 'GET', path: '/openapi.json' })
  if (reply.status !== 200) throw new Error(`GET /openapi.json answered ${reply.status}`)
  return (reply as { json: Json }).json
}

export function resolve(document: Json, schema: Json): Json {
  let node = schema
  while (node && typeof node.$ref === 'string') node = node.$ref.slice(2).split('/').reduce((at: Json, part: string) => at?.[part], document)
  return node
}

export function operations(document: Json): Operation[] {
  const found: Operation[] = []
  for (const [template, item] of Object.entries<Json>(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const operation = item[method]
      if (!operation) continue
      const security = operation.security ?? document.security ?? []
      found.push({
        method: method.toUpperCase(),
        template,
        operationId: operation.operationId ?? `${method} ${template}`,
        parameters: (operation.parameters ?? []).map((parameter: Json) => resolve(document, parameter)),
        json: operation.requestBody?.content?.['application/json'],
        form: operation.requestBody?.content?.['multipart/form-data'],
        authenticated: security.length > 0 && !template.startsWith('/healthz') && !template.startsWith('/readyz'),
      })
    }
  }
  return found
}

/**
 * Ids by kind, as the document's examples name them: `bot_01jdq3v5k7m9p2r4t6w8y0a2c4` is a
 * `bot`, `support-42` a `thread`, `aitxt-abc123` an `approval`, `est_…` an event `token`.
 */
export type Ids = Partial<Record<'bot' | 'chat' | 'thread' | 'approval' | 'whe' | 'whd' | 'file' | 'vs' | 'vsfb' | 'key' | 'prj' | 'org' | 'sch' | 'usr' | 'msg' | 'evt' | 'per' | 'token', string>>

const EXAMPLE_ID = /^([a-z]+)_01jdq3v5k7m9p2r4t6w8y0a2c(\d)$/

/** The kind of id an example value stands for, if it is one. */
export function idKind(value: unknown): keyof Ids | null {
  if (typeof value !== 'string') return null
  const prefix = EXAMPLE_ID.exec(value)?.[1]
  if (prefix) return prefix as keyof Ids
  if (value === 'support-42') return 'thread'
  if (value === 'aitxt-abc123') return 'approval'
  if (value.startsWith('est_')) return 'token'
  return null
}

/**
 * An example with its ids replaced by `ids` (left as they are when `ids` has none of that
 * kind), and every URL replaced by `url`: the examples name hosts under `.test`, and a
 * server would look those up in DNS.
 */
export function realize(value: unknown, ids: Ids, url: string): unknown {
  if (typeof value === 'string') {
    const kind = idKind(value)
    if (kind && ids[kind] !== undefined) return ids[kind]
    if (/^https?:\/\//i.test(value)) return url
    return value
  }
  if (Array.isArray(value)) return value.map((item) => realize(item, ids, url))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, realize(item, ids, url)]))
  return value
}

/** Field names that hold an id of a kind, for schemas without an example to realize. */
const ID_FIELDS: Record<string, keyof Ids> = { file_id: 'file', bot_id: 'bot', chat_id: 'chat', thread_id: 'thread', vector_store_id: 'vs', organization_id: 'org' }

/** A valid value of `schema` as far as the document tells: its example, default, first option, or one built from its parts. */
export function sample(document: Json, schema: Json, ids: Ids, url: string, name = '', depth = 0): unknown {
  const node = resolve(document, schema)
  if (!node || depth > 8) return null
  if ('example' in node) return realize(node.example, ids, url)
  if ('default' in node) return node.default
  if (Array.isArray(node.enum)) return node.enum.find((item: unknown) => item !== null) ?? node.enum[0]
  if ('const' in node) return node.const
  const branches = [...(node.anyOf ?? []), ...(node.oneOf ?? [])]
  if (branches.length > 0) return sample(document, branches.find((branch: Json) => resolve(document, branch)?.type !== 'null') ?? branches[0], ids, url, name, depth + 1)
  const type = Array.isArray(node.type) ? node.type.find((t: string) => t !== 'null') : node.type
  if (type === 'object' || node.properties) {
    const required: string[] = node.required ?? []
    return Object.fromEntries(required.map((key) => [key, sample(document, node.properties?.[key], ids, url, key, depth + 1)]))
  }
  if (type === 'array') return [sample(document, node.items, ids, url, name, depth + 1)]
  if (type === 'string') return ID_FIELDS[name] && ids[ID_FIELDS[name]] ? ids[ID_FIELDS[name]] : node.format === 'uri' ? url : 'x'
  if (type === 'integer' || type === 'number') return node.minimum ?? 1
  if (type === 'boolean') return true
  return null
}

/** A valid JSON body for an operation: its example (or its schema's), realized. */
export function validBody(document: Json, operation: Operation, ids: Ids, url: string): unknown {
  if (!operation.json) return undefined
  const media = operation.json
  if ('example' in media) return realize(media.example, ids, url)
  return sample(document, media.schema, ids, url)
}

/** The value an operation's parameter gets: its example realized, or a sample of its schema. */
export function parameterValue(document: Json, parameter: Json, ids: Ids, url: string): string | undefined {
  const example = parameter.example ?? parameter.schema?.example
  if (example !== undefined) return String(realize(example, ids, url))
  if (parameter.required) return String(sample(document, parameter.schema, ids, url, parameter.name))
  return undefined
}

/** The kind of id a parameter carries (from its example), if any. */
export function parameterKind(parameter: Json): keyof Ids | null {
  return idKind(parameter.example ?? parameter.schema?.example)
}

/** The path with its `{name}` placeholders filled (values percent-encoded unless `raw`). */
export function fillPath(template: string, values: Record<string, string>, raw: Record<string, boolean> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => (raw[name] ? values[name]! : encodeURIComponent(values[name] ?? 'x')))
}
