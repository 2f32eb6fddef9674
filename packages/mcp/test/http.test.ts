import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Client } from '@modelcontextprotocol/client'
import { botLifecycle, botsToolset, defaultTools, destructiveTools, echoReply, fileRoundTrip, otherProjectInvisible, readOnlyTools } from './scenarios.ts'
import { httpClient, startWorken, type Worken } from './support.ts'

let worken: Worken
const clients: Client[] = []
const connect = async (query = '', mode: 'legacy' | 'auto' = 'legacy', key = worken.key) => {
  const client = await httpClient(worken.server.publicUrl, key, query, mode)
  clients.push(client)
  return client
}

before(async () => {
  worken = await startWorken('worken-mcp-http')
})
after(async () => {
  await Promise.all(clients.map((client) => client.close()))
  await worken?.close()
})

describe('POST /mcp on the public API (streamable HTTP, stateless)', () => {
  it('offers every non-destructive operation as a tool, in both protocol eras', async () => {
    await defaultTools(await connect(), worken)
    await defaultTools(await connect('', 'auto'), worken)
  })

  it('?allow_destructive, ?read_only and ?toolsets choose the tools', async () => {
    await destructiveTools(await connect('?allow_destructive=true'))
    await readOnlyTools(await connect('?read_only=true&allow_destructive=true'), worken)
    await botsToolset(await connect('?toolsets=bots', 'auto'))
  })

  it('creates, lists and reads a bot, gets a local/echo reply, and returns API errors as isError', async () => {
    const legacy = await connect()
    await echoReply(legacy, await botLifecycle(legacy, 'HTTP bot'), 'hello over http')
    const modern = await connect('', 'auto')
    await echoReply(modern, await botLifecycle(modern, 'HTTP bot 2'), 'hello again')
  })

  it('uploads and downloads a file', async () => {
    await fileRoundTrip(await connect('', 'auto'))
  })

  it("never shows another project's data", async () => {
    await otherProjectInvisible(await connect(), worken)
  })

  it('refuses a wrong key with the API’s 401, before any MCP', async () => {
    await assert.rejects(connect('', 'legacy', `sk-${'0'.repeat(64)}`))
    await assert.rejects(connect('', 'auto', `sk-${'0'.repeat(64)}`))
    const response = await fetch(`${worken.server.publicUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer sk-${'0'.repeat(64)}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    })
    assert.equal(response.status, 401)
    assert.deepEqual(await response.json(), { error: 'Unauthorized', code: 'unauthorized' })
  })
})
