import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { createScratchDatabase, dropScratchDatabase } from '../support/harness.ts'
import { runFailingStart, startServerProcess, type ServerProcess } from '../support/process.ts'
import { migratedDataDir } from '../support/template.ts'

// Start-up options and errors, each test on its own data. server.test.ts follows one data directory through its
// life; these tests are a file of their own so that the two files run side by side.

const dataDirs: string[] = []
function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-test-'))
  dataDirs.push(dir)
  return dir
}
/** A data directory holding a copy of the migrated template: these tests are not about the first start's migrations. */
async function migratedTempDataDir(): Promise<string> {
  const dir = await migratedDataDir('worken-test')
  dataDirs.push(dir)
  return dir
}
after(() => {
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true })
})

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers })
  return { status: response.status, body: (await response.json()) as any }
}

// Independent processes, each on its own data directory: side by side.
describe('start-up options on the embedded database', { concurrency: true }, () => {
  it('WORKEN_INTERNAL_TOKEN guards the internal listener', async () => {
    const guarded = await startServerProcess({ WORKEN_DATA_DIR: await migratedTempDataDir(), WORKEN_INTERNAL_TOKEN: 'a-long-internal-token-value' })
    try {
      const output = guarded.output()
      const headers = {
        'worken-organization': output.match(/Worken-Organization: (org_\w+)/)![1]!,
        'worken-project': output.match(/Worken-Project: (prj_\w+)/)![1]!,
        'worken-user': output.match(/Worken-User: (usr_\w+)/)![1]!,
      }
      assert.equal((await get(`${guarded.internalUrl}/bots`, headers)).status, 401)
      assert.equal((await get(`${guarded.internalUrl}/bots`, { ...headers, authorization: 'Bearer a-long-internal-token-value' })).status, 200)
    } finally {
      await guarded.stop()
    }
  })
})

describe('the internal listener on every interface', { concurrency: true }, () => {
  it('refuses to start without WORKEN_INTERNAL_TOKEN, naming it and INTERNAL_HOST', async () => {
    const dataDir = tempDataDir()
    const result = await runFailingStart({ WORKEN_DATA_DIR: dataDir, INTERNAL_HOST: '0.0.0.0' })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /INTERNAL_HOST: '0\.0\.0\.0' is not a loopback address.*\n?.*WORKEN_INTERNAL_TOKEN/)
    assert.ok(!result.stdout.includes('listening'))
    assert.ok(!fs.existsSync(path.join(dataDir, 'pgdata')), 'refused before the database was touched')
  })

  it('starts with a token, and the token guards it', async () => {
    const server = await startServerProcess({ WORKEN_DATA_DIR: await migratedTempDataDir(), INTERNAL_HOST: '0.0.0.0', WORKEN_INTERNAL_TOKEN: 'a-long-internal-token-value' })
    try {
      const internal = new URL(server.internalUrl)
      const base = `http://127.0.0.1:${internal.port}`
      assert.equal((await get(`${base}/healthz`)).status, 200)
      const output = server.output()
      assert.match(output, /with Authorization: Bearer \$WORKEN_INTERNAL_TOKEN/, 'the banner says the ids need the token')
      assert.ok(!output.includes('a-long-internal-token-value'))
      const headers = {
        'worken-organization': output.match(/Worken-Organization: (org_\w+)/)![1]!,
        'worken-project': output.match(/Worken-Project: (prj_\w+)/)![1]!,
        'worken-user': output.match(/Worken-User: (usr_\w+)/)![1]!,
      }
      assert.equal((await get(`${base}/bots`, headers)).status, 401)
      assert.equal((await get(`${base}/bots`, { ...headers, authorization: 'Bearer a-long-internal-token-value' })).status, 200)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })
})

/** Sends `text` on a raw connection and resolves with what came back once the server closed it. */
function sendRaw(url: string, text: string): Promise<{ answer: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = net.connect(Number(port), hostname, () => socket.write(text))
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve({ answer, closedAfterMs: performance.now() - started }))
  })
}

