import assert from 'node:assert/strict'
import fs from 'node:fs'
import { describe, it } from 'node:test'
import { Ajv } from '@modelcontextprotocol/server/validators/ajv'
import { buildCatalog, EXCLUDED_OPERATIONS, parseToolsetFlags, parseToolsetQuery, requestOf, selectTools, TOOL_NAME, toolsetOf, type OpenApiDocument, type ToolSpec } from '../src/index.ts'

const DOCUMENT = JSON.parse(fs.readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8')) as OpenApiDocument
const MCP_DOC = fs.readFileSync(new URL('../../../docs/mcp.md', import.meta.url), 'utf8')
const catalog = buildCatalog(DOCUMENT)
const tool = (name: string): ToolSpec => catalog.tools.find((spec) => spec.name === name) ?? assert.fail(`no tool ${name}`)

describe('the catalog made from docs/openapi.json', () => {
  it('makes every operation a tool unless it is in the documented exclusion list', () => {
    const operationIds = Object.values(DOCUMENT.paths).flatMap((item) => Object.values(item).map((operation) => (operation as { operationId: string }).operationId))
    assert.equal(catalog.tools.length + catalog.excluded.length, operationIds.length)
    for (const { operationId, reason } of catalog.excluded) {
      assert.equal(EXCLUDED_OPERATIONS[operationId], reason, `${operationId} is excluded only on purpose`)
      assert.ok(MCP_DOC.includes(`\`${operationId}\``), `docs/mcp.md says why ${operationId} is no tool`)
    }
    // A new tag (billing, …) is a new toolset: docs/mcp.md must name it, so users can select it.
    for (const toolset of catalog.toolsets) assert.ok(MCP_DOC.includes(`\`${toolset}\``), `docs/mcp.md lists the toolset ${toolset}`)
  })

  it('names tools so that every model API accepts them, each once', () => {
    const names = catalog.tools.map((spec) => spec.name)
    assert.equal(new Set(names).size, names.length)
    for (const name of names) assert.match(name, TOOL_NAME)
    assert.equal(tool('bots_settings_update').operationId, 'bots.settings.update')
  })

  it('gives each tool a valid, self-contained JSON Schema with its path ids required', () => {
    const ajv = new Ajv({ strict: false })
    for (const spec of catalog.tools) {
      assert.ok(!JSON.stringify(spec.inputSchema).includes('#/components/'), `${spec.name} refers to nothing outside itself`)
      const validate = ajv.compile(spec.inputSchema)
      for (const name of spec.arguments.path) assert.ok((spec.inputSchema.required as string[]).includes(name), `${spec.name} requires ${name}`)
      if (spec.arguments.path.length > 0) assert.equal(validate({}), false, `${spec.name} refuses missing ids`)
    }
    const search = ajv.compile(tool('vectorStores_search').inputSchema)
    const nested = { type: 'and', filters: [{ type: 'or', filters: [{ key: 'region', type: 'eq', value: 'eu' }] }] }
    assert.equal(search({ vector_store_id: 'vs_1', query: 'returns', filters: nested }), true, 'a filter of filters fits the recursive schema')
    assert.equal(search({ vector_store_id: 'vs_1', query: 'returns', filters: { type: 'and', filters: [{ key: 'x' }] } }), false)
  })

  it('hints: GET reads, deletions destroy, updates repeat safely, creations do not', () => {
    assert.deepEqual(tool('bots_list').annotations, { title: 'List bots', readOnlyHint: true })
    assert.deepEqual(tool('bots_delete').annotations, { title: tool('bots_delete').title, readOnlyHint: false, destructiveHint: true, idempotentHint: true })
    assert.equal(tool('projects_apiKeys_delete').access, 'destructive')
    assert.equal(tool('chats_threads_delete').access, 'destructive', 'a POST …/delete destroys too')
    assert.equal(tool('webhookEndpoints_update').annotations.idempotentHint, true, 'PUT')
    assert.equal(tool('threads_send').annotations.idempotentHint, false)
    assert.equal(tool('threads_send').annotations.destructiveHint, false)
    assert.equal(tool('bots_create').role, 'admin')
  })

  it('puts tools in toolsets by tag', () => {
    assert.deepEqual(catalog.toolsets, ['billing', 'bots', 'chats', 'files', 'integrations', 'projects', 'threads', 'vector_stores', 'webhook_endpoints'])
    assert.equal(toolsetOf('Projects & API Keys'), 'projects')
    assert.equal(toolsetOf('Billing'), 'billing')
    assert.equal(tool('webhookEndpoints_list').toolset, 'webhook_endpoints')
  })

  it('offers the stream in its own data format, with the plain messages body', () => {
    const stream = tool('chats_threads_stream')
    const properties = stream.inputSchema.properties as Record<string, unknown>
    assert.equal(properties.format, undefined)
    assert.ok(properties.messages)
    assert.deepEqual(stream.inputSchema.required, ['chat_id', 'thread_id', 'messages'])
  })
})

describe('selecting tools', () => {
  const names = (options: Parameters<typeof selectTools>[1]) => selectTools(catalog, options).map((spec) => spec.name)

  it('leaves destructive tools out unless allowed; read-only keeps GETs only', () => {
    assert.ok(!names({}).includes('bots_delete'))
    assert.ok(names({ allowDestructive: true }).includes('bots_delete'))
    assert.deepEqual(names({ toolsets: ['bots'], readOnly: true, allowDestructive: true }), ['bots_list', 'bots_get', 'bots_settings_get'])
    assert.throws(() => names({ toolsets: ['payments'] }), /Unknown toolset 'payments'; the toolsets are: billing, bots, chats/)
    assert.deepEqual(names({ toolsets: ['billing'], readOnly: true }), ['billing_account_get', 'billing_balance_get', 'billing_transactions_list', 'billing_invoices_list', 'billing_invoices_get', 'billing_offers_list'])
  })

  it('reads flags and query parameters, and refuses what it does not know', () => {
    assert.deepEqual(parseToolsetFlags(['--toolsets', 'bots, chats', '--read-only']), { toolsets: ['bots', 'chats'], readOnly: true, allowDestructive: false })
    assert.deepEqual(parseToolsetFlags(['--toolsets=files', '--allow-destructive']), { toolsets: ['files'], readOnly: false, allowDestructive: true })
    assert.throws(() => parseToolsetFlags(['--toolsets']), /needs a comma-separated list/)
    assert.throws(() => parseToolsetFlags(['--readonly']), /Unknown option --readonly/)
    assert.deepEqual(parseToolsetQuery(new URLSearchParams('toolsets=bots&toolsets=chats&read_only=1')), { toolsets: ['bots', 'chats'], readOnly: true, allowDestructive: false })
    assert.deepEqual(parseToolsetQuery(new URLSearchParams('allow_destructive')), { readOnly: false, allowDestructive: true })
    assert.throws(() => parseToolsetQuery(new URLSearchParams('read_only=yes')), /read_only must be true or false/)
  })
})

describe('arguments to requests', () => {
  it('puts ids in the path (escaped), the rest in the query or the JSON body', async () => {
    const list = requestOf(tool('threads_list'), { chat_id: 'chat_1', limit: 5, offset: null, search: 'a b' })
    assert.equal(list.path, '/threads?chat_id=chat_1&search=a+b&limit=5')
    const update = requestOf(tool('bots_update'), { bot_id: 'bot/..', name: 'New' })
    assert.equal(update.path, '/bots/bot%2F..')
    assert.equal(update.init.method, 'POST')
    assert.equal(new Headers(update.init.headers).get('content-type'), 'application/json')
    assert.deepEqual(JSON.parse(update.init.body as string), { name: 'New' })
    assert.throws(() => requestOf(tool('bots_get'), {}), /`bot_id` is required/)
  })

  it('sends a file as multipart, and the JSON form when no file is given', async () => {
    const upload = requestOf(tool('vectorStores_files_create'), { vector_store_id: 'vs_1', filename: 'a.bin', content_base64: 'AAEC/w==', attributes: { year: 2025 } })
    const form = upload.init.body as FormData
    const file = form.get('file') as File
    assert.equal(file.name, 'a.bin')
    assert.deepEqual([...new Uint8Array(await file.arrayBuffer())], [0, 1, 2, 255])
    assert.equal(form.get('attributes'), '{"year":2025}')
    const json = requestOf(tool('vectorStores_files_create'), { vector_store_id: 'vs_1', file_id: 'file_1' })
    assert.deepEqual(JSON.parse(json.init.body as string), { file_id: 'file_1' })
    assert.throws(() => requestOf(tool('files_create'), { filename: 'a.md', content_base64: 'not base64!', purpose: 'assistants' }), /not base64/)
    assert.throws(() => requestOf(tool('files_create'), { content: 'x', purpose: 'assistants' }), /`filename` is required/)
  })
})
