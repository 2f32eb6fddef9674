// The rules every route of the OpenAPI document keeps, on both listeners: an operationId that
// SDK methods, CLI commands and MCP tools are named from (docs/design.md, "Operation ids and examples"), and
// examples that are valid against the schemas they illustrate. A route added without them fails here.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { before, describe, it } from 'node:test'
import type { z } from '@hono/zod-openapi'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { createApp, type ApiKind } from '../../src/app.ts'
import type { Services } from '../../src/services.ts'
import { silentLogger } from '../support/harness.ts'

type Json = any
type Listener = { kind: ApiKind; document: Json; zodSchemas: Map<string, z.ZodType> }

const KINDS: ApiKind[] = ['public', 'internal']
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']
const OPERATION_ID = /^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)*$/
/** Routes whose path is no resource: their names are given here. */
const UNRESOURCEFUL: Record<string, string> = { '/healthz': 'health', '/readyz': 'health' }
/** Media types whose examples are required: JSON, and the event streams (a frame or two). Files and uploads are exempt. */
const NEEDS_EXAMPLE = (mediaType: string) => mediaType === 'application/json' || mediaType === 'text/event-stream'

const listeners: Listener[] = []

before(async () => {
  for (const kind of KINDS) {
    // Building the document touches no service (as in scripts/openapi.ts).
    const app = createApp({ kind, services: {} as Services, logger: silentLogger })
    const document = await (await app.request('/openapi.json')).json()
    const zodSchemas = new Map<string, z.ZodType>()
    for (const definition of app.openAPIRegistry.definitions) {
      if (definition.type !== 'route') continue
      const { method, path, request, responses } = definition.route
      for (const [mediaType, media] of Object.entries(request?.body?.content ?? {})) {
        zodSchemas.set(key(path, method, 'requestBody', mediaType), (media as { schema: z.ZodType }).schema)
      }
      for (const [status, response] of Object.entries(responses)) {
        for (const [mediaType, media] of Object.entries((response as { content?: object }).content ?? {})) {
          zodSchemas.set(key(path, method, status, mediaType), (media as { schema: z.ZodType }).schema)
        }
      }
    }
    listeners.push({ kind, document, zodSchemas })
  }
})

const key = (path: string, method: string, part: string, mediaType: string) => `${method.toLowerCase()} ${path} ${part} ${mediaType}`

function* operations(document: Json): Generator<{ path: string; method: string; operation: Json; name: string }> {
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const method of METHODS) {
      if (item[method]) yield { path, method, operation: item[method], name: `${method.toUpperCase()} ${path}` }
    }
  }
}

function* mediaTypes(operation: Json): Generator<{ part: string; mediaType: string; media: Json }> {
  for (const [mediaType, media] of Object.entries<Json>(operation.requestBody?.content ?? {})) yield { part: 'requestBody', mediaType, media }
  for (const [status, response] of Object.entries<Json>(operation.responses ?? {})) {
    for (const [mediaType, media] of Object.entries<Json>(response.content ?? {})) yield { part: status, mediaType, media }
  }
}

function resolve(document: Json, schema: Json): Json {
  while (schema && typeof schema.$ref === 'string') {
    schema = schema.$ref.slice(2).split('/').reduce((node: Json, part: string) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], document)
  }
  return schema
}

/** A schema's example: its own, its `$ref`'s, or for an array, one item's example in a list. */
function schemaExample(document: Json, schema: Json): unknown {
  if (!schema) return undefined
  if ('example' in schema) return schema.example
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0]
  if (schema.$ref) return schemaExample(document, resolve(document, schema))
  if (schema.type === 'array' && schema.items) {
    const item = schemaExample(document, schema.items)
    return item === undefined ? undefined : [item]
  }
  return undefined
}

/** What a documentation tool shows for a media type: its own example(s), or its schema's. */
function mediaExamples(document: Json, media: Json): unknown[] {
  if ('example' in media) return [media.example]
  if (media.examples && Object.keys(media.examples).length > 0) return Object.values<Json>(media.examples).map((example) => example.value)
  const example = schemaExample(document, media.schema)
  return example === undefined ? [] : [example]
}

/** The path's resource segments in camelCase: `/vector_stores/{id}/file_batches` → vectorStores.fileBatches. */
function resourceOf(path: string): string[] {
  return path.split('/').filter((segment) => segment && !segment.startsWith('{'))
    .map((segment) => segment.replace(/[-_]([a-z])/g, (_, letter: string) => letter.toUpperCase()))
}