describe('request timeouts', () => {
  it('WORKEN_HEADERS_TIMEOUT_MS and WORKEN_BODY_IDLE_TIMEOUT_MS cut slow clients on both listeners with a 408', async () => {
    const server = await startServerProcess({ WORKEN_DATA_DIR: await migratedTempDataDir(), WORKEN_HEADERS_TIMEOUT_MS: '300', WORKEN_REQUEST_TIMEOUT_MS: '5000', WORKEN_BODY_IDLE_TIMEOUT_MS: '300' })
    try {
      for (const base of [server.publicUrl, server.internalUrl]) {
        const headers = await sendRaw(base, 'GET /healthz HTTP/1.1\r\nHost: worken.test\r\n')
        assert.match(headers.answer, /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"request_timeout"/)
        assert.ok(headers.closedAfterMs < 2000, `${base}: partial headers held ${headers.closedAfterMs} ms`)
        // A body that stops, on a route that reads none: the idle timeout is the listener's, not a route's.
        const body = await sendRaw(base, 'POST /healthz HTTP/1.1\r\nHost: worken.test\r\nContent-Length: 100\r\n\r\n0123456789')
        assert.ok(body.closedAfterMs < 2000, `${base}: a stalled body held ${body.closedAfterMs} ms`)
      }
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })
})

// Independent processes that exit at once: side by side.
describe('configuration errors stop start-up with a message naming the variable', { concurrency: true }, () => {
  for (const [name, value] of [
    ['PORT', 'not-a-port'],
    ['INTERNAL_PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['WORKEN_BOOTSTRAP_API_KEY', 'sk-xyz'],
    ['WORKEN_BODY_LIMIT', '-5'],
    ['LOG_LEVEL', 'loud'],
  ] as const) {
    it(`${name}=${value}`, async () => {
      const result = await runFailingStart({ WORKEN_DATA_DIR: tempDataDir(), [name]: value })
      assert.equal(result.code, 1)
      assert.match(result.stderr, new RegExp(`^\\s+${name}: `, 'm'))
      assert.ok(!result.stdout.includes('listening'))
    })
  }
})

describe('on Postgres', { skip: process.env.TEST_DATABASE_URL ? false : 'TEST_DATABASE_URL is not set' }, () => {
  it('two processes starting at once on an empty database migrate and bootstrap exactly once', async () => {
    const serverUrl = process.env.TEST_DATABASE_URL!
    const url = await createScratchDatabase(serverUrl)
    const servers: ServerProcess[] = []
    try {
      servers.push(...(await Promise.all([startServerProcess({ DATABASE_URL: url }), startServerProcess({ DATABASE_URL: url })])))
      const keys = servers.map((server) => server.output().match(/^\s+(sk-[0-9a-f]{64})$/m)?.[1]).filter(Boolean)
      assert.equal(keys.length, 1, 'exactly one process bootstraps and prints a key')
      for (const server of servers) {
        assert.deepEqual(await get(`${server.publicUrl}/readyz`), { status: 200, body: { status: 'ok' } })
        assert.equal((await get(`${server.publicUrl}/bots`, { authorization: `Bearer ${keys[0]}` })).status, 200)
      }
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        const migrations = await client.query('select name from worken_migrations')
        const names = migrations.rows.map((row) => row.name)
        assert.equal(new Set(names).size, names.length)
        assert.ok(names.includes('0000_foundation'))
        assert.equal((await client.query('select count(*)::int as n from organizations')).rows[0].n, 1)
        assert.equal((await client.query('select count(*)::int as n from api_keys')).rows[0].n, 1)
        // Without pgvector the server still starts, and says which features are off.
        const hasVector = (await client.query("select 1 from pg_available_extensions where name = 'vector'")).rowCount! > 0
        const warned = servers.every((server) => server.logs().some((line) => /pgvector is not available.*semantic recall.*off.*knowledge-base search uses full-text only/.test(line.msg)))
        assert.equal(warned, !hasVector)
      } finally {
        await client.end()
      }
    } finally {
      for (const server of servers) assert.equal(await server.stop(), 0)
      await dropScratchDatabase(serverUrl, url)
    }
  })
})
