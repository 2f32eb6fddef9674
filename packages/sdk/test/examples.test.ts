import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startWorken, waitFor, type Worken } from './support/worken.ts'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const README = fs.readFileSync(`${PACKAGE}/README.md`, 'utf8')

let worken: Worken

before(async () => {
  worken = await startWorken({ WORKEN_WEBHOOKS_ALLOW_PRIVATE: 'true' })
})

after(() => worken?.stop())

/** Runs an example as a user would (`node --conditions=worken:source examples/….ts`), its output collected. */
function run(example: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=worken:source', `examples/${example}`], {
    cwd: PACKAGE,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { child, output, exited }
}

describe('README', () => {
  test('each code block marked with an example file is that file, verbatim', () => {
    const marked = [...README.matchAll(/<!-- (examples\/[\w-]+\.ts) -->\n```ts\n([\s\S]*?)```/g)]
    assert.deepEqual(marked.map((match) => match[1]), ['examples/quickstart.ts', 'examples/webhook-receiver.ts'])
    for (const [, file, block] of marked) assert.equal(block, fs.readFileSync(`${PACKAGE}/${file}`, 'utf8'), `${file} and its README block differ`)
  })

  test('the quick start runs against a real server', async () => {
    const { output, exited } = run('quickstart.ts', { WORKEN_API_KEY: worken.apiKey, WORKEN_BASE_URL: worken.url })
    assert.equal(await exited, 0, output.stderr)
    assert.match(output.stdout, /^bot bot_\w+: Quickstart bot$/m)
    assert.match(output.stdout, /^You said: Hello, Worken!$/m)
    assert.match(output.stdout, /^event message_created in quickstart-1$/m)
    assert.match(output.stdout, /^404 not_found, request \S+$/m)
  })

  test('the webhook receiver verifies what the real server sends, and refuses a forgery', async () => {
    const probe = net.createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as net.AddressInfo
    await new Promise((resolve) => probe.close(resolve))
    const client = worken.client()
    const endpoint = await client.webhookEndpoints.create({ url: `http://127.0.0.1:${port}/hooks` })
    const receiver = run('webhook-receiver.ts', { WORKEN_WEBHOOK_SECRET: endpoint.secret, PORT: String(port) })
    try {
      await waitFor(() => receiver.output.stdout.includes('listening'), { what: 'the receiver to listen' })
      const delivery = await client.webhookEndpoints.test(endpoint.id)
      await waitFor(() => receiver.output.stdout.includes('received webhook.test'), { what: 'the verified webhook' })
      assert.match(receiver.output.stdout, new RegExp(`^received webhook.test ${delivery.event_id}$`, 'm'))
      const forged = await fetch(`http://127.0.0.1:${port}/hooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-worken-signature': '0'.repeat(64) },
        body: JSON.stringify({ id: 'evt_forged', type: 'webhook.test', created_at: new Date().toISOString(), data: {} }),
      })
      assert.equal(forged.status, 400)
    } finally {
      receiver.child.kill()
      await receiver.exited
    }
  })
})