describe('OpenAPI operation ids', () => {
  it('every operation has a unique dotted operationId', () => {
    for (const { kind, document } of listeners) {
      const problems: string[] = []
      const seen = new Map<string, string>()
      let count = 0
      for (const { operation, name } of operations(document)) {
        count++
        const id = operation.operationId
        if (typeof id !== 'string') problems.push(`${name} has no operationId`)
        else if (!OPERATION_ID.test(id)) problems.push(`${name}: '${id}' is not dotted camelCase`)
        else if (seen.has(id)) problems.push(`'${id}' is on both ${seen.get(id)} and ${name}`)
        seen.set(id, name)
      }
      assert.equal(problems.length, 0, `${kind} (see docs/design.md, "Operation ids and examples"):\n${problems.join('\n')}`)
      assert.ok(count >= 60, `${kind}: only ${count} operations`)
    }
  })

  it('each operationId mirrors its path: the resource segments, then one verb', () => {
    for (const { kind, document } of listeners) {
      const problems: string[] = []
      for (const { path, method, operation, name } of operations(document)) {
        const parts = String(operation.operationId).split('.')
        const verb = parts.at(-1)!
        const resource = (UNRESOURCEFUL[path] ? [UNRESOURCEFUL[path]] : resourceOf(path)).join('.')
        // `/bots/{bot_id}/clone` → bots.clone: the path's last segment may itself be the verb.
        if (parts.join('.') !== resource && parts.slice(0, -1).join('.') !== resource) problems.push(`${name}: '${operation.operationId}' should be ${resource}.<verb>`)
        if (method === 'get' && ['create', 'update', 'delete'].includes(verb)) problems.push(`${name}: a GET cannot ${verb}`)
        if (method !== 'get' && ['list', 'get'].includes(verb)) problems.push(`${name}: a ${method.toUpperCase()} is not a ${verb}`)
      }
      assert.equal(problems.length, 0, `${kind} (see docs/design.md, "Operation ids and examples"):\n${problems.join('\n')}`)
    }
  })

  it('both listeners name their operations alike', () => {
    // Operations only the public API serves: a stream token stands in for an API key, which the internal API has not.
    const publicOnly = new Set(['threads.events.tokens.create'])
    // Operations only the internal API serves: billing administration, never open to a project key.
    const internalOnly = new Set(['billing.bonus.create', 'billing.refunds.create', 'billing.tariff.update', 'billing.invoices.markPaid', 'billing.invoices.cancel', 'billing.ledger.list'])
    const names = listeners.map(({ kind, document }) =>
      [...operations(document)]
        .filter(({ operation }) => !(kind === 'public' ? publicOnly : internalOnly).has(String(operation.operationId)))
        .map(({ name, operation }) => `${name} ${operation.operationId}`)
        .sort())
    assert.deepEqual(names[1], names[0])
  })
})

describe('OpenAPI access levels (docs/design.md, "Roles on the internal API")', () => {
  it('every operation but the health checks declares the role it needs, `x-worken-access`', () => {
    for (const { kind, document } of listeners) {
      const problems: string[] = []
      for (const { path, operation, name } of operations(document)) {
        const level = operation['x-worken-access']
        if (UNRESOURCEFUL[path]) {
          if (level !== undefined) problems.push(`${name} needs no auth, so no access level`)
        } else if (level !== 'member' && level !== 'admin') problems.push(`${name}: spread ...access('member' | 'admin') into its createRoute`)
      }
      assert.equal(problems.length, 0, `${kind}:\n${problems.join('\n')}`)
    }
  })

  it('the operations that need an owner or admin are exactly those docs/design.md lists', () => {
    const design = fs.readFileSync(new URL('../../../../docs/design.md', import.meta.url), 'utf8')
    const listed = /^The operations that need `owner` or `admin`[^\n]*(?:\n(?!\n)[^\n]*)*/m.exec(design)
    assert.ok(listed, 'docs/design.md has the paragraph "The operations that need `owner` or `admin` …"')
    const documented = [...listed[0].matchAll(/`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)`/g)].map((match) => match[1]).sort()
    const internal = listeners.find(({ kind }) => kind === 'internal')!.document
    const admin = [...operations(internal)].filter(({ operation }) => operation['x-worken-access'] === 'admin').map(({ operation }) => String(operation.operationId)).sort()
    assert.deepEqual(documented, admin)
  })
})

