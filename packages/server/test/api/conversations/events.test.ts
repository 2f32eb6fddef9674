import assert from 'node:assert/strict'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, afterEach, before, describe, it } from 'node:test'
import { serve } from '@hono/node-server'
import { and, asc, eq, gt, like } from 'drizzle-orm'
import { EventSource } from 'eventsource'
import pino from 'pino'
import { createApp, type App } from '../../../src/app.ts'
import { events, memberships } from '../../../src/schema.ts'
import { EventHub } from '../../../src/platform/events/hub.ts'
import { OpenStreams } from '../../../src/platform/events/open-streams.ts'
import type { Services } from '../../../src/services.ts'
import { SseClient } from '../../support/events-client.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext
let baseUrl: string
const servers: http.Server[] = []
const clients: SseClient[] = []

type Project = Seeded & { api: Call; auth: Record<string, string> }

/** Serves an app over real HTTP on a free port, as @hono/node-server does in production. */
async function listen(app: App): Promise<string> {
  const server = await new Promise<http.Server>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as http.Server)) as http.Server
  })
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function appWith(overrides: Partial<Services>, logger = silentLogger): App {
  return createApp({ kind: 'public', services: { ...ctx.services, ...overrides }, logger })
}

before(async () => {
  llm = await startLlmServer()
  // A short safety poll, so that the lost-notification test does not wait long.
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, eventsPollMs: 300 } })
  baseUrl = await listen(ctx.publicApp)
})
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  llm.reset()
})
after(async () => {
  await ctx.services.events.stop()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
  await ctx.close()
  await llm.close()
})

async function project(): Promise<Project> {
  const seeded = await ctx.seed()
  return { ...seeded, api: ctx.asKey(seeded.key), auth: { authorization: `Bearer ${seeded.key}` } }
}

async function open(route: string, headers: Record<string, string>, options: { base?: string; paused?: boolean } = {}): Promise<SseClient> {
  const opened = await SseClient.open((options.base ?? baseUrl) + route, headers, options)
  assert.equal(opened.status, 200, JSON.stringify(opened.body))
  clients.push(opened.client!)
  // The headers come once the stream is subscribed; a client that reads also waits for the first frame.
  if (!options.paused) await opened.client!.waitFor((client) => client.frames.length > 0, 'the first frame')
  return opened.client!
}

