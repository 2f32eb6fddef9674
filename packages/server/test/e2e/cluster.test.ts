import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { SseClient } from '../support/events-client.ts'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { keyCaller, processDatabase, runFailingStart, startServerProcess, type ServerProcess } from '../support/process.ts'
import { migratedDataDir } from '../support/template.ts'
import { until } from '../support/wait.ts'
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

// WORKEN_PROCESSES (src/cluster.ts, docs/scaling.md): a primary and its workers on one Postgres, as `npm start` runs them.

const serverUrl = process.env.TEST_DATABASE_URL
const onPostgres = serverUrl ? false : 'needs TEST_DATABASE_URL: several processes share one database only on Postgres (on PGlite more than one is refused: the tests above)'
const KEY = `sk-${'c1c1'.repeat(8)}`
const call = keyCaller(KEY)
const cleanups: Array<() => Promise<unknown>> = []
let llm: LlmServer

before(async () => {
  llm = await startLlmServer()
})
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  await llm.close()
})

/** A cluster of `WORKEN_PROCESSES` workers on a scratch copy of the migrated database, stopped after the file. */
async function startCluster(processes: number, extra: Record<string, string> = {}): Promise<{ server: ServerProcess; databaseUrl: string }> {
  const database = await processDatabase('worken-cluster')
  cleanups.push(database.cleanup)
  const server = await startServerProcess({
    ...database.env,
    WORKEN_PROCESSES: String(processes),
    // Each worker holds its own pool, pg-boss's and a LISTEN connection: keep the test's share of the server small.
    DATABASE_POOL_SIZE: '4',
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    // The request lines name the process that answered; whatever level they are logged at.
    LOG_LEVEL: 'debug',
    ...extra,
  })
  cleanups.push(() => server.stop('SIGKILL'))
  return { server, databaseUrl: database.env.DATABASE_URL! }
}

/** The worker pids the primary announced with `listening`. */
function announcedPids(server: ServerProcess): number[] {
  return server.logs().find((line) => line.msg === 'listening')!.pids
}

/**
 * A request on a connection of its own (no keep-alive pool), so the cluster hands it to the next
 * worker in turn; with the pid of the process that answered it, from its request log line.
 */
async function fresh(server: ServerProcess, method: string, route: string, body?: unknown): Promise<{ status: number; body: any; pid: number }> {
  const answer = await new Promise<{ status: number; text: string; requestId: string }>((resolve, reject) => {
    const request = http.request(server.publicUrl + route, { method, agent: false, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode!, text, requestId: String(response.headers['x-request-id']) }))
    })
    request.on('error', reject)
    request.end(body === undefined ? undefined : JSON.stringify(body))
  })
  let parsed: unknown = answer.text
  try {
    parsed = JSON.parse(answer.text)
  } catch {}
  return { status: answer.status, body: parsed, pid: await pidOfRequest(server, answer.requestId) }
}

/** The pid in the request log line of `requestId` (written before the answer, read from the pipe a little later). */
async function pidOfRequest(server: ServerProcess, requestId: string): Promise<number> {
  let pid: number | undefined
  await until(() => (pid = server.logs().find((line) => line.msg === 'request' && line.requestId === requestId)?.pid) !== undefined, `the log line of request ${requestId}`, 10_000)
  return pid!
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('WORKEN_PROCESSES on the embedded database', { concurrency: true }, () => {
  it('more than one process is refused at start: exit 1, and the message says to use Postgres', async () => {
    const dataDir = await migratedDataDir('worken-cluster-pglite')
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }))
    const result = await runFailingStart({ WORKEN_DATA_DIR: dataDir, WORKEN_PROCESSES: '2' })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /WORKEN_PROCESSES: 2 server processes need PostgreSQL \(DATABASE_URL\)/)
    assert.ok(!result.stdout.includes('listening'))
  })

  it('auto is one process there, and says so', async () => {
    const dataDir = await migratedDataDir('worken-cluster-pglite')
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }))
    const server = await startServerProcess({ WORKEN_DATA_DIR: dataDir, WORKEN_PROCESSES: 'auto', WORKEN_BOOTSTRAP_API_KEY: KEY })
    try {
      assert.ok(server.logs().some((line) => line.level === 30 && /WORKEN_PROCESSES=auto on the embedded database: one process/.test(line.msg)))
      assert.equal(server.logs().filter((line) => line.msg === 'worker listening').length, 0)
      assert.equal((await call(server.publicUrl, 'GET', '/bots')).status, 200)
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0)
    }
  })
})