describe('OpenAPI examples', () => {
  it('every JSON request body and every JSON or event-stream response has an example', () => {
    for (const { kind, document } of listeners) {
      const problems: string[] = []
      for (const { operation, name } of operations(document)) {
        for (const { part, mediaType, media } of mediaTypes(operation)) {
          if (NEEDS_EXAMPLE(mediaType) && mediaExamples(document, media).length === 0) {
            problems.push(`${name} ${part === 'requestBody' ? 'request body' : `response ${part}`} (${mediaType})`)
          }
        }
      }
      assert.equal(problems.length, 0, `${kind}: no example (give the schema one with .openapi({ example })):\n${problems.join('\n')}`)
    }
  })

  it('the main success response of every operation has an example, whatever its media type but files', () => {
    for (const { kind, document } of listeners) {
      const problems: string[] = []
      for (const { operation, name } of operations(document)) {
        const success = Object.entries<Json>(operation.responses).filter(([status]) => status.startsWith('2'))
        const withExample = success.some(([, response]) => Object.entries<Json>(response.content ?? {})
          .some(([mediaType, media]) => mediaType === 'application/octet-stream' || mediaExamples(document, media).length > 0))
        if (!withExample) problems.push(name)
      }
      assert.equal(problems.length, 0, `${kind}: no success response with an example:\n${problems.join('\n')}`)
    }
  })

  it('each example of a request or response is valid against the route\'s zod schema', () => {
    for (const { kind, document, zodSchemas } of listeners) {
      const problems: string[] = []
      let checked = 0
      for (const { path, method, operation, name } of operations(document)) {
        for (const { part, mediaType, media } of mediaTypes(operation)) {
          const schema = zodSchemas.get(key(path, method, part, mediaType))
          assert.ok(schema, `${kind}: no zod schema for ${name} ${part} ${mediaType}`)
          for (const example of mediaExamples(document, media)) {
            checked++
            const result = schema.safeParse(example)
            if (!result.success) problems.push(`${name} ${part} (${mediaType}): ${result.error.message}\n  example: ${JSON.stringify(example)}`)
          }
        }
      }
      assert.equal(problems.length, 0, `${kind}: invalid examples:\n${problems.join('\n')}`)
      assert.ok(checked >= 150, `${kind}: only ${checked} examples checked`)
    }
  })

  it('every example in the document is valid against the JSON schema beside it', () => {
    for (const { kind, document } of listeners) {
      const validator = jsonSchemaValidator(document)
      const problems: string[] = []
      let checked = 0
      visit(document, (pointer, schema, example) => {
        checked++
        const validate = validator(schema)
        if (!validate(example)) problems.push(`${pointer}: ${JSON.stringify(validate.errors)}\n  example: ${JSON.stringify(example)}`)
      })
      assert.equal(problems.length, 0, `${kind}: invalid examples:\n${problems.join('\n')}`)
      assert.ok(checked >= 200, `${kind}: only ${checked} examples checked`)
    }
  })
})

/**
 * Calls `check` for every example in the document with the schema it belongs to: a schema's
 * own `example`/`examples`, a media type's or a parameter's `example`/`examples` against its schema.
 */
function visit(document: Json, check: (pointer: string, schema: Json, example: unknown) => void) {
  const examplesOf = (node: Json): unknown[] => [
    ...('example' in node ? [node.example] : []),
    ...(Array.isArray(node.examples) ? node.examples : []),
    ...(node.examples && !Array.isArray(node.examples) ? Object.values<Json>(node.examples).map((example) => example.value) : []),
  ]
  const seenSchemas = new Set<Json>()
  const schema = (node: Json, pointer: string) => {
    if (!node || typeof node !== 'object' || seenSchemas.has(node)) return
    seenSchemas.add(node)
    for (const example of examplesOf(node)) check(pointer, node, example)
    for (const keyword of ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'if', 'then', 'else']) {
      if (node[keyword] && typeof node[keyword] === 'object') schema(node[keyword], `${pointer}/${keyword}`)
    }
    for (const keyword of ['properties', 'patternProperties', '$defs', 'dependentSchemas']) {
      for (const [name, sub] of Object.entries<Json>(node[keyword] ?? {})) schema(sub, `${pointer}/${keyword}/${name}`)
    }
    for (const keyword of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
      for (const [index, sub] of (node[keyword] ?? []).entries()) schema(sub, `${pointer}/${keyword}/${index}`)
    }
  }
  for (const [name, node] of Object.entries<Json>(document.components?.schemas ?? {})) schema(node, `#/components/schemas/${name}`)
  for (const { path, method, operation } of operations(document)) {
    const at = `#/paths/${path}/${method}`
    for (const [index, parameter] of (operation.parameters ?? []).entries()) {
      for (const example of examplesOf(parameter)) check(`${at}/parameters/${index}`, parameter.schema, example)
      schema(parameter.schema, `${at}/parameters/${index}/schema`)
    }
    for (const { part, mediaType, media } of mediaTypes(operation)) {
      for (const example of examplesOf(media)) check(`${at}/${part}/${mediaType}`, media.schema, example)
      schema(media.schema, `${at}/${part}/${mediaType}/schema`)
    }
  }
}

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses) with the document's components to resolve `$ref`s against. */
function jsonSchemaValidator(document: Json): (schema: Json) => ValidateFunction {
  const ajv = new Ajv2020({
    allErrors: true,
    strictSchema: false, // OpenAPI's own keywords (example, discriminator…) sit beside JSON Schema's
    formats: {
      'date-time': (value: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)),
      uri: (value: string) => URL.canParse(value),
      binary: true,
    },
  })
  ajv.addSchema({ $id: 'https://worken.invalid/openapi.json', components: document.components })
  const cache = new Map<Json, ValidateFunction>()
  const rewrite = (node: Json): Json => Array.isArray(node)
    ? node.map(rewrite)
    : node && typeof node === 'object'
      ? Object.fromEntries(Object.entries(node).map(([name, value]) => [name, name === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `https://worken.invalid/openapi.json${value}` : rewrite(value)]))
      : node
  return (schema) => {
    let validate = cache.get(schema)
    if (!validate) {
      validate = ajv.compile(rewrite(schema))
      cache.set(schema, validate)
    }
    return validate
  }
}
