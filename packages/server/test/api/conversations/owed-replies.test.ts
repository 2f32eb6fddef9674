import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, asc, eq, sql } from 'drizzle-orm'
import { events, owedReplies } from '../../../src/schema.ts'
import { answerOwedReply } from '../../../src/modules/conversations/scheduled-reply.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

/**
 * The guarantees of owed replies (docs/conversations.md, "Owed replies"), in one process:
 * what a crash leaves behind is simulated by the rows it would leave. The kill -9 test
 * (test/e2e/replies-crash.test.ts) shows the same with real processes.
 */
let llm: LlmServer
let ctx: TestContext
let api: Call
let projectId: string

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0 } })
  const seeded = await ctx.seed()
  projectId = seeded.projectId
  api = ctx.asKey(seeded.key)
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

async function newChat(): Promise<string> {
  const bot = (await api('POST', '/bots', { name: 'Owing' })).body
  assert.equal((await api('POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
  return (await api('POST', '/chats', { bot_id: bot.id, name: `Owing ${bot.id}` })).body.id
}

const send = (chatId: string, threadId: string, content: string) =>
  api('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content }] })

const owedOf = (threadId: string) => ctx.services.owedReplies.ofThread(projectId, threadId)
const rolesOf = async (chatId: string, threadId: string) => ((await api('GET', `/chats/${chatId}/threads/${threadId}/messages`)).body as any[]).map((m) => m.role)
const eventsOf = async (threadId: string, type: string) =>
  ctx.database.db.select().from(events).where(and(eq(events.threadId, threadId), eq(events.type, type))).orderBy(asc(events.seq))

/** What a process killed mid-turn leaves: its owed reply, with a lease that has lapsed. */
async function lapse(threadId: string): Promise<void> {
  await ctx.database.db.update(owedReplies).set({ leaseUntil: sql`now() - interval '1 second'` }).where(and(eq(owedReplies.projectId, projectId), eq(owedReplies.threadId, threadId)))
}

async function claimAndAnswer(threadId: string): Promise<number> {
  const claimed = (await ctx.services.owedReplies.claimDue({ limit: 100 })).filter((row) => row.threadId === threadId)
  for (const row of claimed) await answerOwedReply(ctx.services, silentLogger, row)
  return claimed.length
}

describe('owed replies', () => {
  it('are recorded with the user message, held while the model runs, and paid with the reply', async () => {
    const chatId = await newChat()
    llm.replyWith({ text: 'Hi!', delayMs: 400 })
    const sending = send(chatId, 't-owed', 'hello')
    let during: Awaited<ReturnType<typeof owedOf>> = []
    for (let i = 0; i < 100 && during.length === 0; i++) {
      during = await owedOf('t-owed')
      if (during.length === 0) await sleep(10)
    }
    assert.equal(during.length, 1)
    assert.equal(during[0]!.newMessages, 1)
    assert.ok(during[0]!.leaseOwner, 'held by the process answering')
    assert.ok(during[0]!.leaseUntil! > new Date())
    // A lease held by a live process is not claimed by a sweep.
    assert.deepEqual((await ctx.services.owedReplies.claimDue({ limit: 100 })).filter((row) => row.threadId === 't-owed'), [])
    assert.equal((await sending).status, 200)
    assert.deepEqual(await owedOf('t-owed'), [])
    assert.deepEqual(await rolesOf(chatId, 't-owed'), ['user', 'assistant'])
  })

  it('a message stored for an operator (manual) or nobody (blocked) owes nothing', async () => {
    const chatId = await newChat()
    llm.replyWith({ text: 'Hi!' })
    await send(chatId, 't-manual', 'hello')
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-manual/mode`, { mode: 'manual' })).status, 200)
    assert.equal((await send(chatId, 't-manual', 'anyone?')).status, 202)
    assert.deepEqual(await owedOf('t-manual'), [])
  })

  it('a reply whose process lost its lease is not stored; the one who took it over answers once', async () => {
    const chatId = await newChat()
    llm.queueReplies({ text: 'from the first process', delayMs: 500 })
    const sending = send(chatId, 't-lost', 'hello')
    for (let i = 0; i < 100 && (await owedOf('t-lost')).length === 0; i++) await sleep(10)
    // Another process found the lease lapsed (this one stalled) and claimed it.
    await lapse('t-lost')
    const [taken] = (await ctx.services.owedReplies.claimDue({ limit: 100 })).filter((row) => row.threadId === 't-lost')
    assert.ok(taken)
    const first = await sending
    const parts = first.text.split('\n\n').filter((frame) => frame.startsWith('data: {')).map((frame) => JSON.parse(frame.slice(6)))
    assert.equal(parts.at(-1).type, 'error')
    assert.match(parts.at(-1).error, /taken over by another process/)
    assert.deepEqual(await rolesOf(chatId, 't-lost'), ['user'], 'the first process stored nothing')
    llm.replyWith({ text: 'from the second process' })
    await answerOwedReply(ctx.services, silentLogger, taken)
    const messages = (await api('GET', `/chats/${chatId}/threads/t-lost/messages`)).body as any[]
    assert.deepEqual(messages.map((m) => m.content), ['hello', 'from the second process'])
    assert.deepEqual(await owedOf('t-lost'), [])
    // Nothing left to claim: a later sweep answers nothing more.
    assert.equal(await claimAndAnswer('t-lost'), 0)
  })

  it('a take-over at start (PGlite) claims the leases of a process that is gone, never a live one of this process', async () => {
    // The start's sweep runs after the job queue has started: a scheduled reply's job may hold the lease already.
    const chatId = await newChat()
    llm.replyWith({ text: 'Hi!', delayMs: 400 })
    const sending = send(chatId, 't-ours', 'hello')
    let held: Awaited<ReturnType<typeof owedOf>> = []
    for (let i = 0; i < 100 && held.length === 0; i++) {
      held = await owedOf('t-ours')
      if (held.length === 0) await sleep(10)
    }
    assert.equal(held.length, 1)
    const takeOver = async () => (await ctx.services.owedReplies.claimDue({ limit: 100, takeOver: true })).filter((row) => row.threadId === 't-ours')
    assert.deepEqual(await takeOver(), [], 'this process answers it: not taken from itself')
    // The same live lease, as a process that died before this start left it.
    await ctx.database.db.update(owedReplies).set({ leaseOwner: 'deadbeef0000:1' }).where(eq(owedReplies.id, held[0]!.id))
    assert.equal((await takeOver()).length, 1, 'a dead process\'s lease is taken at once')
    assert.equal((await sending).status, 200)
    assert.deepEqual(await rolesOf(chatId, 't-ours'), ['user'], 'the first answer lost its lease and stored nothing')
  })

  it('after a crash: answered on the next claim, with the history ending at the messages it owes', async () => {
    const chatId = await newChat()
    llm.replyWith({ text: 'first answer' })
    await send(chatId, 't-crash', 'one')
    // The second turn's process "dies" with the model call under way: the message and its debt are stored.
    llm.replyWith({ text: 'lost', delayMs: 60_000 })
    void send(chatId, 't-crash', 'two').catch(() => {})
    for (let i = 0; i < 200 && (await rolesOf(chatId, 't-crash')).length < 3; i++) await sleep(10)
    await lapse('t-crash')
    llm.replyWith({ text: 'second answer' })
    // The hung call of the "dead" process is still open here; the claim makes its result worthless.
    assert.equal(await claimAndAnswer('t-crash'), 1)
    const messages = (await api('GET', `/chats/${chatId}/threads/t-crash/messages`)).body as any[]
    assert.deepEqual(messages.map((m) => m.content), ['one', 'first answer', 'two', 'second answer'])
    const history = llm.lastChatRequest().messages.filter((m) => m.role !== 'system').map((m) => m.content)
    assert.deepEqual(history, ['one', 'first answer', 'two'])
  })

  it('a recovered reply that keeps failing is retried, then given up with a thread.reply.failed event', async () => {
    const chatId = await newChat()
    llm.replyWith({ text: 'lost', delayMs: 60_000 })
    void send(chatId, 't-failing', 'hello').catch(() => {})
    for (let i = 0; i < 200 && (await owedOf('t-failing')).length === 0; i++) await sleep(10)
    await lapse('t-failing')
    llm.replyWith({ error: { status: 500, message: 'model down' } })
    for (let attempt = 2; attempt <= ctx.services.owedReplies.maxAttempts; attempt++) {
      assert.equal(await claimAndAnswer('t-failing'), 1)
      const [row] = await owedOf('t-failing')
      if (attempt < ctx.services.owedReplies.maxAttempts) {
        assert.ok(row, `released for another attempt after attempt ${attempt}`)
        assert.equal(row.leaseOwner, null)
        assert.ok(row.dueAt > new Date(), 'after a backoff')
        await ctx.database.db.update(owedReplies).set({ dueAt: sql`now()` }).where(eq(owedReplies.id, row.id))
      } else {
        assert.equal(row, undefined, 'given up')
      }
    }
    const failed = await eventsOf('t-failing', 'thread.reply.failed')
    assert.equal(failed.length, 1)
    assert.equal((failed[0]!.data as any).attempts, ctx.services.owedReplies.maxAttempts)
    assert.match((failed[0]!.data as any).error, /.+/)
    assert.deepEqual(await rolesOf(chatId, 't-failing'), ['user'])
  })

  it('a live reply that fails is given up at once (its client saw the error), with the event', async () => {
    const chatId = await newChat()
    llm.replyWith({ error: { status: 500, message: 'model down' } })
    const response = await send(chatId, 't-live-fail', 'hello')
    assert.match(response.text, /"type":"error"/)
    assert.deepEqual(await owedOf('t-live-fail'), [])
    assert.equal((await eventsOf('t-live-fail', 'thread.reply.failed')).length, 1)
  })

  it('a thread taken over by an operator before the claim owes nothing any more: dropped, no reply, no failure', async () => {
    const chatId = await newChat()
    llm.replyWith({ text: 'lost', delayMs: 60_000 })
    void send(chatId, 't-takeover', 'hello').catch(() => {})
    for (let i = 0; i < 200 && (await owedOf('t-takeover')).length === 0; i++) await sleep(10)
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-takeover/mode`, { mode: 'manual' })).status, 200)
    await lapse('t-takeover')
    assert.equal(await claimAndAnswer('t-takeover'), 1)
    assert.deepEqual(await owedOf('t-takeover'), [])
    assert.deepEqual(await rolesOf(chatId, 't-takeover'), ['user'])
    assert.equal((await eventsOf('t-takeover', 'thread.reply.failed')).length, 0)
  })

  it('are deleted with their thread', async () => {
    const chatId = await newChat()
    llm.replyWith({ text: 'lost', delayMs: 60_000 })
    void send(chatId, 't-gone', 'hello').catch(() => {})
    for (let i = 0; i < 200 && (await owedOf('t-gone')).length === 0; i++) await sleep(10)
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-gone/delete`)).status, 200)
    assert.deepEqual(await owedOf('t-gone'), [])
  })
})
