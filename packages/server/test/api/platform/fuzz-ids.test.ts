import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { createTestContext, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

/**
 * The last line of defence for text that reaches the database (issue 13, item 5):
 * walks the public OpenAPI document and, for every operation, puts a NUL and a lone
 * UTF-16 surrogate into each string it declares, one place at a time: every path and
 * query parameter, every string of the JSON or multipart body (values, array items,
 * the keys of free-form objects), everything else valid and naming real resources.
 * Each such request must be refused with a 4xx in the error shape (a 404 for a path id):
 * never a 500 (Postgres refuses NUL in `text` and `jsonb`, and lone surrogates in
 * `jsonb`), and never a 2xx (a lone surrogate in a `text` column would be stored as U+FFFD).
 *
 * An operation or field added later is fuzzed without touching this file. Runs on
 * PGlite, or on Postgres with TEST_DATABASE_URL.
 */

type Json = any

let ctx: TestContext
let owner: Seeded
let api: Call
let document: Json
/** Real ids for the example ids of the document (by prefix), so a request gets as far as it can. */
const real = new Map<string, string>()

/**
 * What each place is sent. JSON carries both a NUL and a lone surrogate (`"\ud800"`). A URL
 * carries a NUL (`%00`) but no lone surrogate: UTF-8 cannot encode one, and its CESU-8
 * bytes (`%ED%A0%80`) are not decoded, so they arrive as plain text, which a free-text
 * parameter may accept (an id never does: `%` is not in one). A multipart field is
 * UTF-8 too: clients send a lone surrogate as U+FFFD, so only the NUL is sent there.
 */
const BAD = [
  { name: 'NUL', text: 'nul\u0000inside', url: 'nul%00inside', refused: true },
  { name: 'lone surrogate', text: 'lone\ud800surrogate', url: 'lone%ED%A0%80surrogate', refused: false },
] as const

before(async () => {
  ctx = await createTestContext({ services: { webhooksResolve: async () => ['93.184.216.34'] } })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
  document = await (await ctx.publicApp.request('/openapi.json')).json()

  const ok = async (method: string, path: string, body?: unknown) => {
    const response = await api(method, path, body)
    assert.ok(response.status < 300, `${method} ${path} → ${response.status} ${response.text}`)
    return response
  }
  const bot = (await ok('POST', '/bots', { name: 'Fuzz' })).body.id
  await ok('POST', `/bots/${bot}/settings`, { ai: { model: { id: 'local/echo' }, memory: { generateTitle: false } } })
  const chat = (await ok('POST', '/chats', { bot_id: bot, name: 'Fuzz chat' })).body.id
  const thread = 'fuzz-thread'
  await ok('POST', `/chats/${chat}/threads/${thread}/stream`, { messages: [{ role: 'user', content: 'hello' }] })
  await ok('POST', `/chats/${chat}/threads/${thread}/mode`, { mode: 'manual' })
  const key = (await ok('POST', `/projects/${owner.projectId}/api-keys`, { name: 'fuzz' })).body.id
  const file = await ctx.services.files.create(owner.projectId, { filename: 'a.txt', purpose: 'assistants', mimeType: 'text/plain', bytes: new TextEncoder().encode('alpha beta') })
  const file2 = await ctx.services.files.create(owner.projectId, { filename: 'b.txt', purpose: 'assistants', mimeType: 'text/plain', bytes: new TextEncoder().encode('gamma delta') })
  const store = (await ok('POST', '/vector_stores', { name: 'Fuzz store', file_ids: [file.id] })).body.id
  const batch = (await ok('POST', `/vector_stores/${store}/file_batches`, { file_ids: [file2.id] })).body.id
  const endpoint = (await ok('POST', '/webhook-endpoints', { url: 'https://hooks.example.test/fuzz' })).body.id
  const delivery = (await ok('POST', `/webhook-endpoints/${endpoint}/test`)).body.id
  for (const [prefix, id] of Object.entries({ bot, chat, key, file: file.id, vs: store, vsfb: batch, whe: endpoint, whd: delivery, prj: owner.projectId, org: owner.organizationId })) real.set(prefix, id)
  real.set('thread', thread)
})
after(() => ctx.close())

const EXAMPLE_ID = /^([a-z]+)_01jdq3v5k7m9p2r4t6w8y0a2c\d$/

/** An example value with its ids swapped for real ones. */
function realize(value: unknown): unknown {
  if (typeof value === 'string') {
    const prefix = EXAMPLE_ID.exec(value)?.[1]
    if (prefix && real.has(prefix)) return real.get(prefix)
    if (value === 'support-42') return real.get('thread')
    return value
  }
  if (Array.isArray(value)) return value.map(realize)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, realize(v)]))
  return value
}

