/**
 * The part of an OpenAPI 3.1 document that tools are made from. The document is the
 * server's own (`GET /openapi.json`), read at run time, so a new endpoint becomes a
 * tool without a release of this package.
 */

export type JsonSchema = Record<string, unknown>

export type OpenApiParameter = {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  description?: string
  schema?: JsonSchema
}

export type OpenApiMediaType = { schema?: JsonSchema }

export type OpenApiOperation = {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Array<OpenApiParameter | { $ref: string }>
  requestBody?: { required?: boolean; content?: Record<string, OpenApiMediaType> }
  responses?: Record<string, { content?: Record<string, OpenApiMediaType> }>
  /** The role an operation needs on the internal API (`member` reads and converses, `admin` configures). */
  'x-worken-access'?: string
}

export type OpenApiDocument = {
  openapi: string
  info?: { title?: string; version?: string }
  paths: Record<string, Record<string, unknown>>
  components?: Record<string, Record<string, unknown>>
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

export type DocumentedOperation = { method: HttpMethod; path: string; operation: OpenApiOperation }

/** Every operation of the document, in the document's order. */
export function* operationsOf(document: OpenApiDocument): Generator<DocumentedOperation> {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method]
      if (operation && typeof operation === 'object') yield { method, path, operation: operation as OpenApiOperation }
    }
  }
}

/** What a local `$ref` (`#/components/...`) points at; a ref elsewhere is refused, since the tool schema must stand alone. */
export function lookUpRef(document: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`Only local references can be resolved, not ${ref}`)
  const target = ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), document)
  if (target === undefined) throw new Error(`The reference ${ref} points at nothing in the document`)
  return target
}

/** A parameter, following its `$ref` into `components.parameters` if it has one. */
export function resolveParameter(document: OpenApiDocument, parameter: OpenApiParameter | { $ref: string }): OpenApiParameter {
  return '$ref' in parameter ? (lookUpRef(document, parameter.$ref) as OpenApiParameter) : parameter
}

/** Keywords whose value maps names (which may be any word, `example` too) to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'])
/** Keywords whose value is data, not schema: copied as they are. */
const DATA_KEYWORDS = new Set(['examples', 'default', 'const', 'enum'])
/** OpenAPI's own keywords, meaningless (and pointing outside the tool's schema) in JSON Schema. */
const OPENAPI_ONLY = new Set(['discriminator', 'xml', 'externalDocs'])

/**
 * A schema with every `$ref` replaced by what it names, so that a tool's `inputSchema` is
 * self-contained. A schema that contains itself (a filter of filters) cannot be inlined
 * forever: the inner occurrence points at a `$defs` entry of the result instead.
 */
export function inlineRefs(document: OpenApiDocument, schema: JsonSchema, definitions: Record<string, JsonSchema>): JsonSchema {
  const expanding: string[] = []
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit)
    if (!node || typeof node !== 'object') return node
    const record = node as Record<string, unknown>
    if (typeof record.$ref === 'string') {
      const ref = record.$ref
      const name = ref.split('/').at(-1)!
      if (expanding.includes(ref)) {
        definitions[name] ??= {}
        return { $ref: `#/$defs/${name}` }
      }
      expanding.push(ref)
      const { $ref: _ref, ...siblings } = record
      const expanded = { ...(visit(lookUpRef(document, ref)) as JsonSchema), ...(visit(siblings) as JsonSchema) }
      expanding.pop()
      // Filled in once, by the outermost expansion: the entry then holds the whole shape.
      if (name in definitions && Object.keys(definitions[name]!).length === 0) definitions[name] = expanded
      return expanded
    }
    const copy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(record)) {
      // `example` is OpenAPI's word; JSON Schema 2020-12 says `examples`, which strict validators accept.
      if (OPENAPI_ONLY.has(key)) continue
      if (key === 'example') copy.examples = [value]
      else if (DATA_KEYWORDS.has(key)) copy[key] = value
      else if (SCHEMA_MAPS.has(key) && value && typeof value === 'object') {
        copy[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, visit(schema)]))
      } else copy[key] = visit(value)
    }
    return copy
  }
  return visit(schema) as JsonSchema
}
