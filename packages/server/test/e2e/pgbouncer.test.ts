import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { SseClient } from '../support/events-client.ts'
import { createScratchDatabase, dropScratchDatabase } from '../support/harness.ts'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { pgbouncerBinary, startPgbouncer, type Pgbouncer } from '../support/pgbouncer.ts'
import { keyCaller, startServerProcess, type ServerProcess } from '../support/process.ts'

// The server through PgBouncer in transaction pooling mode (docs/scaling.md, "Through PgBouncer"):
// DATABASE_URL is the pooler, DATABASE_DIRECT_URL the database itself for what needs a session.

const serverUrl = process.env.TEST_DATABASE_URL
const skip = !serverUrl
  ? 'needs TEST_DATABASE_URL: PgBouncer pools a PostgreSQL server'
  : !pgbouncerBinary()
    ? 'pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run does it)'
    : false
const KEY = `sk-${'b0b0'.repeat(8)}`
let llm: LlmServer
let pooler: Pgbouncer
let direct: string
let server: ServerProcess | undefined

before(async () => {
  if (skip) return
  llm = await startLlmServer()
  pooler = await startPgbouncer(serverUrl!, { poolSize: 4 })
  // Empty: the first start's migrations (a session's advisory lock) run through DATABASE_DIRECT_URL.
  direct = await createScratchDatabase(serverUrl!)
})
after(async () => {
  if (skip) return
  await server?.stop('SIGKILL')
  await llm.close()
  await pooler.stop()
  await dropScratchDatabase(serverUrl!, direct)
})

it('a conversation through PgBouncer in transaction mode: two processes, replies streamed, events delivered, jobs run', { skip, timeout: 180_000 }, async () => {
  server = await startServerProcess({
    DATABASE_URL: pooler.urlFor(direct),
    DATABASE_DIRECT_URL: direct,
    WORKEN_PROCESSES: '2',
    DATABASE_POOL_SIZE: '4',
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    // Only a notification on the direct LISTEN connection can bring the events in time.
    WORKEN_EVENTS_POLL_MS: '600000',
  })
  const base = server.publicUrl
  const call = keyCaller(KEY)
  const bot = (await call(base, 'POST', '/bots', { name: 'Pooled' })).body
  const chat = (await call(base, 'POST', '/chats', { bot_id: bot.id, name: 'Through the pooler' })).body
  assert.ok(chat.id, JSON.stringify(chat))

  // Many requests at once: the pool's statements land on whichever server session PgBouncer has
  // free, so one prepared under a name on another session would fail here ("… does not exist").
  const listed = await Promise.all(Array.from({ length: 40 }, () => call(base, 'GET', '/bots')))
  assert.deepEqual(listed.map((answer) => answer.status), listed.map(() => 200))

  const opened = await SseClient.open(`${base}/threads/events`, { authorization: `Bearer ${KEY}` })
  assert.equal(opened.status, 200)
  const events = opened.client!
  try {
    await events.waitFor((c) => c.frames.length > 0, 'the first frame')
    llm.replyWith({ text: 'Pooled answer' })
    const threads = Array.from({ length: 6 }, (_, i) => `pooled-${i}`)
    const streams = await Promise.all(threads.map(async (threadId) => {
      const response = await fetch(`${base}/chats/${chat.id}/threads/${threadId}/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: `hello ${threadId}` }] }),
      })
      return { status: response.status, text: await response.text() }
    }))
    for (const stream of streams) {
      assert.equal(stream.status, 200)
      assert.match(stream.text, /Pooled/)
      assert.doesNotMatch(stream.text, /"type":"error"/)
    }
    for (const threadId of threads) {
      const messages = (await call(base, 'GET', `/chats/${chat.id}/threads/${threadId}/messages`)).body
      assert.deepEqual(messages.map((message: { role: string; content: string }) => [message.role, message.content]), [['user', `hello ${threadId}`], ['assistant', 'Pooled answer']])
      await events.waitForMessage(`hello ${threadId}`, 30_000)
      await events.waitForMessage('Pooled answer', 30_000)
    }
    // A pg-boss job (the title, after the first reply) runs, and its event arrives too.
    await events.waitFor((c) => threads.every((threadId) => c.events.some((e) => e.event.type === 'title_changed' && e.event.thread_id === threadId)), 'every thread titled', 60_000)
  } finally {
    events.close()
  }

  // Nothing failed on the way: no 5xx, no query error, no lost LISTEN in the job queue.
  const logs = server.logs()
  assert.deepEqual(logs.filter((line) => line.msg === 'request' && line.status >= 500), [])
  assert.deepEqual(logs.filter((line) => line.level >= 50).map((line) => line.msg), [])
  assert.equal(await server.stop('SIGTERM'), 0)
  server = undefined
})