function resolve(schema: Json): Json {
  while (schema && typeof schema.$ref === 'string') {
    schema = schema.$ref.slice(2).split('/').reduce((node: Json, part: string) => node?.[part], document)
  }
  return schema
}

/** Real ids for fields that name a resource but carry no example of their own. */
const ID_FIELDS: Record<string, string> = { file_id: 'file', bot_id: 'bot', chat_id: 'chat', thread_id: 'thread', vector_store_id: 'vs', organization_id: 'org' }

/** A valid value of `schema` (as far as the document tells): its example, default, first option, or one built from its parts. */
function sample(schema: Json, name = '', depth = 0): unknown {
  schema = resolve(schema)
  if (!schema || depth > 8) return null
  if ('example' in schema) return realize(schema.example)
  if ('default' in schema) return schema.default
  if (Array.isArray(schema.enum)) return schema.enum[0]
  if ('const' in schema) return schema.const
  const branches = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]
  if (branches.length > 0) return sample(branches.find((branch: Json) => resolve(branch).type !== 'null') ?? branches[0], name, depth + 1)
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type
  if (type === 'object' || schema.properties) {
    const required: string[] = schema.required ?? []
    return Object.fromEntries(required.map((key) => [key, sample(schema.properties?.[key], key, depth + 1)]))
  }
  if (type === 'array') return [sample(schema.items, name, depth + 1)]
  if (type === 'string') return ID_FIELDS[name] ? real.get(ID_FIELDS[name]) : 'x'
  if (type === 'integer' || type === 'number') return schema.minimum ?? 1
  if (type === 'boolean') return true
  return null
}

const ajv = new Ajv2020({ strict: false, validateFormats: false })
const validators = new Map<string, ValidateFunction>()

/** Whether `value` is valid for this branch of a union (against the document's JSON Schema). */
function fits(branch: Json, value: unknown): boolean {
  const key = JSON.stringify(branch)
  let validate = validators.get(key)
  if (!validate) {
    validate = ajv.compile({ ...resolve(branch), components: document.components })
    validators.set(key, validate)
  }
  return validate(value)
}

/**
 * Every copy of `value` (valid for `schema`) with one string of it replaced by `bad`: each
 * string value, array item and key of a free-form object, through unions (taking each
 * branch's own valid value) and nested objects, the rest left valid.
 */
function* mutations(schema: Json, value: unknown, bad: string, depth = 0): Generator<{ label: string; value: unknown }> {
  schema = resolve(schema)
  if (!schema || typeof schema !== 'object' || depth > 6) return
  const branches = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]
  for (const branch of branches) yield* mutations(branch, fits(branch, value) ? value : sample(branch), bad, depth + 1)
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []
  const stringy = types.includes('string') || (schema.enum ?? []).some((item: unknown) => typeof item === 'string')
  // Appended to a valid value, so that length and format checks pass up to the bad character.
  if (stringy && schema.format !== 'binary') yield { label: '', value: typeof value === 'string' ? `${value}${bad}` : bad }
  const join = (head: string, tail: string) => (tail ? `${head}.${tail}` : head)
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value)
  if (schema.properties) {
    const object = (isObject ? value : sample(schema)) as Record<string, unknown>
    for (const [name, property] of Object.entries<Json>(schema.properties)) {
      const child = object[name] ?? sample(property, name)
      for (const mutation of mutations(property, child, bad, depth + 1)) yield { label: join(name, mutation.label), value: { ...object, [name]: mutation.value } }
    }
  }
  const additional = schema.additionalProperties
  if ((additional && typeof additional === 'object') || schema.propertyNames) {
    const object = (isObject ? value : {}) as Record<string, unknown>
    const first = Object.values(object)[0] ?? (typeof additional === 'object' ? sample(additional) : 'v')
    yield { label: '(key)', value: { [bad]: first } }
    if (typeof additional === 'object') {
      for (const mutation of mutations(additional, first, bad, depth + 1)) yield { label: join('(value)', mutation.label), value: { fuzz_key: mutation.value } }
    }
  }
  if (schema.items) {
    const list = Array.isArray(value) && value.length > 0 ? value : [sample(schema.items)]
    for (const mutation of mutations(schema.items, list[0], bad, depth + 1)) yield { label: join('0', mutation.label), value: [mutation.value, ...list.slice(1)] }
  }
}

