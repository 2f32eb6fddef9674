import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { and, asc, eq, isNotNull } from 'drizzle-orm'
import { events, messages } from '../../../src/schema.ts'
import { ledgerTransactions } from '../../../src/modules/billing/index.ts'
import { CREDITS_EXHAUSTED_REPLY, ingest } from '../../../src/modules/conversations/index.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext

before(async () => {
  llm = await startLlmServer()
  // Prepaid organizations (the default is enterprise, which is never refused) and a threshold the tests can cross.
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 2, webhooksAllowPrivate: true, billing: { defaultTariff: 'free', lowBalanceThreshold: 10 } } })
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

/** 500 input and 500 output tokens at the default `*` price (2 and 6 per 1,000): 4 credits. */
const FOUR_CREDITS = { text: 'Answer.', usage: { promptTokens: 500, completionTokens: 500 } }

async function organization(credits: number): Promise<Seeded & { api: Call; chatId: string }> {
  const seeded = await ctx.seed()
  const api = ctx.asKey(seeded.key)
  if (credits > 0) await ctx.services.ledger.post({ organizationId: seeded.organizationId, type: 'topup', amount: credits, description: 'test', idempotencyKey: 'start' })
  const bot = (await api('POST', '/bots', { name: 'Assistant' })).body
  assert.equal((await api('POST', `/bots/${bot.id}/settings`, { ai: { model: { id: 'openai/gpt-test' } } })).status, 200)
  const chat = await api('POST', '/chats', { bot_id: bot.id, name: 'Website' })
  return { ...seeded, api, chatId: chat.body.id }
}

