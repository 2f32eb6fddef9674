// What every transport must do the same way: each test file runs these with its own clients.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { Client } from '@modelcontextprotocol/client'
import { EXCLUDED_OPERATIONS, toolNameOf, type OpenApiDocument } from '../src/index.ts'
import { jsonOf, toolNames, type Worken } from './support.ts'

const METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** The live server's operations, as `{ operationId, method }`. */
export async function liveOperations(worken: Worken): Promise<Array<{ operationId: string; method: string; tag: string }>> {
  const document = (await (await fetch(`${worken.server.publicUrl}/openapi.json`)).json()) as OpenApiDocument
  return Object.values(document.paths).flatMap((item) =>
    METHODS.filter((method) => item[method]).map((method) => {
      const operation = item[method] as { operationId: string; tags: string[] }
      return { operationId: operation.operationId, method, tag: operation.tags[0]! }
    }),
  )
}

/** Default options: every non-destructive operation is a tool, with its schema and hints. */
export async function defaultTools(client: Client, worken: Worken): Promise<void> {
  const { tools } = await client.listTools()
  const byName = new Map(tools.map((tool) => [tool.name, tool]))
  const operations = await liveOperations(worken)
  const destructive = operations.filter((operation) => operation.method === 'delete' || operation.operationId.endsWith('.delete'))
  assert.ok(destructive.length >= 10, 'the API has its deletions')
  for (const operation of operations) {
    const tool = byName.get(toolNameOf(operation.operationId))
    if (operation.operationId in EXCLUDED_OPERATIONS || destructive.includes(operation)) assert.equal(tool, undefined, `${operation.operationId} is not offered`)
    else assert.ok(tool, `${operation.operationId} is a tool`)
  }
  const list = byName.get('bots_list')!
  assert.deepEqual(list.annotations, { title: 'List bots', readOnlyHint: true })
  assert.deepEqual(list._meta, { 'worken/operationId': 'bots.list', 'worken/toolset': 'bots', 'worken/access': 'read', 'worken/role': 'member' })
  assert.equal(list.inputSchema.type, 'object')
  assert.ok(list.inputSchema.properties?.limit)
  const get = byName.get('bots_get')!
  assert.deepEqual(get.inputSchema.required, ['bot_id'])
  assert.match(get.description ?? '', /bot/i)
  const update = byName.get('bots_settings_update')!
  assert.equal(update.annotations?.readOnlyHint, false)
  assert.equal(update.annotations?.destructiveHint, false)
  assert.equal(update.annotations?.idempotentHint, true)
  const create = byName.get('bots_create')!
  assert.equal(create.annotations?.idempotentHint, false)
  assert.deepEqual(create.inputSchema.required, ['name'])
  // Every `$ref` is resolved: a client needs nothing but the tool to know its arguments.
  for (const tool of tools) assert.ok(!JSON.stringify(tool.inputSchema).includes('#/components/'), `${tool.name}'s schema stands alone`)
}

/** `allowDestructive`: the deletions are there, marked destructive. */
export async function destructiveTools(client: Client): Promise<void> {
  const byName = new Map((await client.listTools()).tools.map((tool) => [tool.name, tool]))
  for (const name of ['bots_delete', 'projects_apiKeys_delete', 'chats_threads_delete', 'chats_delete', 'files_delete']) {
    assert.equal(byName.get(name)?.annotations?.destructiveHint, true, `${name} is offered and destructive`)
  }
}

/** `readOnly`: exactly the GET operations. */
export async function readOnlyTools(client: Client, worken: Worken): Promise<void> {
  const { tools } = await client.listTools()
  const gets = (await liveOperations(worken)).filter((operation) => operation.method === 'get' && !(operation.operationId in EXCLUDED_OPERATIONS))
  assert.deepEqual(tools.map((tool) => tool.name).sort(), gets.map((operation) => toolNameOf(operation.operationId)).sort())
  for (const tool of tools) assert.equal(tool.annotations?.readOnlyHint, true)
}

/** A toolset filter: that toolset's tools only. */
export async function botsToolset(client: Client): Promise<void> {
  const names = await toolNames(client)
  assert.deepEqual(names, ['bots_clone', 'bots_create', 'bots_get', 'bots_list', 'bots_settings_get', 'bots_settings_update', 'bots_status_update', 'bots_update'])
}