/** The example of a media type: its own or its schema's. */
function exampleOf(media: Json): unknown {
  if ('example' in media) return media.example
  return resolve(media.schema)?.example
}

type Case = { name: string; refused: boolean; method: string; path: string; query: string; body?: { type: 'json'; value: unknown } | { type: 'form'; fields: Record<string, string> } }

function* cases(): Generator<Case> {
  for (const [template, item] of Object.entries<Json>(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const operation = item[method]
      if (!operation) continue
      const parameters: Json[] = (operation.parameters ?? []).map(resolve)
      const pathValue = (name: string) => {
        const parameter = parameters.find((p) => p.in === 'path' && p.name === name)
        return String(realize(parameter?.example ?? parameter?.schema?.example ?? 'x'))
      }
      const fill = (override?: { name: string; value: string }) =>
        template.replace(/\{([^}]+)\}/g, (_, name: string) => (override?.name === name ? override.value : encodeURIComponent(pathValue(name))))
      const json = operation.requestBody?.content?.['application/json']
      const form = operation.requestBody?.content?.['multipart/form-data']
      const validBody = (): Case['body'] => (json ? { type: 'json', value: realize(exampleOf(json)) } : form ? { type: 'form', fields: {} } : undefined)
      const name = `${method.toUpperCase()} ${template}`
      for (const bad of BAD) {
        for (const parameter of parameters) {
          // Header values cannot carry NUL at all (clients and Node refuse them).
          if (parameter.in === 'path') yield { name: `${name} path ${parameter.name} (${bad.name})`, refused: true, method, path: fill({ name: parameter.name, value: `${encodeURIComponent(pathValue(parameter.name))}${bad.url}` }), query: '', body: validBody() }
          if (parameter.in === 'query') {
            const example = parameter.example ?? parameter.schema?.example
            const value = `${example === undefined ? '' : encodeURIComponent(String(realize(example)))}${bad.url}`
            yield { name: `${name} query ${parameter.name} (${bad.name})`, refused: bad.refused, method, path: fill(), query: `?${parameter.name}=${value}`, body: validBody() }
          }
        }
        if (json) {
          const seen = new Set<string>()
          for (const mutation of mutations(json.schema, realize(exampleOf(json)), bad.text)) {
            const key = JSON.stringify(mutation.value)
            if (seen.has(key)) continue
            seen.add(key)
            // A `useChat` body (messages with `parts`) is read only with ?format=ui-message-stream.
            const query = parameters.some((p) => p.in === 'query' && p.name === 'format') && key.includes('"parts"') ? '?format=ui-message-stream' : ''
            yield { name: `${name} body ${mutation.label || '(body)'} (${bad.name})`, refused: true, method, path: fill(), query, body: { type: 'json', value: mutation.value } }
          }
        }
        if (form && bad.refused) {
          const schema = resolve(form.schema)
          for (const [field, property] of Object.entries<Json>(schema.properties ?? {})) {
            if (resolve(property).format === 'binary') continue
            yield { name: `${name} form ${field} (${bad.name})`, refused: true, method, path: fill(), query: '', body: { type: 'form', fields: { [field]: bad.text } } }
          }
          yield { name: `${name} form file name (${bad.name})`, refused: true, method, path: fill(), query: '', body: { type: 'form', fields: { filename: bad.text } } }
        }
      }
    }
  }
}