describe('WORKEN_PROCESSES=2 on Postgres', { skip: onPostgres, timeout: 180_000 }, () => {
  it('both workers answer on the shared ports; a killed worker is replaced; SIGTERM drains a reply in flight and exits 0', async () => {
    const { server } = await startCluster(2)
    const first = announcedPids(server)
    assert.equal(new Set(first).size, 2)
    assert.ok(!first.includes(server.child.pid!), 'the primary serves nothing itself')
    assert.deepEqual(server.logs().filter((line) => line.msg === 'worker listening').map((line) => line.pid).sort(), [...first].sort())

    const servedBy = async (count: number) => new Set((await Promise.all(Array.from({ length: count }, () => fresh(server, 'GET', '/bots')))).map((answer) => {
      assert.equal(answer.status, 200)
      return answer.pid
    }))
    assert.deepEqual([...await servedBy(8)].sort(), [...first].sort())
    // The internal listener is shared the same way.
    const internal = await fetch(`${server.internalUrl}/healthz`)
    assert.equal(internal.status, 200)

    // SIGKILL one worker: the primary says so and starts another on the same ports.
    const [victim, survivor] = first as [number, number]
    process.kill(victim, 'SIGKILL')
    await until(() => server.logs().some((line) => line.msg === 'a worker process exited unexpectedly; starting another' && line.pid === victim && line.signal === 'SIGKILL'), 'the primary to see the death')
    let replacement: number | undefined
    await until(() => (replacement = server.logs().find((line) => line.msg === 'worker listening' && !first.includes(line.pid))?.pid) !== undefined, 'a replacement worker')
    await until(async () => (await servedBy(4)).has(replacement!), 'the replacement to take requests')
    assert.deepEqual([...await servedBy(8)].sort(), [survivor, replacement!].sort())

    // A reply under way when SIGTERM comes is finished before the worker exits; then the primary exits 0.
    const bot = (await call(server.publicUrl, 'POST', '/bots', { name: 'Drained' })).body
    await call(server.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const chat = (await call(server.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Drained' })).body
    llm.replyWith({ text: ['Finished', ' after', ' SIGTERM.'], delayMs: 1500 })
    const inFlight = fetch(`${server.publicUrl}/chats/${chat.id}/threads/drain/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'take your time' }] }),
    }).then(async (response) => ({ status: response.status, text: await response.text() }))
    const requests = llm.chatRequests().length
    await until(() => llm.chatRequests().length > requests, 'the model call to start')
    assert.equal(await server.stop('SIGTERM'), 0)
    const drained = await inFlight
    assert.equal(drained.status, 200)
    assert.match(drained.text, /SIGTERM/)
    for (const pid of [survivor, replacement!]) assert.equal(alive(pid), false, `worker ${pid} exited`)
    assert.equal(server.logs().filter((line) => line.msg === 'stopped' && line.worker).length, 2)
    assert.ok(server.logs().some((line) => line.msg === 'stopped' && line.primary))
  })

  it('each due job runs once across the processes: scheduled replies answered once, webhooks delivered once', async () => {
    const receiver: WebhookReceiver = await startReceiver()
    cleanups.push(() => receiver.close())
    // Short leases and polls: both workers' sweepers and pg-boss workers look for the due replies often, side by side.
    const { server, databaseUrl } = await startCluster(2, { WORKEN_REPLY_LEASE_SECONDS: '2', WORKEN_JOB_POLL_SECONDS: '0.5', WORKEN_WEBHOOKS_ALLOW_PRIVATE: 'true', WORKEN_WEBHOOK_POLL_MS: '200' })
    const endpoint = await call(server.publicUrl, 'POST', '/webhook-endpoints', { url: `${receiver.url}/hook`, secret: 'cluster-test-secret-0123456789' })
    assert.equal(endpoint.status, 200)
    const bot = (await call(server.publicUrl, 'POST', '/bots', { name: 'Scheduled' })).body
    await call(server.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const chat = (await call(server.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Scheduled' })).body
    llm.replyWith((turn) => ({ text: `re: ${turn.lastUserText}` }))
    const before = llm.chatRequests().length

    const THREADS = 24
    const scheduledAt = new Date(Date.now() + 3000).toISOString()
    const accepted = await Promise.all(Array.from({ length: THREADS }, (_, i) => fresh(server, 'POST', `/chats/${chat.id}/threads/due-${i}/stream`, { messages: [{ role: 'user', content: `later ${i}` }], scheduledAt })))
    for (const answer of accepted) assert.equal(answer.status, 202, JSON.stringify(answer.body))
    assert.equal(new Set(accepted.map((answer) => answer.pid)).size, 2, 'both workers took some')

    const messagesOf = async (i: number) => (await call(server.publicUrl, 'GET', `/chats/${chat.id}/threads/due-${i}/messages`)).body as Array<{ role: string; content: string }>
    for (let i = 0; i < THREADS; i++) await until(async () => (await messagesOf(i)).some((message) => message.role === 'assistant'), `due-${i} to be answered`)
    // Several sweeps and polls later, still one answer each, and one model call each.
    await sleep(3000)
    for (let i = 0; i < THREADS; i++) assert.deepEqual((await messagesOf(i)).map((message) => [message.role, message.content]), [['user', `later ${i}`], ['assistant', `re: later ${i}`]])
    assert.equal(llm.chatRequests().length - before, THREADS, 'the model was asked once per reply')
    const answeredBy = server.logs().filter((line) => line.msg === 'answering an owed reply').map((line) => line.pid)
    console.log(`# ${THREADS} scheduled replies on 2 workers: answered ${answeredBy.filter((pid) => pid === answeredBy[0]).length} by one, ${answeredBy.filter((pid) => pid !== answeredBy[0]).length} by the other`)

    // Every event the outbox gave the endpoint reached the receiver once: none lost, none twice.
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      await until(async () => (await client.query("select count(*)::int as n from webhook_deliveries where status <> 'succeeded'")).rows[0].n === 0, 'every delivery to succeed')
      const deliveries = (await client.query('select count(*)::int as n from webhook_deliveries')).rows[0].n as number
      assert.ok(deliveries >= THREADS * 2, `${deliveries} deliveries`)
      const ids = receiver.received.map((request) => String(request.headers['webhook-id']))
      assert.equal(ids.length, deliveries)
      assert.equal(new Set(ids).size, ids.length, 'no delivery sent twice')
      console.log(`# ${deliveries} webhook deliveries from 2 workers, each received once`)
    } finally {
      await client.end()
    }
    // A primary killed outright leaves no worker behind (node:cluster ends them as their IPC channel closes).
    const workers = announcedPids(server)
    await server.stop('SIGKILL')
    await until(() => !workers.some(alive), 'the workers of a killed primary to exit', 10_000)
  })

  it('every subscriber gets every event, whichever process it is on and whichever took the writes, in order per thread', async () => {
    const { server } = await startCluster(2, { WORKEN_EVENTS_POLL_MS: '600000' })
    const pids = announcedPids(server)
    const bot = (await call(server.publicUrl, 'POST', '/bots', { name: 'Fan-out' })).body
    await call(server.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const chat = (await call(server.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Fan-out' })).body
    llm.replyWith((turn) => ({ text: `re: ${turn.lastUserText}` }))

    // Subscribers on both workers (each stream is a connection of its own, handed out in turn). An
    // event stream's request line is logged before its answer starts, so the n-th is the n-th opened.
    const subscribers: Array<{ stream: SseClient; pid: number }> = []
    cleanups.push(async () => subscribers.forEach(({ stream }) => stream.close()))
    const streamLines = () => server.logs().filter((line) => line.msg === 'request' && line.path === '/threads/events')
    while (subscribers.length < 4 || new Set(subscribers.map((s) => s.pid)).size < 2) {
      assert.ok(subscribers.length < 12, 'subscribers landed on one worker only')
      const opened = await SseClient.open(`${server.publicUrl}/threads/events`, { authorization: `Bearer ${KEY}` })
      assert.equal(opened.status, 200)
      await until(() => streamLines().length > subscribers.length, 'the event stream\'s request line', 10_000)
      subscribers.push({ stream: opened.client!, pid: streamLines()[subscribers.length]!.pid })
    }
    for (const { stream } of subscribers) await stream.waitFor((c) => c.frames.length > 0, 'the first frame')

    // Five threads at once, four turns each, every request on a connection of its own.
    const THREADS = 5
    const TURNS = 4
    const writers = new Set<number>()
    await Promise.all(Array.from({ length: THREADS }, async (_, t) => {
      for (let turn = 0; turn < TURNS; turn++) {
        const answer = await fresh(server, 'POST', `/chats/${chat.id}/threads/fan-${t}/stream`, { messages: [{ role: 'user', content: `t${t} m${turn}` }] })
        assert.equal(answer.status, 200)
        writers.add(answer.pid)
      }
    }))
    assert.deepEqual([...writers].sort(), [...pids].sort(), 'both workers took writes')

    const expected = (t: number) => Array.from({ length: TURNS }, (_, turn) => [`t${t} m${turn}`, `re: t${t} m${turn}`]).flat()
    const messagesIn = (stream: SseClient, t: number) => stream.events.filter((e) => e.event.type === 'message_created' && e.event.thread_id === `fan-${t}`).map((e) => e.event.message.content)
    for (const { stream, pid } of subscribers) {
      await stream.waitFor((c) => Array.from({ length: THREADS }, (_, t) => messagesIn(c, t).length).every((n) => n === TURNS * 2), `every message on the subscriber of ${pid}`, 30_000)
      for (let t = 0; t < THREADS; t++) assert.deepEqual(messagesIn(stream, t), expected(t), `fan-${t} on the subscriber of ${pid}`)
      const seqs = stream.events.map((e) => e.seq)
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order')
      assert.equal(new Set(seqs).size, seqs.length, 'none twice')
    }
    // The same events, in the same order, for everyone, up to the last message.
    const last = Math.max(...subscribers[0]!.stream.events.filter((e) => e.event.type === 'message_created').map((e) => e.seq))
    const upTo = (stream: SseClient) => stream.events.filter((e) => e.seq <= last).map((e) => `${e.seq} ${e.event.type} ${e.event.thread_id}`)
    for (const { stream } of subscribers.slice(1)) assert.deepEqual(upTo(stream), upTo(subscribers[0]!.stream))
    for (const { stream } of subscribers) stream.close()
    assert.equal(await server.stop('SIGTERM'), 0)
  })
})
