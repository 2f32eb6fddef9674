import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { once } from 'node:events'
import { runFailingStart, spawnServer, startServerProcess, type ServerProcess } from '../support/process.ts'

const dataDirs: string[] = []
function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-test-'))
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

describe('the server process on the embedded database', () => {
  let server: ServerProcess
  const dataDir = tempDataDir()
  // When a filter skips the shutdown test, the process must not outlive the file.
  after(async () => {
    await server?.stop('SIGKILL')
  })

  it('starts on an empty data directory, creates the defaults and prints the key once with a curl line', async () => {
    server = await startServerProcess({ WORKEN_DATA_DIR: dataDir })
    const output = server.output()
    const key = output.match(/^\s+(sk-[0-9a-f]{64})$/m)?.[1]
    assert.ok(key, output)
    const curl = output.match(/curl (\S+) -H "Authorization: Bearer (sk-[0-9a-f]+)"/)
    assert.ok(curl)
    assert.equal(curl[1], `${server.publicUrl}/bots`)
    assert.equal(curl[2], key)
    // The printed curl line works.
    assert.deepEqual(await get(curl[1]!, { authorization: `Bearer ${key}` }), { status: 200, body: [] })
    // The key appears once, in the banner; never in a log line.
    assert.equal(output.split(key).length - 1, 2)
    assert.ok(!server.logs().some((line) => JSON.stringify(line).includes(key)))
    assert.ok(server.logs().some((line) => line.msg === 'migrations applied'))
  })

  it('serves /healthz and /readyz on both listeners, and the internal API with the printed ids', async () => {
    for (const base of [server.publicUrl, server.internalUrl]) {
      assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: { status: 'ok' } })
      assert.deepEqual(await get(`${base}/readyz`), { status: 200, body: { status: 'ok' } })
    }
    const output = server.output()
    const organization = output.match(/Worken-Organization: (org_\w+)/)![1]!
    const project = output.match(/Worken-Project: (prj_\w+)/)![1]!
    const user = output.match(/Worken-User: (usr_\w+)/)![1]!
    const projects = await get(`${server.internalUrl}/projects`, { 'worken-organization': organization, 'worken-project': project, 'worken-user': user })
    assert.equal(projects.status, 200)
    assert.equal(projects.body[0].id, project)
    assert.ok(new URL(server.internalUrl).hostname === '127.0.0.1')
  })

  it('answers an oversized request line in the JSON error shape', async () => {
    const response = await fetch(`${server.publicUrl}/bots/${'x'.repeat(20_000)}`)
    assert.equal(response.status, 431)
    assert.deepEqual(await response.json(), { error: 'Request Header Fields Too Large', code: 'malformed_request', message: 'The request line or headers are too large' })
    assert.equal((await fetch(`${server.publicUrl}/healthz`)).status, 200)
  })

  it('refuses a second server on the same data directory', async () => {
    const second = await runFailingStart({ WORKEN_DATA_DIR: dataDir })
    assert.equal(second.code, 1)
    assert.match(second.stdout + second.stderr, /in use by process/)
  })

  it('finishes an in-flight request on SIGTERM, then exits 0', async () => {
    const key = server.output().match(/^\s+(sk-[0-9a-f]{64})$/m)![1]!
    const body = JSON.stringify({ name: 'Sent during shutdown' })
    const url = new URL(`${server.publicUrl}/bots`)
    const responded = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (response) => {
        let text = ''
        response.on('data', (chunk) => (text += chunk))
        response.on('end', () => resolve({ status: response.statusCode!, text }))
      })
      request.on('error', reject)
      request.write(body.slice(0, 10))
      // Finish the body only after the signal: the request is in flight while the server drains.
      setTimeout(() => request.end(body.slice(10)), 500)
    })
    await sleep(200)
    const exit = server.stop('SIGTERM')
    const response = await responded
    assert.equal(response.status, 200, response.text)
    assert.equal(JSON.parse(response.text).name, 'Sent during shutdown')
    assert.equal(await exit, 0)
    assert.ok(server.logs().some((line) => line.msg === 'stopped'))
  })

  it('restarts on the same data: no new key, the old key and data still there', async () => {
    const key = server.output().match(/^\s+(sk-[0-9a-f]{64})$/m)![1]!
    const again = await startServerProcess({ WORKEN_DATA_DIR: dataDir })
    try {
      assert.ok(!/sk-[0-9a-f]{64}/.test(again.output()), 'no key printed on a non-empty database')
      const bots = await get(`${again.publicUrl}/bots`, { authorization: `Bearer ${key}` })
      assert.equal(bots.status, 200)
      assert.deepEqual(bots.body.map((b: any) => b.name), ['Sent during shutdown'])
      assert.ok(!again.logs().some((line) => line.msg === 'migrations applied'), 'migrations are not applied twice')
    } finally {
      assert.equal(await again.stop('SIGINT'), 0)
    }
  })
})

describe('a signal during start-up', () => {
  it('SIGTERM while the server starts ends it cleanly once it has started (exit 0), not by the default action', { timeout: 90_000 }, async () => {
    const child = spawnServer({ WORKEN_DATA_DIR: tempDataDir() })
    let stdout = ''
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const exited = once(child, 'exit')
    // `database opened` is logged half-way through the start: the listeners are not bound yet.
    for (let i = 0; i < 600 && !stdout.includes('"database opened"'); i++) await sleep(50)
    assert.ok(stdout.includes('"database opened"'), stdout)
    assert.ok(!stdout.includes('"listening"'), 'signalled before the server listened')
    child.kill('SIGTERM')
    const [code, signal] = await exited
    assert.deepEqual([code, signal], [0, null], stdout)
    assert.match(stdout, /"msg":"stopped"/)
  })
})
