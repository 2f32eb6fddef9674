import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, it } from 'node:test'
import { SseClient } from '../support/events-client.ts'
import { createScratchDatabase, dropScratchDatabase } from '../support/harness.ts'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { startServerProcess, type ServerProcess } from '../support/process.ts'
import { migratedDataDir } from '../support/template.ts'

const serverUrl = process.env.TEST_DATABASE_URL
const KEY = `sk-${'ab12cd'.repeat(8)}`
let llm: LlmServer
let url: string
const processes: ServerProcess[] = []

before(async () => {
  if (!serverUrl) return
  llm = await startLlmServer()
  url = await createScratchDatabase(serverUrl)
})
after(async () => {
  if (!serverUrl) return
  await Promise.all(processes.map((server) => server.stop('SIGTERM')))
  await llm.close()
  await dropScratchDatabase(serverUrl, url)
})

it(
  'an event committed through one process reaches an SSE subscriber of another (Postgres LISTEN/NOTIFY)',
  { skip: serverUrl ? false : 'needs TEST_DATABASE_URL: PGlite is one process, so there is no second process to reach', timeout: 120_000 },
  async () => {
    // The safety poll is pushed out of the test's reach: only a notification can bring the event in time.
    const env = { DATABASE_URL: url, WORKEN_BOOTSTRAP_API_KEY: KEY, OPENAI_API_KEY: 'test', OPENAI_BASE_URL: `${llm.url}/v1`, WORKEN_EVENTS_POLL_MS: '600000' }
    // One after the other: the first migrates and bootstraps, the second finds it done.
    const writer = await startServerProcess(env)
    processes.push(writer)
    const reader = await startServerProcess(env)
    processes.push(reader)
    const call = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(writer.publicUrl + route, {
        method,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, body: response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text }
    }
    const bot = (await call('POST', '/bots', { name: 'Across' })).body
    await call('POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const chat = (await call('POST', '/chats', { bot_id: bot.id, name: 'Two processes' })).body
    llm.replyWith({ text: 'Hello from the model' })
    assert.equal((await call('POST', `/chats/${chat.id}/threads/t-across/stream`, { messages: [{ role: 'user', content: 'hi' }] })).status, 200)

    const opened = await SseClient.open(`${reader.publicUrl}/threads/events`, { authorization: `Bearer ${KEY}` })
    assert.equal(opened.status, 200)
    const stream = opened.client!
    try {
      await stream.waitFor((c) => c.frames.length > 0, 'the first frame')
      assert.equal((await call('POST', `/chats/${chat.id}/threads/t-across/mode`, { mode: 'manual' })).status, 200)
      assert.equal((await call('POST', `/chats/${chat.id}/threads/t-across/stream`, { messages: [{ role: 'user', content: 'via the writer' }] })).status, 202)
      await stream.waitForMessage('via the writer', 30_000)
      await stream.waitFor((c) => c.events.some((e) => e.event.type === 'pending_count'), 'pending_count', 30_000)
      assert.deepEqual(stream.events.map((e) => e.event.type), ['mode_changed', 'message_created', 'pending_count'])
      assert.ok(stream.events.every((e) => e.event.thread_id === 't-across' && e.event.chat_id === chat.id))

      // The reader's other stream kind, resumed across processes: the writer's process serves the backlog.
      const resumed = await SseClient.open(`${writer.publicUrl}/threads/events/t-across`, { authorization: `Bearer ${KEY}`, 'last-event-id': stream.frames[0]!.id! })
      assert.equal(resumed.status, 200)
      await resumed.client!.waitFor((c) => c.events.length === 3, 'the three events again', 30_000)
      assert.deepEqual(resumed.client!.events.map((e) => e.seq), stream.events.map((e) => e.seq))
      resumed.client!.close()

      // A key deleted through one process ends its streams on the other within a second, and the other
      // refuses it from then on, though it had it cached (the revocation's NOTIFY).
      const projectId = (await call('GET', '/projects')).body[0].id
      const second = (await call('POST', `/projects/${projectId}/api-keys`, { name: 'dashboard' })).body
      const doomed = await SseClient.open(`${reader.publicUrl}/threads/events`, { authorization: `Bearer ${second.key}` })
      assert.equal(doomed.status, 200)
      await doomed.client!.waitFor((c) => c.frames.length > 0, 'the first frame')
      // The reader has verified the key and keeps it in memory (for 10 s without news).
      const onReader = async () => (await fetch(`${reader.publicUrl}/bots`, { headers: { authorization: `Bearer ${second.key}` } })).status
      assert.equal(await onReader(), 200)
      const deletedAt = Date.now()
      assert.equal((await call('DELETE', `/projects/${projectId}/api-keys/${second.id}`)).status, 200)
      await doomed.client!.waitFor((c) => c.ended, 'the stream on the other process to end', 1000)
      console.log(`# a deleted key's stream on another process ended ${Date.now() - deletedAt} ms after the deletion`)
      // The notification that ended the stream dropped the key from the reader's cache first: refused at once.
      assert.equal(await onReader(), 401)
      assert.equal(stream.ended, false, "the other key's stream goes on")
    } finally {
      stream.close()
    }
  },
)

it('on SIGTERM a real server ends its event streams instead of waiting out the drain timeout', { timeout: 90_000 }, async () => {
  const dir = await migratedDataDir('worken-events')
  const key = `sk-${'e7e7e7'.repeat(8)}`
  // A drain timeout far beyond the test's: only ending the streams lets the process exit in time.
  const server = await startServerProcess({ WORKEN_DATA_DIR: dir, WORKEN_BOOTSTRAP_API_KEY: key, WORKEN_SHUTDOWN_TIMEOUT_MS: '600000' })
  try {
    const opened = await SseClient.open(`${server.publicUrl}/threads/events`, { authorization: `Bearer ${key}` })
    assert.equal(opened.status, 200)
    const stream = opened.client!
    await stream.waitFor((c) => c.frames.length > 0, 'the first frame')
    assert.equal(await server.stop('SIGTERM'), 0)
    await stream.waitFor((c) => c.closed, 'the stream to close')
    assert.equal(stream.ended, true, 'ended cleanly, not cut')
  } finally {
    await server.stop('SIGKILL')
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