/** A bot, an API chat and a thread with one exchange (the local LLM answers); then the thread is put in `mode`. */
async function newThread(p: Project, threadId: string, mode?: 'blocked' | 'manual', settings?: unknown): Promise<string> {
  const bot = (await p.api('POST', '/bots', { name: 'Assistant' })).body
  if (settings) assert.equal((await p.api('POST', `/bots/${bot.id}/settings`, settings)).status, 200)
  const chat = (await p.api('POST', '/chats', { bot_id: bot.id, name: 'Website' })).body
  llm.replyWith({ text: 'Hello!' })
  const first = await p.api('POST', `/chats/${chat.id}/threads/${threadId}/stream`, { messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(first.status, 200, first.text)
  if (mode) assert.equal((await p.api('POST', `/chats/${chat.id}/threads/${threadId}/mode`, { mode })).status, 200)
  return chat.id
}

/** Stores user messages in a thread that is not in auto mode: no model call, only events. */
async function say(p: Project, chatId: string, threadId: string, ...texts: string[]): Promise<void> {
  const response = await p.api('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: texts.map((content) => ({ role: 'user', content })) })
  assert.equal(response.status, 202, response.text)
}

/** The seqs of the project's thread events after `afterSeq`, from the outbox itself. */
async function outboxSeqs(projectId: string, afterSeq: number, threadId?: string): Promise<number[]> {
  const conditions = [eq(events.projectId, projectId), gt(events.seq, afterSeq), like(events.type, 'thread.%')]
  if (threadId) conditions.push(eq(events.threadId, threadId))
  const rows = await ctx.database.db.select({ seq: events.seq }).from(events).where(and(...conditions)).orderBy(asc(events.seq))
  return rows.map((row) => row.seq)
}

/** Polls `check` until it gives a value (5 s at most). */
async function until<T>(check: () => Promise<T | null>, what: string): Promise<T> {
  const deadline = Date.now() + 5000
  for (;;) {
    const value = await check()
    if (value !== null) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const seqsOf = (...lists: SseClient[]) => lists.flatMap((client) => client.events.map((e) => e.seq))
const startOf = (client: SseClient) => Number(client.frames[0]!.id)

describe('live events', () => {
  it("delivers every type, each frame exactly `id:` + `data:` with the spec's ThreadEvent", async () => {
    const p = await project()
    const stream = await open('/threads/events', p.auth)
    assert.match(stream.frames[0]!.text, /^retry: \d+\nid: \d+\n\n$/)

    const chatId = await newThread(p, 't-live', 'manual')
    await say(p, chatId, 't-live', 'anyone there?')
    const toolBot = { ai: { tools: { handoff_to_operator: 'operator_approve' } } }
    llm.replyWith((turn) => (turn.endsWithToolResult ? { text: 'Fine.' } : { toolCalls: [{ name: 'handoff_to_operator', arguments: { reason: 'refund' } }] }))
    const bot = (await p.api('POST', '/bots', { name: 'Careful' })).body
    await p.api('POST', `/bots/${bot.id}/settings`, toolBot)
    const toolChat = (await p.api('POST', '/chats', { bot_id: bot.id, name: 'Tools' })).body
    const turn = await p.api('POST', `/chats/${toolChat.id}/threads/t-approval/stream`, { messages: [{ role: 'user', content: 'refund please' }] })
    const approvalId = turn.text.split('\n\n').map((f) => (f.startsWith('data: {') ? JSON.parse(f.slice(6)) : null)).find((f) => f?.type === 'tool-approval-request')!.approvalId
    assert.equal((await p.api('POST', `/threads/t-approval/approvals/${approvalId}`, { approved: false })).status, 200)
    assert.equal((await p.api('POST', `/chats/${chatId}/threads/t-live/delete`)).status, 200)

    await stream.waitFor((c) => c.events.some((e) => e.event.type === 'thread_deleted'), 'thread_deleted')
    const live = stream.events.filter((e) => e.event.thread_id === 't-live').map((e) => e.event)
    assert.deepEqual(live.map((e) => e.type), ['thread_created', 'message_created', 'message_created', 'mode_changed', 'message_created', 'pending_count', 'thread_deleted'])
    assert.equal(live[0].thread.id, 't-live')
    assert.deepEqual(live.filter((e) => e.type === 'message_created').map((e) => [e.message.role, e.message.content]), [['user', 'hi'], ['assistant', 'Hello!'], ['user', 'anyone there?']])
    assert.equal(live[3].mode, 'manual')
    assert.equal(live[3].previous_mode, 'auto')
    assert.equal(live[5].pending_count, 1)

    const approval = stream.events.filter((e) => e.event.thread_id === 't-approval').map((e) => e.event)
    const requested = approval.find((e) => e.type === 'approval_requested')
    assert.deepEqual([requested.approval_id, requested.tool_name, requested.policy], [approvalId, 'handoff_to_operator', 'operator_approve'])
    const decided = approval.find((e) => e.type === 'approval_decided')
    assert.deepEqual([decided.approval_id, decided.status, decided.decided_by], [approvalId, 'denied', p.keyId])

    // Byte for byte: the spec's fields first, then ours; no `event:` line, so onmessage gets it.
    const pending = stream.events.find((e) => e.event.type === 'pending_count')!
    const [row] = await ctx.database.db.select().from(events).where(eq(events.seq, pending.seq))
    const frame = stream.frames.find((f) => f.id === String(pending.seq))!
    assert.equal(frame.text, `id: ${row!.seq}\ndata: {"thread_id":"t-live","type":"pending_count","pending_count":1,"chat_id":"${chatId}","event_id":"${row!.id}","created_at":"${row!.createdAt.toISOString()}"}\n\n`)
    for (const { event } of stream.events) {
      assert.match(event.event_id, /^evt_/)
      assert.ok(event.chat_id && !Number.isNaN(Date.parse(event.created_at)), JSON.stringify(event))
    }
    assert.deepEqual(seqsOf(stream), await outboxSeqs(p.projectId, startOf(stream)))
  })

  it("the per-thread stream carries only that thread; an unknown thread or another project's is 404", async () => {
    const p = await project()
    const chatId = await newThread(p, 't-mine', 'blocked')
    await newThread(p, 't-other', 'blocked')
    const stream = await open('/threads/events/t-mine', p.auth)
    await say(p, chatId, 't-mine', 'one')
    const otherChat = (await p.api('GET', '/chats')).body.at(-1).id
    await say(p, otherChat, 't-other', 'elsewhere')
    await say(p, chatId, 't-mine', 'two')
    await stream.waitForMessage('two')
    assert.deepEqual(stream.events.map((e) => e.event.thread_id), ['t-mine', 't-mine'])
    assert.deepEqual(seqsOf(stream), await outboxSeqs(p.projectId, startOf(stream), 't-mine'))

    const stranger = await project()
    for (const route of ['/threads/events/t-mine', '/threads/events/nope']) {
      const refused = await SseClient.open(baseUrl + route, stranger.auth)
      assert.equal(refused.status, 404)
      assert.equal(refused.body.error, 'Not Found')
      assert.match(refused.body.message, /Thread '(t-mine|nope)' not found/)
    }
    // Ids that cannot name a thread are 404 too, before any query.
    for (const route of [`/threads/events/${'x'.repeat(129)}`, '/threads/events/a%20b', '/threads/events/%00']) {
      const refused = await SseClient.open(baseUrl + route, p.auth)
      assert.equal(refused.status, 404, route)
      assert.equal(refused.body.error, 'Not Found')
    }
    assert.equal((await SseClient.open(`${baseUrl}/threads/events`, {})).status, 401)
  })

  it("a subscriber never sees another project's events", async () => {
    const [a, b] = [await project(), await project()]
    const chatA = await newThread(a, 't-shared-name', 'blocked')
    const chatB = await newThread(b, 't-shared-name', 'blocked')
    const streamA = await open('/threads/events', a.auth)
    const streamB = await open('/threads/events', b.auth)
    await say(b, chatB, 't-shared-name', 'for b only')
    await say(a, chatA, 't-shared-name', 'for a only')
    await say(b, chatB, 't-shared-name', 'b done')
    await Promise.all([streamA.waitForMessage('for a only'), streamB.waitForMessage('b done')])
    assert.ok(streamA.events.every((e) => e.event.chat_id === chatA))
    assert.ok(streamB.events.every((e) => e.event.chat_id === chatB))
    assert.deepEqual(seqsOf(streamA), await outboxSeqs(a.projectId, startOf(streamA)))
  })

  it('an event whose notification was lost still arrives, through the safety poll', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-quiet', 'blocked')
    const stream = await open('/threads/events', p.auth)
    // Written as producers do, but never announced: only the poll can find it.
    await ctx.database.db.transaction((tx) => ctx.services.outbox.append(tx, p.projectId, [{ type: 'thread.title.changed', chatId, threadId: 't-quiet', data: { title: 'Quiet thread' } }]))
    await stream.waitFor((c) => c.events.some((e) => e.event.type === 'title_changed'), 'title_changed')
    const { event } = stream.events[0]!
    assert.deepEqual([event.thread_id, event.type, event.title, event.chat_id], ['t-quiet', 'title_changed', 'Quiet thread', chatId])
  })

  it('sends ": keepalive" comments while nothing happens', async () => {
    const p = await project()
    const base = await listen(appWith({ streamKeepaliveMs: 150 }))
    const stream = await open('/threads/events', p.auth, { base })
    await stream.waitFor((c) => c.frames.some((f) => f.comments.includes('keepalive')), 'a keepalive comment')
    assert.ok(stream.frames.slice(1).every((f) => f.text === ': keepalive\n\n'))
  })
})

describe('resuming with Last-Event-ID', () => {
  it('gets everything written while disconnected and while reconnecting, in order, once', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-resume', 'manual')
    const first = await open('/threads/events', p.auth)
    await say(p, chatId, 't-resume', 'before 1', 'before 2')
    await first.waitForMessage('before 2')
    first.close()
    for (let i = 0; i < 3; i++) await say(p, chatId, 't-resume', `while away ${i}`)
    // Writes racing with the reconnection: some commit before its backlog read, some during, some after.
    const racing = (async () => {
      for (let i = 0; i < 8; i++) await say(p, chatId, 't-resume', `racing ${i}`)
    })()
    const second = await open('/threads/events', { ...p.auth, 'last-event-id': first.lastEventId! })
    await racing
    await say(p, chatId, 't-resume', 'the end')
    await second.waitForMessage('the end')
    const received = seqsOf(first, second)
    assert.equal(new Set(received).size, received.length, 'no duplicates')
    assert.deepEqual(received, await outboxSeqs(p.projectId, startOf(first)))
    assert.equal(second.frames[0]!.id, first.lastEventId, 'the second stream starts where the first stopped')
  })

  it('live events that commit while the backlog is being read are sent once, after it', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-gate', 'blocked')
    // The stream's backlog reads wait at a gate; the hub's own reads (live delivery) do not.
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let backlogReads = 0
    const hub = ctx.services.events
    const gatedHub = new Proxy(hub, {
      get(target, property) {
        if (property === 'read') {
          return async (...args: Parameters<EventHub['read']>) => {
            backlogReads++
            await gate
            return target.read(...args)
          }
        }
        const value = Reflect.get(target, property)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const base = await listen(appWith({ events: gatedHub }))
    const first = await open('/threads/events', p.auth)
    await say(p, chatId, 't-gate', 'seen')
    await first.waitForMessage('seen')
    first.close()
    await say(p, chatId, 't-gate', 'missed')
    const resumed = await open('/threads/events', { ...p.auth, 'last-event-id': first.lastEventId! }, { base })
    assert.equal(backlogReads, 1, 'the backlog read is waiting')
    // Committed and delivered live (a plain subscriber shows it) while the backlog read waits.
    const witness = await open('/threads/events', p.auth)
    await say(p, chatId, 't-gate', 'during 1', 'during 2')
    await witness.waitForMessage('during 2')
    release()
    await say(p, chatId, 't-gate', 'after')
    await resumed.waitForMessage('after')
    assert.deepEqual(resumed.events.map((e) => e.event.message.content), ['missed', 'during 1', 'during 2', 'after'])
    assert.deepEqual(seqsOf(first, resumed), await outboxSeqs(p.projectId, startOf(first)))
  })

  it('resumes from the first frame alone, from ?last_event_id=, and the header wins over the query', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-query', 'blocked')
    const idle = await open('/threads/events', p.auth)
    const start = idle.frames[0]!.id!
    idle.close()
    await say(p, chatId, 't-query', 'missed 1', 'missed 2')
    const byQuery = await open(`/threads/events?last_event_id=${start}`, p.auth)
    await byQuery.waitForMessage('missed 2')
    assert.deepEqual(seqsOf(byQuery), await outboxSeqs(p.projectId, Number(start)))

    // EventSource keeps the URL and sends the header on reconnection: the header is the newer position.
    const both = await open(`/threads/events?last_event_id=${start}`, { ...p.auth, 'last-event-id': byQuery.lastEventId! })
    await say(p, chatId, 't-query', 'after')
    await both.waitForMessage('after')
    assert.deepEqual(both.events.map((e) => e.event.message?.content), ['after'])
  })

  it('resumes a per-thread stream with only that thread, skipping the others', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-a', 'blocked')
    const otherChat = await newThread(p, 't-b', 'blocked')
    const first = await open('/threads/events/t-a', p.auth)
    await say(p, chatId, 't-a', 'a1')
    await first.waitForMessage('a1')
    first.close()
    await say(p, otherChat, 't-b', 'b1')
    await say(p, chatId, 't-a', 'a2')
    const second = await open('/threads/events/t-a', { ...p.auth, 'last-event-id': first.lastEventId! })
    await say(p, chatId, 't-a', 'a3')
    await second.waitForMessage('a3')
    assert.deepEqual(second.events.map((e) => e.event.message.content), ['a2', 'a3'])
    assert.deepEqual(seqsOf(first, second), await outboxSeqs(p.projectId, startOf(first), 't-a'))
  })

  it('refuses a malformed position with 400 in the error shape', async () => {
    const p = await project()
    const cases: Array<[string, Record<string, string>]> = [
      ['/threads/events', { 'last-event-id': 'abc' }],
      ['/threads/events', { 'last-event-id': '-1' }],
      ['/threads/events', { 'last-event-id': '1e3' }],
      ['/threads/events', { 'last-event-id': '99999999999999999999' }],
      ['/threads/events?last_event_id=x', {}],
      ['/threads/events?last_event_id=1.5', {}],
    ]
    for (const [route, headers] of cases) {
      const refused = await SseClient.open(baseUrl + route, { ...p.auth, ...headers })
      assert.equal(refused.status, 400, `${route} ${JSON.stringify(headers)}`)
      assert.equal(refused.body.error, 'Bad Request')
      assert.match(refused.body.message, /Last-Event-ID|last_event_id/)
    }
  })

  it('a position beyond the feed (another database) starts from now instead of waiting for it', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-future', 'blocked')
    const latest = (await outboxSeqs(p.projectId, 0)).at(-1)!
    const stream = await open('/threads/events', { ...p.auth, 'last-event-id': String(latest + 1_000_000) })
    assert.equal(stream.frames[0]!.id, String(latest))
    await say(p, chatId, 't-future', 'now')
    await stream.waitForMessage('now')
  })
})

describe('slow subscribers', () => {
  it('a client that stops reading is cut once it leaves more than the cap unread; a reading one carries on; the cut one resumes', { timeout: 120_000 }, async () => {
    const p = await project()
    const chatId = await newThread(p, 't-flood', 'blocked')
    const logs: any[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) })
    // Below one batch: a reading client goes over it with every batch, and must not be cut for that.
    const cap = 256 * 1024
    const base = await listen(appWith({ eventsMaxBufferBytes: cap }, logger))
    const stalled = await open('/threads/events', p.auth, { base, paused: true })
    const reading = await open('/threads/events', p.auth, { base })
    const start = startOf(reading)

    // ~900 KB per request, the body limit allows; the kernel's socket buffers take several MB first.
    const big = (i: number, j: number) => `${i}.${j} `.padEnd(90_000, 'x')
    const wasCut = () => logs.some((line) => line.msg === 'event stream cut: the client does not read fast enough')
    // Over HTTP like any client, so that the event loop turns between writes as it does in production.
    const post = async (...texts: string[]) => {
      const response = await fetch(`${base}/chats/${chatId}/threads/t-flood/stream`, {
        method: 'POST',
        headers: { ...p.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: texts.map((content) => ({ role: 'user', content })) }),
      })
      assert.equal(response.status, 202, await response.text())
    }
    let batches = 0
    for (; batches < 80 && !wasCut(); batches++) await post(...Array.from({ length: 10 }, (_, j) => big(batches, j)))
    assert.ok(wasCut(), `the stalled client was not cut after ${batches} batches`)
    const cut = logs.find((line) => line.msg === 'event stream cut: the client does not read fast enough')
    assert.ok(cut.queuedBytes > cap)

    await post('after the flood')
    await reading.waitForMessage('after the flood', 60_000)
    assert.equal(reading.aborted, false)
    const all = await outboxSeqs(p.projectId, start)
    assert.deepEqual(seqsOf(reading), all)

    // The stalled client reads what reached it, sees the connection was cut, and resumes from there.
    stalled.resume()
    await stalled.waitFor((c) => c.closed, 'the cut connection to close', 60_000)
    assert.equal(stalled.ended, false, 'cut, not ended cleanly')
    assert.ok(stalled.events.length < all.length)
    const resumed = await open('/threads/events', { ...p.auth, 'last-event-id': stalled.lastEventId ?? String(start) }, { base })
    await resumed.waitForMessage('after the flood', 60_000)
    assert.deepEqual(seqsOf(stalled, resumed), all)
  })
})

