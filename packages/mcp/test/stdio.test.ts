import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import type { Client } from '@modelcontextprotocol/client'
import { botLifecycle, botsToolset, defaultTools, destructiveTools, echoReply, fileRoundTrip, otherProjectInvisible, readOnlyTools } from './scenarios.ts'
import { jsonOf, STDIO_COMMAND, startWorken, stdioClient, type Worken } from './support.ts'

let worken: Worken
let env: Record<string, string>
const clients: Client[] = []
const connect = async (args: string[] = [], overrides: Record<string, string> = {}, mode: 'legacy' | 'auto' = 'legacy') => {
  const client = await stdioClient({ ...env, ...overrides }, args, mode)
  clients.push(client)
  return client
}

before(async () => {
  worken = await startWorken('worken-mcp-stdio')
  env = { WORKEN_API_KEY: worken.key, WORKEN_BASE_URL: worken.server.publicUrl }
})
after(async () => {
  await Promise.all(clients.map((client) => client.close()))
  await worken?.close()
})

describe('worken-mcp over stdio, against a real server', () => {
  it('offers every non-destructive operation as a tool, with schemas and hints', async () => {
    await defaultTools(await connect(), worken)
  })

  it('--allow-destructive adds the deletions; --read-only keeps the GETs; --toolsets filters', async () => {
    await destructiveTools(await connect(['--allow-destructive']))
    await readOnlyTools(await connect(['--read-only', '--allow-destructive']), worken)
    await botsToolset(await connect(['--toolsets', 'bots']))
  })

  it('creates, lists and reads a bot, gets a local/echo reply, and returns API errors as isError (2026-07-28 era)', async () => {
    const client = await connect([], {}, 'auto')
    const botId = await botLifecycle(client, 'Stdio bot')
    await echoReply(client, botId, 'hello over stdio')
  })

  it('uploads and downloads a file', async () => {
    await fileRoundTrip(await connect())
  })

  it("never shows another project's data", async () => {
    await otherProjectInvisible(await connect(), worken)
  })

  it('a wrong key: the tools are listed, and a call fails cleanly with the API’s 401', async () => {
    const client = await connect([], { WORKEN_API_KEY: `sk-${'0'.repeat(64)}` })
    const result = await client.callTool({ name: 'bots_list', arguments: {} })
    assert.equal(result.isError, true)
    assert.deepEqual(jsonOf(result), { error: 'Unauthorized', code: 'unauthorized' })
  })

  it('without a key, or with a wrong flag, says why on stderr and exits 2; stdout stays clean', () => {
    const run = (args: string[], extra: Record<string, string>) =>
      spawnSync(STDIO_COMMAND[0], [...STDIO_COMMAND.slice(1), ...args], { env: { PATH: process.env.PATH ?? '', ...extra }, encoding: 'utf8', input: '', timeout: 30_000 })
    const keyless = run([], { WORKEN_BASE_URL: worken.server.publicUrl })
    assert.equal(keyless.status, 2)
    assert.match(keyless.stderr, /WORKEN_API_KEY/)
    assert.equal(keyless.stdout, '')
    const unknownToolset = run(['--toolsets', 'bots,nope'], env)
    assert.equal(unknownToolset.status, 2)
    assert.match(unknownToolset.stderr, /Unknown toolset 'nope'; the toolsets are: .*bots/)
    assert.equal(unknownToolset.stdout, '')
    const unknownFlag = run(['--writeable'], env)
    assert.equal(unknownFlag.status, 2)
    assert.match(unknownFlag.stderr, /Unknown option --writeable/)
    const noServer = run([], { WORKEN_API_KEY: worken.key, WORKEN_BASE_URL: 'http://127.0.0.1:9' })
    assert.equal(noServer.status, 1)
    assert.match(noServer.stderr, /could not read the API description at http:\/\/127\.0\.0\.1:9\/openapi\.json/)
  })
})
