import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { eq } from 'drizzle-orm'
import { events } from '../../../src/schema.ts'
import { createTestContext, openaiAt, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext
let owner: Seeded
let api: Call

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({
    services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0 },
    workers: {},
  })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

async function newChat(settings: unknown): Promise<string> {
  const bot = (await api('POST', '/bots', { name: 'Assistant' })).body
  assert.equal((await api('POST', `/bots/${bot.id}/settings`, settings)).status, 200)
  return (await api('POST', '/chats', { bot_id: bot.id, name: 'Website' })).body.id
}

const send = (chatId: string, threadId: string, content: string, extra: Record<string, unknown> = {}) =>
  api('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content }], ...extra })

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await sleep(100)
    value = await read()
  }
  return value
}

describe('generateTitle', () => {
  it('titles the thread after its first reply, off the hot path, once', async () => {
    const chatId = await newChat({ ai: { memory: { generateTitle: true } } })
    llm.replyWith((turn) => (turn.body.max_tokens === 32 ? { text: 'Return policy question' } : { text: 'We accept returns for 30 days.' }))
    const response = await send(chatId, 't-title', 'What is your return policy?')
    assert.equal(response.status, 200)
    const thread = await waitFor(async () => (await api('GET', `/chats/${chatId}/threads`)).body[0], (t: any) => t.title !== null)
    assert.equal(thread.title, 'Return policy question')
    const titled = await ctx.database.db.select().from(events).where(eq(events.type, 'thread.title.changed'))
    assert.ok(titled.some((event) => event.threadId === 't-title' && (event.data as any).title === 'Return policy question'))
    // A second reply does not retitle.
    llm.replyWith((turn) => (turn.body.max_tokens === 32 ? { text: 'Something else' } : { text: 'Anything else?' }))
    await send(chatId, 't-title', 'thanks')
    await sleep(1500)
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).body[0].title, 'Return policy question')
  })

  it('titles a thread of an offline local/ model by the first words of its user, not by asking the model', async () => {
    const chatId = await newChat({ ai: { model: { id: 'local/echo' }, memory: { generateTitle: true } } })
    const response = await send(chatId, 't-local-title', 'Where is my parcel from last Tuesday, please?')
    assert.equal(response.status, 200)
    const thread = await waitFor(async () => (await api('GET', `/chats/${chatId}/threads`)).body[0], (t: any) => t.title !== null)
    assert.equal(thread.title, 'Where is my parcel from last')
    assert.equal(llm.chatRequests().length, 0)
  })

  it('leaves the title null when generateTitle is off', async () => {
    const chatId = await newChat({ ai: { memory: { generateTitle: false } } })
    llm.replyWith({ text: 'hello' })
    await send(chatId, 't-untitled', 'hi')
    await sleep(1500)
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).body[0].title, null)
    assert.ok(!llm.chatRequests().some((request) => request.max_tokens === 32))
  })
})

describe('semanticRecall', { skip: process.env.TEST_DATABASE_URL ? 'the CI Postgres has no pgvector' : false }, () => {
  it('brings back an old message that the history window dropped', async () => {
    const chatId = await newChat({ ai: { memory: { semanticRecall: true, lastMessages: 2, generateTitle: false } } })
    llm.replyWith((turn) => ({ text: `noted: ${turn.lastUserText.slice(0, 20)}` }))
    await send(chatId, 't-recall', 'My order number is XJ-4410 and it contains a blue kettle')
    for (const filler of ['What are your opening hours?', 'Do you ship to Berlin?', 'Can I pay by card?']) await send(chatId, 't-recall', filler)
    // Embeddings are written after each turn by a job; wait until the old message has one.
    await sleep(2000)
    await send(chatId, 't-recall', 'Where is my blue kettle order XJ-4410?')
    const request = llm.lastChatRequest()
    const system = String(request.messages[0]!.content)
    assert.match(system, /XJ-4410 and it contains a blue kettle/)
    // …with its neighbour (the reply to it), and the window itself still holds only lastMessages.
    assert.match(system, /noted: My order number/)
    assert.equal(request.messages.filter((m) => m.role !== 'system').length, 3)
  })

  it('is off when the setting is off', async () => {
    const chatId = await newChat({ ai: { memory: { semanticRecall: false, lastMessages: 1, generateTitle: false } } })
    llm.replyWith({ text: 'ok' })
    await send(chatId, 't-norecall', 'My order number is XJ-9999')
    await send(chatId, 't-norecall', 'filler one')
    await send(chatId, 't-norecall', 'filler two')
    await sleep(1000)
    await send(chatId, 't-norecall', 'What was my order number XJ-9999?')
    assert.ok(!String(llm.lastChatRequest().messages[0]!.content).includes('Earlier messages'))
  })
})

describe('scheduledAt', () => {
  it('stores the message now and replies when the time comes (202)', async () => {
    const chatId = await newChat({ ai: { memory: { generateTitle: false } } })
    llm.replyWith({ text: 'Good morning!' })
    const at = new Date(Date.now() + 1500).toISOString()
    const response = await send(chatId, 't-later', 'wake me up', { scheduledAt: at })
    assert.equal(response.status, 202)
    assert.equal(response.body.status, 'scheduled')
    assert.equal(response.body.scheduled_at, at)
    const messagesNow = (await api('GET', `/chats/${chatId}/threads/t-later/messages`)).body
    assert.deepEqual(messagesNow.map((m: any) => m.content), ['wake me up'])
    assert.equal(llm.chatRequests().length, 0)
    const later = await waitFor(async () => (await api('GET', `/chats/${chatId}/threads/t-later/messages`)).body, (list: any[]) => list.length === 2)
    assert.deepEqual(later.map((m: any) => m.content), ['wake me up', 'Good morning!'])
  })

  it('does not reply if the thread left auto mode meanwhile', async () => {
    const chatId = await newChat({ ai: { memory: { generateTitle: false } } })
    llm.replyWith({ text: 'too late' })
    await send(chatId, 't-later-manual', 'first', { scheduledAt: new Date(Date.now() + 1200).toISOString() })
    await api('POST', `/chats/${chatId}/threads/t-later-manual/mode`, { mode: 'manual' })
    await sleep(3000)
    assert.equal((await api('GET', `/chats/${chatId}/threads/t-later-manual/messages`)).body.length, 1)
  })
})