/** Create, list, read; a reply through the stream; the API's error as `isError`. Returns the bot's id. */
export async function botLifecycle(client: Client, name: string): Promise<string> {
  const created = await client.callTool({ name: 'bots_create', arguments: { name, description: 'made over MCP' } })
  assert.equal(created.isError, undefined, JSON.stringify(created.content))
  const bot = jsonOf(created)
  assert.match(bot.id, /^bot_/)
  assert.equal(bot.name, name)

  const listed = jsonOf(await client.callTool({ name: 'bots_list', arguments: { limit: 1000 } }))
  assert.ok(listed.some((item: { id: string }) => item.id === bot.id), 'the new bot is listed')
  const read = jsonOf(await client.callTool({ name: 'bots_get', arguments: { bot_id: bot.id } }))
  assert.equal(read.description, 'made over MCP')

  const missing = await client.callTool({ name: 'bots_get', arguments: { bot_id: 'bot_nosuchbot' } })
  assert.equal(missing.isError, true)
  assert.equal(jsonOf(missing).code, 'not_found')
  const invalid = await client.callTool({ name: 'bots_create', arguments: { name: '' } })
  assert.equal(invalid.isError, true)
  assert.equal(jsonOf(invalid).code, 'invalid_request')
  return bot.id
}

/** `chats.threads.stream` with the built-in `local/echo` model: the reply's text comes back whole. */
export async function echoReply(client: Client, botId: string, text: string): Promise<void> {
  const settings = await client.callTool({ name: 'bots_settings_update', arguments: { bot_id: botId, ai: { model: { id: 'local/echo' }, memory: { generateTitle: false } } } })
  assert.equal(settings.isError, undefined, JSON.stringify(settings.content))
  const chat = jsonOf(await client.callTool({ name: 'chats_create', arguments: { bot_id: botId, name: 'MCP chat' } }))
  // Thread ids are the client's and unique in the project: a new one per call.
  const threadId = `mcp-${randomUUID()}`
  const reply = await client.callTool({ name: 'chats_threads_stream', arguments: { chat_id: chat.id, thread_id: threadId, messages: [{ role: 'user', content: text }] } })
  assert.equal(reply.isError, undefined, JSON.stringify(reply.content))
  assert.equal((reply.content[0] as { text: string }).text, `You said: ${text}`)
  const summary = reply.structuredContent as { finish_reason: string; complete: boolean; errors: string[] }
  assert.equal(summary.finish_reason, 'stop')
  assert.equal(summary.complete, true)
  assert.deepEqual(summary.errors, [])
  // The stream stored the turn: the thread's messages say the same.
  const messages = jsonOf(await client.callTool({ name: 'chats_threads_messages_list', arguments: { chat_id: chat.id, thread_id: threadId } }))
  assert.ok(JSON.stringify(messages).includes(`You said: ${text}`))
}

/** A text file up through `files.create` (multipart) and down through `files.content.get`. */
export async function fileRoundTrip(client: Client): Promise<void> {
  const text = 'Returns: within 30 days.\nÜmlaut ok.\n'
  const file = jsonOf(await client.callTool({ name: 'files_create', arguments: { filename: 'policy.md', content: text, purpose: 'assistants' } }))
  assert.match(file.id, /^file_/)
  assert.equal(file.filename, 'policy.md')
  const content = await client.callTool({ name: 'files_content_get', arguments: { file_id: file.id } })
  assert.equal((content.content[0] as { text: string }).text, text)
  assert.equal((content.structuredContent as { encoding: string }).encoding, 'utf-8')
  const both = await client.callTool({ name: 'files_create', arguments: { filename: 'x.md', content: 'a', content_base64: 'YQ==', purpose: 'assistants' } })
  assert.equal(both.isError, true)
  assert.match((both.content[0] as { text: string }).text, /exactly one of `content`/)
}

/** Another project's bot is invisible through this connection: not listed, 404 when named. */
export async function otherProjectInvisible(client: Client, worken: Worken): Promise<void> {
  const theirs = await worken.api(worken.otherKey, 'POST', '/bots', { name: 'Project B bot' })
  assert.equal(theirs.status, 200)
  const listed = jsonOf(await client.callTool({ name: 'bots_list', arguments: { limit: 1000 } }))
  assert.ok(!listed.some((bot: { id: string }) => bot.id === theirs.body.id), "B's bot is not listed to A")
  const named = await client.callTool({ name: 'bots_get', arguments: { bot_id: theirs.body.id } })
  assert.equal(named.isError, true)
  assert.equal(jsonOf(named).code, 'not_found')
}