function send(org: { api: Call; chatId: string }, threadId: string, text = 'Hello') {
  return org.api('POST', `/chats/${org.chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content: text }] })
}

async function eventsOf(projectId: string, type: string) {
  return ctx.database.db.select().from(events).where(and(eq(events.projectId, projectId), eq(events.type, type))).orderBy(asc(events.seq))
}

describe('charging replies', () => {
  it('refuses a new turn without credits with 402 insufficient_credits, not to be retried, before the model is called', async () => {
    const org = await organization(0)
    const response = await send(org, 'broke-1')
    assert.equal(response.status, 402, response.text)
    assert.equal(response.body.code, 'insufficient_credits')
    assert.equal(response.body.error, 'Payment Required')
    assert.equal(response.headers.get('x-should-retry'), 'false')
    assert.equal(llm.chatRequests().length, 0)
    assert.equal((await ctx.database.db.select().from(messages).where(eq(messages.projectId, org.projectId))).length, 0)
  })

  it('does not keep a 402 under an Idempotency-Key: after a top-up the same retry runs', async () => {
    const org = await organization(0)
    const body = { messages: [{ role: 'user', content: 'Hello' }] }
    const path = `/chats/${org.chatId}/threads/idem-1/stream`
    const refused = await org.api('POST', path, body, { 'idempotency-key': 'retry-1' })
    assert.equal(refused.status, 402)
    await ctx.services.ledger.post({ organizationId: org.organizationId, type: 'topup', amount: 10, description: 'test', idempotencyKey: 'topup' })
    llm.replyWith(FOUR_CREDITS)
    const retried = await org.api('POST', path, body, { 'idempotency-key': 'retry-1' })
    assert.equal(retried.status, 200)
    assert.equal(retried.headers.get('idempotent-replayed'), null)
    assert.deepEqual(await ctx.services.ledger.balance(org.organizationId), { credits: 6, bonus: 0 })
  })

  it('charges every reply once, keyed by its message id, at the price table\'s rounded-up price', async () => {
    const org = await organization(100)
    llm.replyWith(FOUR_CREDITS)
    for (const thread of ['a', 'b', 'a']) assert.equal((await send(org, thread)).status, 200)
    const replies = await ctx.database.db.select().from(messages).where(and(eq(messages.projectId, org.projectId), isNotNull(messages.model)))
    const charges = await ctx.database.db.select().from(ledgerTransactions).where(and(eq(ledgerTransactions.organizationId, org.organizationId), eq(ledgerTransactions.type, 'charge')))
    assert.equal(replies.length, 3)
    assert.deepEqual(charges.map((charge) => charge.idempotencyKey).sort(), replies.map((reply) => reply.id).sort())
    assert.deepEqual(charges.map((charge) => charge.amount), [4, 4, 4])
    assert.equal(charges[0]!.actor, 'system')
    assert.deepEqual(await ctx.services.ledger.balance(org.organizationId), { credits: 88, bonus: 0 })
    assert.deepEqual(await ctx.services.ledger.check(org.organizationId), [])
  })

  it('lets a running reply finish below zero, then refuses the next turn', async () => {
    const org = await organization(1)
    // Two turns start while the balance is positive; both finish and both are charged.
    llm.replyWith({ ...FOUR_CREDITS, delayMs: 100 })
    const [first, second] = await Promise.all([send(org, 'r1'), send(org, 'r2')])
    assert.equal(first.status, 200)
    assert.equal(second.status, 200)
    assert.match(first.text, /Answer\./)
    assert.deepEqual(await ctx.services.ledger.balance(org.organizationId), { credits: -7, bonus: 0 })
    const refused = await send(org, 'r1')
    assert.equal(refused.status, 402)
  })

  it('emits billing.balance.low once when the balance falls below the threshold, again only after it rose above', async () => {
    const org = await organization(20)
    const endpoint = await org.api('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', event_types: ['billing.balance.low'] })
    assert.equal(endpoint.status, 200, endpoint.text)
    llm.replyWith(FOUR_CREDITS)
    for (let turn = 0; turn < 4; turn++) assert.equal((await send(org, 'low')).status, 200) // 16, 12, 8 (below 10), 4
    let low = await eventsOf(org.projectId, 'billing.balance.low')
    assert.equal(low.length, 1)
    assert.deepEqual(low[0]!.data, { organization_id: org.organizationId, credits: 8, bonus: 0, threshold: 10 })
    assert.ok(low[0]!.threadId === 'low' && low[0]!.chatId === org.chatId)
    await ctx.services.ledger.post({ organizationId: org.organizationId, type: 'topup', amount: 20, description: 'test', idempotencyKey: 'again' }) // 24
    for (let turn = 0; turn < 4; turn++) assert.equal((await send(org, 'low')).status, 200) // 20, 16, 12, 8 (below 10)
    low = await eventsOf(org.projectId, 'billing.balance.low')
    assert.equal(low.length, 2)
    const deliveries = await ctx.database.db.execute(`select count(*)::int as n from webhook_deliveries where project_id = '${org.projectId}' and event_type = 'billing.balance.low'`)
    assert.equal((deliveries as unknown as { rows: Array<{ n: number }> }).rows[0]!.n, 2)
  })

  it('answers a channel\'s message with the polite fixed reply and an event when there are no credits', async () => {
    const org = await organization(0)
    const result = await ingest({ ...ctx.services, logger: silentLogger }, { projectId: org.projectId, chatId: org.chatId, threadId: 'telegram-1', texts: ['Hi there'], refusal: 'message' })
    assert.equal(result.status, 'refused')
    assert.equal(llm.chatRequests().length, 0)
    const stored = await ctx.database.db.select().from(messages).where(eq(messages.projectId, org.projectId)).orderBy(asc(messages.seq))
    assert.deepEqual(stored.map((message) => [message.role, message.author, message.content]), [['user', 'user', 'Hi there'], ['assistant', 'bot', CREDITS_EXHAUSTED_REPLY]])
    const exhausted = await eventsOf(org.projectId, 'billing.credits_exhausted')
    assert.equal(exhausted.length, 1)
    assert.deepEqual(exhausted[0]!.data, { organization_id: org.organizationId, credits: 0, bonus: 0 })
  })

  it('charges 50 simultaneous replies of one organization without losing or doubling a credit', async () => {
    const org = await organization(1000)
    llm.replyWith(FOUR_CREDITS)
    const responses = await Promise.all(Array.from({ length: 50 }, (_, index) => send(org, `many-${index}`)))
    assert.deepEqual(responses.map((response) => response.status), Array(50).fill(200))
    const failed = responses.filter((response) => !response.text.includes('Answer.')).map((response) => response.text.slice(-600))
    assert.deepEqual(failed, [], 'every reply finished')
    const charges = await ctx.database.db.select().from(ledgerTransactions).where(and(eq(ledgerTransactions.organizationId, org.organizationId), eq(ledgerTransactions.type, 'charge')))
    assert.equal(charges.length, 50)
    assert.equal(new Set(charges.map((charge) => charge.idempotencyKey)).size, 50)
    assert.deepEqual(await ctx.services.ledger.balance(org.organizationId), { credits: 1000 - 50 * 4, bonus: 0 })
    assert.deepEqual(await ctx.services.ledger.check(org.organizationId), [])
  })
})
