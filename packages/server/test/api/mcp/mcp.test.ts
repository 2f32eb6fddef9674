// POST /mcp through the real public app: the key check in front of it, the stateless transport's
// answers, the tool options, and tool calls that reach exactly what the key reaches over REST.
// The official client over both transports against server processes: packages/mcp/test.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createTestContext, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded
let stranger: Seeded

before(async () => {
  ctx = await createTestContext()
  owner = await ctx.seed()
  stranger = await ctx.seed()
})
after(async () => {
  await ctx.close()
})

/** One JSON-RPC request to /mcp, as a 2025-era client sends it; the answer comes as one SSE frame. */
async function rpc(key: string | undefined, method: string, params: object, query = ''): Promise<{ status: number; message: any; text: string }> {
  const response = await ctx.publicApp.request(`/mcp${query}`, {
    method: 'POST',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const text = await response.text()
  const data = /^data: (.*)$/m.exec(text)?.[1]
  return { status: response.status, message: data ? JSON.parse(data) : text.startsWith('{') ? JSON.parse(text) : undefined, text }
}

const toolsOf = async (key: string, query = '') => (await rpc(key, 'tools/list', {}, query)).message.result.tools as Array<{ name: string; annotations: Record<string, unknown> }>

describe('POST /mcp', () => {
  it('is behind the key check: no key, a wrong key and a malformed one are the API’s 401', async () => {
    for (const key of [undefined, `sk-${'f'.repeat(64)}`, 'not-a-key']) {
      const answer = await rpc(key, 'tools/list', {})
      assert.equal(answer.status, 401)
      assert.equal(answer.text, '{"error":"Unauthorized","code":"unauthorized"}')
    }
  })

  it('is stateless: POST only; GET and DELETE are 405 in the error shape', async () => {
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const response = await ctx.publicApp.request('/mcp', { method, headers: { authorization: `Bearer ${owner.key}` } })
      assert.equal(response.status, 405, method)
      assert.equal(response.headers.get('allow'), 'POST')
      assert.equal(((await response.json()) as { code: string }).code, 'method_not_allowed')
    }
    const listed = await rpc(owner.key, 'tools/list', {})
    assert.equal(listed.status, 200)
    assert.equal(listed.message.id, 1)
  })

  it('lists the tools; destructive ones only when allowed; read-only and toolsets narrow them', async () => {
    const names = (await toolsOf(owner.key)).map((tool) => tool.name)
    assert.ok(names.includes('bots_create') && names.includes('chats_threads_stream'))
    assert.ok(!names.includes('bots_delete') && !names.includes('projects_apiKeys_delete'), 'no deletions by default')
    assert.ok(!names.some((name) => name.startsWith('threads_events_stream')), 'no endless feeds')
    const destructive = await toolsOf(owner.key, '?allow_destructive=true')
    assert.equal(destructive.find((tool) => tool.name === 'bots_delete')?.annotations.destructiveHint, true)
    const readOnly = await toolsOf(owner.key, '?read_only=true&allow_destructive=true')
    assert.ok(readOnly.length > 10 && readOnly.every((tool) => tool.annotations.readOnlyHint === true))
    assert.deepEqual((await toolsOf(owner.key, '?toolsets=webhook_endpoints&read_only=1')).map((tool) => tool.name).sort(), [
      'webhookEndpoints_deliveries_get', 'webhookEndpoints_deliveries_list', 'webhookEndpoints_get', 'webhookEndpoints_list',
    ])
  })

  it('refuses options it does not know with a 422 naming the valid ones', async () => {
    const unknown = await rpc(owner.key, 'tools/list', {}, '?toolsets=bots,billingx')
    assert.equal(unknown.status, 422)
    assert.equal(unknown.message.code, 'invalid_request')
    assert.match(unknown.message.message, /Unknown toolset 'billingx'; the toolsets are: billing, bots, chats/)
    const flag = await rpc(owner.key, 'tools/list', {}, '?read_only=maybe')
    assert.equal(flag.status, 422)
  })

  it("calls the API with the caller's key: its own project's data, never another's", async () => {
    const mine = await rpc(owner.key, 'tools/call', { name: 'bots_create', arguments: { name: 'Mine' } })
    const theirs = await ctx.asKey(stranger.key)('POST', '/bots', { name: 'Theirs' })
    assert.equal(theirs.status, 200)
    const bot = JSON.parse(mine.message.result.content[0].text)
    assert.equal(mine.message.result.structuredContent.id, bot.id)
    const listed = JSON.parse((await rpc(owner.key, 'tools/call', { name: 'bots_list', arguments: {} })).message.result.content[0].text) as Array<{ id: string }>
    assert.deepEqual(listed.map((item) => item.id), [bot.id])
    const across = await rpc(owner.key, 'tools/call', { name: 'bots_get', arguments: { bot_id: theirs.body.id } })
    assert.equal(across.message.result.isError, true)
    assert.equal(JSON.parse(across.message.result.content[0].text).code, 'not_found')
    const ownedByStranger = await ctx.asKey(stranger.key)('GET', `/bots/${bot.id}`)
    assert.equal(ownedByStranger.status, 404, 'and the other way round')
  })

  it('a body over the JSON limit is the API’s 413, before any MCP', async () => {
    const response = await ctx.publicApp.request('/mcp', {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'files_create', arguments: { filename: 'big.txt', content: 'x'.repeat(1024 * 1024 + 1), purpose: 'assistants' } } }),
    })
    assert.equal(response.status, 413)
    assert.equal(((await response.json()) as { code: string }).code, 'payload_too_large')
  })

  it('is not a REST operation: the OpenAPI document does not list it', async () => {
    const document = (await (await ctx.publicApp.request('/openapi.json')).json()) as { paths: Record<string, unknown> }
    assert.equal(document.paths['/mcp'], undefined)
    const internal = await ctx.asMember(owner)('POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' })
    assert.equal(internal.status, 404, 'the internal listener has no /mcp')
  })
})