describe('the eventsource package', () => {
  it('reads onmessage with an Authorization header, and after a dropped connection resumes with Last-Event-ID', { timeout: 60_000 }, async () => {
    const p = await project()
    const chatId = await newThread(p, 't-es', 'blocked')
    const base = await listen(ctx.publicApp)
    const server = servers.at(-1)!
    const received: Array<{ lastEventId: string; data: any }> = []
    let opened = 0
    const source = new EventSource(`${base}/threads/events`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${p.key}` } }),
    })
    source.onopen = () => void opened++
    source.onmessage = (message) => void received.push({ lastEventId: message.lastEventId, data: JSON.parse(message.data) })
    const until = async (predicate: () => boolean, label: string) => {
      for (let i = 0; i < 600 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
      assert.ok(predicate(), `timed out waiting for ${label}`)
    }
    try {
      await until(() => opened === 1, 'the connection')
      // The first frame has no data: it must not reach onmessage.
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(received.length, 0)
      await say(p, chatId, 't-es', 'first')
      await until(() => received.length === 1, 'the first message')
      assert.equal(received[0]!.data.type, 'message_created')
      assert.equal(received[0]!.data.thread_id, 't-es')

      server.closeAllConnections()
      await say(p, chatId, 't-es', 'while down 1', 'while down 2')
      await until(() => opened === 2, 'the reconnection')
      await say(p, chatId, 't-es', 'back')
      await until(() => received.some((m) => m.data.message?.content === 'back'), 'the message after reconnecting')
      assert.deepEqual(received.map((m) => m.data.message.content), ['first', 'while down 1', 'while down 2', 'back'])
      assert.deepEqual(received.map((m) => Number(m.lastEventId)), await outboxSeqs(p.projectId, Number(received[0]!.lastEventId) - 1))
    } finally {
      source.close()
    }
  })
})

describe('stream lifecycle', () => {
  it('deleting the key ends the streams it opened within a second, without waiting for the periodic re-check', async () => {
    const p = await project()
    const second = (await p.api('POST', `/projects/${p.projectId}/api-keys`, { name: 'dashboard' })).body
    // The default re-check (a minute) is far beyond the test: only the revocation itself can end the streams in time.
    const stream = await open('/threads/events', { authorization: `Bearer ${second.key}` })
    const another = await open('/threads/events', { authorization: `Bearer ${second.key}` })
    const other = await open('/threads/events', p.auth)
    assert.equal(ctx.services.openStreams.count(second.id), 2)
    const deleted = Date.now()
    assert.equal((await p.api('DELETE', `/projects/${p.projectId}/api-keys/${second.id}`)).status, 200)
    await stream.waitFor((c) => c.ended, 'the stream to end', 1000)
    await another.waitFor((c) => c.ended, 'the second stream to end', 1000)
    assert.ok(Date.now() - deleted < 1000)
    assert.equal(other.ended, false)
    assert.equal(ctx.services.openStreams.count(second.id), 0)
  })

  it('a key holds at most the configured number of streams: the next is 429 with Retry-After, a closed one frees its slot', async () => {
    const p = await project()
    const q = await project()
    const base = await listen(appWith({ openStreams: new OpenStreams({ maxPerHolder: 2 }) }))
    const first = await open('/threads/events', p.auth, { base })
    await open('/threads/events', p.auth, { base })
    const refused = await fetch(`${base}/threads/events`, { headers: p.auth })
    assert.equal(refused.status, 429)
    assert.equal(refused.headers.get('retry-after'), '5')
    const body = await refused.json() as { error: string; code: string; message: string }
    assert.equal(body.error, 'Too Many Requests')
    assert.equal(body.code, 'rate_limited')
    assert.match(body.message, /WORKEN_EVENTS_MAX_STREAMS_PER_KEY/)
    // Another key has its own slots.
    await open('/threads/events', q.auth, { base })
    // A token minted by the key counts as the key.
    const { token } = (await p.api('POST', '/threads/events/tokens')).body
    assert.equal((await fetch(`${base}/threads/events?token=${token}`)).status, 429)
    first.close()
    const reopened = await until(async () => {
      const response = await fetch(`${base}/threads/events`, { headers: p.auth })
      if (response.status === 200) return response
      await response.body?.cancel()
      return null
    }, 'a slot to be freed')
    await reopened.body?.cancel()
  })

  it('the internal API streams the same events; removing the membership ends the stream', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-internal', 'blocked')
    const internal = createApp({ kind: 'internal', services: { ...ctx.services, eventsReauthorizeMs: 100 }, logger: silentLogger })
    const base = await listen(internal)
    const member = { 'worken-organization': p.organizationId, 'worken-project': p.projectId, 'worken-user': p.userId }
    const stream = await open('/threads/events/t-internal', member, { base })
    await say(p, chatId, 't-internal', 'seen by the dashboard')
    await stream.waitForMessage('seen by the dashboard')
    await ctx.database.db.delete(memberships).where(and(eq(memberships.userId, p.userId), eq(memberships.organizationId, p.organizationId)))
    await stream.waitFor((c) => c.ended, 'the stream to end')
  })

  it('HEAD answers the headers without subscribing (Hono would drop the body without cancelling it)', async () => {
    const p = await project()
    const hub = new EventHub(ctx.database, silentLogger)
    const base = await listen(appWith({ events: hub }))
    for (const route of ['/threads/events', '/threads/events/t-none']) {
      const response = await fetch(base + route, { method: 'HEAD', headers: p.auth })
      assert.equal(response.status, route.endsWith('t-none') ? 404 : 200)
    }
    const head = await fetch(`${base}/threads/events`, { method: 'HEAD', headers: p.auth })
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/)
    assert.equal(hub.followedProjects, 0)
    await hub.stop()
  })

  it('stopping the hub ends every stream cleanly and refuses new ones with 503', async () => {
    const p = await project()
    const hub = new EventHub(ctx.database, silentLogger)
    const base = await listen(appWith({ events: hub }))
    const stream = await open('/threads/events', p.auth, { base })
    await hub.stop()
    await stream.waitFor((c) => c.ended, 'the stream to end')
    const refused = await SseClient.open(`${base}/threads/events`, p.auth)
    assert.equal(refused.status, 503)
    assert.equal(refused.body.error, 'Service Unavailable')
  })
})