async function send(test: Case): Promise<{ status: number; text: string; contentType: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${owner.key}` }
  let body: RequestInit['body']
  if (test.body?.type === 'json') {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(test.body.value)
  } else if (test.body?.type === 'form') {
    const form = new FormData()
    const { filename = 'notes.txt', ...fields } = test.body.fields
    form.set('file', new Blob(['some text'], { type: 'text/plain' }), filename)
    form.set('purpose', 'assistants')
    for (const [field, value] of Object.entries(fields)) form.set(field, value)
    body = form
  }
  const response = await ctx.publicApp.request(`${test.path}${test.query}`, { method: test.method.toUpperCase(), headers, body, signal: AbortSignal.timeout(10_000) })
  const contentType = response.headers.get('content-type') ?? ''
  // A stream that opened is a failure of its own: read none of it.
  if (contentType.startsWith('text/event-stream')) {
    await response.body?.cancel()
    return { status: response.status, text: '(an event stream)', contentType }
  }
  return { status: response.status, text: await response.text(), contentType }
}

it('every string an operation takes refuses NUL and lone surrogates with a 4xx, never a 500', { timeout: 600_000 }, async () => {
  const failures: string[] = []
  let count = 0
  const places = new Set<string>()
  for (const test of cases()) {
    count++
    places.add(test.name.replace(/ \([^)]*\)$/, ''))
    const { status, text, contentType } = await send(test)
    if (process.env.FUZZ_IDS_VERBOSE) console.log(`${status} ${test.name} ${text.slice(0, 140)}`)
    let body: Json
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    const shaped = status < 400 || (contentType.startsWith('application/json') && typeof body?.error === 'string' && typeof body?.code === 'string')
    const expected = test.name.includes(' path ') ? status === 404 : test.refused ? status >= 400 && status < 500 : status < 500
    if (test.refused && status < 400 && contentType.startsWith('text/event-stream')) {
      failures.push(`${test.name}: ${test.method.toUpperCase()} ${test.path}${test.query} → ${status}: a stream opened`)
      continue
    }
    if (!expected || !shaped) failures.push(`${test.name}: ${test.method.toUpperCase()} ${test.path}${test.query} → ${status} ${text.slice(0, 200)}`)
  }
  console.log(`${count} requests, ${places.size} places`)
  assert.ok(count > 300, `only ${count} requests`)
  assert.ok(places.size > 150, `only ${places.size} places fuzzed`)
  assert.deepEqual(failures, [], `${failures.length} of ${count} requests let the text through:\n${failures.join('\n')}`)
})

it('the places the review found answer 422 naming the field, as a well-formed unknown id is answered', async () => {
  const bot = real.get('bot')!
  const cases: Array<[string, string, unknown, number, string]> = [
    // A malformed body id is a 422 naming it; so is a well-formed id of nothing (as before).
    ['POST', '/chats', { bot_id: 'bot\u0000', name: 'x' }, 422, 'bot_id'],
    ['POST', '/chats', { bot_id: 'x'.repeat(129), name: 'x' }, 422, 'bot_id'],
    ['POST', '/chats', { bot_id: 'bot_unknown', name: 'x' }, 422, 'bot_id'],
    // Before, any 1–128 characters were looked up: a malformed organization id is now 422, a foreign one still 403.
    ['POST', '/projects', { name: 'x', organization_id: 'org\u0000' }, 422, 'organization_id'],
    ['POST', '/projects', { name: 'x', organization_id: 'org_elsewhere' }, 403, ''],
    // Cursors and filters in the query.
    ['GET', '/files?after=file%00', undefined, 422, 'query.after'],
    ['GET', '/files?purpose=assistants%00', undefined, 422, 'query.purpose'],
    ['GET', '/vector_stores?after=vs%00', undefined, 422, 'query.after'],
    ['GET', '/vector_stores?before=vs%00', undefined, 422, 'query.before'],
    ['GET', `/vector_stores/${real.get('vs')}/files?after=file%00`, undefined, 422, 'query.after'],
    ['GET', `/webhook-endpoints/${real.get('whe')}/deliveries?starting_after=whd%00`, undefined, 422, 'query.starting_after'],
    ['GET', '/threads?bot_id=bot%00', undefined, 422, 'query.bot_id'],
    ['GET', '/threads/events?token=est_%00', undefined, 422, 'query.token'],
    // URLs: the parser would percent-encode the NUL and store the URL.
    ['POST', '/webhook-endpoints', { url: 'https://hooks.example.test/a\u0000b' }, 422, 'url'],
    ['POST', `/chats/${real.get('chat')}/threads/fuzz-url/stream`, { messages: [{ role: 'user', content: 'hi' }], person: { avatar_url: 'https://cdn.example.test/a\ud800.png' } }, 422, 'person.avatar_url'],
    // The ids of a useChat body are not stored, but no request text may carry a NUL.
    ['POST', `/chats/${real.get('chat')}/threads/fuzz-ui/stream?format=ui-message-stream`, { id: 'chat\u0000', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }] }, 422, 'id'],
    // Ids inside arrays.
    ['POST', `/bots/${bot}/settings`, { ai: { knowledge: { vector_store_ids: ['vs\u0000'] } } }, 422, 'ai.knowledge.vector_store_ids.0'],
    ['POST', '/vector_stores', { file_ids: ['file\ud800'] }, 422, 'file_ids.0'],
  ]
  for (const [method, path, body, status, field] of cases) {
    const response = await api(method, path, body)
    const label = `${method} ${path} ${JSON.stringify(body)}`
    assert.equal(response.status, status, `${label} → ${response.text}`)
    if (status === 422) {
      assert.equal(response.body.code, 'invalid_request', label)
      assert.ok(response.body.details.some((detail: { path: string }) => detail.path === field), `${label}: ${response.text}`)
    }
  }
})
