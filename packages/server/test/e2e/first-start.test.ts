import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../../src/config.ts'
import { startServer } from '../../src/server.ts'
import { silentLogger } from '../support/harness.ts'
import { processDatabase, runFailingStart, startServerProcess, TEST_ENCRYPTION_KEY } from '../support/process.ts'

/** A port some other program holds for the duration of the test. */
async function occupiedPort(): Promise<{ port: number; release(): Promise<void> }> {
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  const { port } = holder.address() as net.AddressInfo
  return { port, release: () => new Promise((resolve) => holder.close(() => resolve())) }
}

const KEY_LINE = /^\s+(sk-[0-9a-f]{64})$/m

describe('a first start that cannot listen', () => {
  let database: Awaited<ReturnType<typeof processDatabase>>
  let taken: Awaited<ReturnType<typeof occupiedPort>>
  before(async () => {
    database = await processDatabase('worken-first-start')
    taken = await occupiedPort()
  })
  after(async () => {
    await taken.release()
    await database.cleanup()
  })

  it('stops with a message naming the port and its variable, and creates no key', async () => {
    const result = await runFailingStart({ ...database.env, PORT: String(taken.port) })
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`Worken did not start: Port ${taken.port} \\(PORT\\) on 127\\.0\\.0\\.1 is already in use\\. .*set PORT to another port`))
    assert.ok(!/sk-[0-9a-f]{64}/.test(result.stdout + result.stderr), 'no key was made, so none is shown')

    // The internal listener binds second: its failure also comes before the bootstrap.
    const internal = await runFailingStart({ ...database.env, INTERNAL_PORT: String(taken.port) })
    assert.equal(internal.code, 1)
    assert.match(internal.stderr, new RegExp(`Port ${taken.port} \\(INTERNAL_PORT\\) on 127\\.0\\.0\\.1 is already in use`))
    assert.ok(!/sk-[0-9a-f]{64}/.test(internal.stdout))
  })

  it('prints the first key on the next start, on a free port, and the key works', async () => {
    const server = await startServerProcess(database.env)
    try {
      const key = server.output().match(KEY_LINE)?.[1]
      assert.ok(key, `the first key is printed: ${server.output()}`)
      const response = await fetch(`${server.publicUrl}/bots`, { headers: { authorization: `Bearer ${key}` } })
      assert.equal(response.status, 200)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })
})

describe('the first start\'s banner', { concurrency: true }, () => {
  const databases: Array<Awaited<ReturnType<typeof processDatabase>>> = []
  after(async () => {
    for (const database of databases) await database.cleanup()
  })
  const fresh = async () => {
    const database = await processDatabase('worken-banner')
    databases.push(database)
    return database.env
  }

  it('never prints a key the operator chose with WORKEN_BOOTSTRAP_API_KEY: it says the key was stored', async () => {
    const chosen = `sk-${'0123456789abcdef'.repeat(3)}`
    const server = await startServerProcess({ ...(await fresh()), WORKEN_BOOTSTRAP_API_KEY: chosen })
    try {
      const output = server.output() + server.stderr()
      assert.ok(!output.includes(chosen), `the chosen key is not printed:\n${output}`)
      assert.ok(!/sk-[0-9a-f]{32,}/.test(output), 'nor any other key')
      assert.match(output, /The API key from WORKEN_BOOTSTRAP_API_KEY was stored as the first key/)
      assert.match(output, /curl \S+\/bots -H "Authorization: Bearer \$WORKEN_BOOTSTRAP_API_KEY"/)
      // The internal listener is on loopback: its ids are shown.
      assert.match(output, /Worken-Organization: org_\w+/)
      const response = await fetch(`${server.publicUrl}/bots`, { headers: { authorization: `Bearer ${chosen}` } })
      assert.equal(response.status, 200, 'and the key works')
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  it('prints a key it generated once, with the internal ids (on loopback)', async () => {
    const server = await startServerProcess(await fresh())
    try {
      const output = server.output()
      const key = output.match(KEY_LINE)?.[1]
      assert.ok(key, output)
      assert.match(output, /This API key is shown once/)
      assert.ok(!output.includes('WORKEN_BOOTSTRAP_API_KEY'))
      assert.match(output, /Internal API \(http:\/\/127\.0\.0\.1:\d+\): Worken-Organization: org_\w+/)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })
})

describe('a failed start in process', () => {
  it('releases what it took: the listener that did bind, the data directory, the database', async () => {
    const database = await processDatabase('worken-failed-start')
    const taken = await occupiedPort()
    // A port that was free a moment ago, for the public listener, so the test can check it is free again.
    const probe = await occupiedPort()
    await probe.release()
    try {
      const config = loadConfig({ ...database.env, WORKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, PORT: String(probe.port), INTERNAL_PORT: String(taken.port) })
      await assert.rejects(startServer(config, silentLogger), /\(INTERNAL_PORT\) on 127\.0\.0\.1 is already in use/)
      const again = net.createServer()
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject)
        again.listen(probe.port, '127.0.0.1', resolve)
      })
      await new Promise((resolve) => again.close(resolve))
      if (!config.databaseUrl) assert.ok(!fs.existsSync(path.join(config.dataDir, 'worken.pid')), 'the data directory is released')

      const started = await startServer({ ...config, internalPort: 0 }, silentLogger)
      assert.ok(started.bootstrapped, 'the bootstrap runs on the start that listens')
      await started.close()
    } finally {
      await taken.release()
      await database.cleanup()
    }
  })
})
