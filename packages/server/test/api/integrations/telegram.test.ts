import assert from 'node:assert/strict'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import { and, eq } from 'drizzle-orm'
import { ChannelSender, TelegramConnector, telegramOutbound } from '../../../src/modules/integrations/index.ts'
import { channelThreads, channelUpdates, events } from '../../../src/schema.ts'
import { telegramWebhookSecret } from '../../../src/modules/integrations/channels/telegram/webhook-secret.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'
import { answers, postUpdate, startFakeBotApi, textMessageUpdate, type FakeBotApi } from '../../support/telegram/fake-bot-api.ts'

/**
 * A Telegram bot end to end, in one process: the real app listening on loopback, the real grammY
 * client (sender, webhook and poller) against a fake of the Bot API over HTTP (test/support/telegram),
 * the model a local OpenAI-compatible server. Nothing inside the app is mocked.
 */
let bot: FakeBotApi
let llm: LlmServer
let ctx: TestContext
let server: http.Server
let publicUrl: string
let sender: ChannelSender
const connectors: TelegramConnector[] = []
let p: Seeded & { api: Call }
let tokenCounter = 100

before(async () => {
  bot = await startFakeBotApi()
  llm = await startLlmServer()
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, integrations: { apiUrls: { telegram: bot.apiRoot } } } })
  server = await new Promise<http.Server>((resolve) => {
    const started = serve({ fetch: ctx.publicApp.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as http.Server)) as http.Server
  })
  publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  sender = new ChannelSender(ctx.database, ctx.services.integrations, ctx.services.outbox, silentLogger, [telegramOutbound], { pollMs: 50, concurrency: 8, leaseMs: 30_000, maxAttempts: 5 })
  await sender.start()
  const seeded = await ctx.seed()
  p = { ...seeded, api: ctx.asKey(seeded.key) }
})
afterEach(() => llm.reset())
after(async () => {
  for (const connector of connectors) await connector.stop()
  await sender.stop(1000)
  await ctx.services.channelInbound.drain()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await ctx.close()
  await llm.close()
  await bot.close()
})

async function until<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

/** A Telegram bot connected to a Worken bot: the integration, its chat, and a connector (webhook with a public URL, else polling). */
async function connect(options: { mode: 'webhook' | 'polling' }) {
  const token = `${++tokenCounter}:TEST-${'x'.repeat(30)}`
  const worken = (await p.api('POST', '/bots', { name: `Telegram ${tokenCounter}` })).body
  assert.equal((await p.api('POST', `/bots/${worken.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
  const integration = (await p.api('POST', '/integrations', { name: 'Support bot', vendor: 'telegram', auth_data: { token }, settings: { mode: options.mode } })).body
  assert.ok(integration.id, JSON.stringify(integration))
  const chat = (await p.api('POST', `/integrations/${integration.id}/chats`, { bot_id: worken.id, name: 'Telegram' })).body
  const connector = new TelegramConnector(ctx.database, ctx.services.integrations, ctx.services.channelInbound, silentLogger, {
    publicUrl: options.mode === 'webhook' ? publicUrl : undefined, reconcileMs: 200, pollTimeoutSeconds: 1, leaseMs: 5000,
  })
  connectors.push(connector)
  await connector.start()
  return { token, integration, chat, threadOf: (chatId: number) => `${integration.id}:${chatId}` }
}

const sentTo = (token: string, chatId: number) => bot.callsTo('sendMessage').filter((call) => call.token === token && String(call.params.chat_id) === String(chatId))
/** The thread's messages; none while the thread does not exist yet (its first update is still being processed). */
async function messagesOf(threadId: string): Promise<any[]> {
  const thread = await p.api('GET', `/threads/${threadId}`)
  if (thread.status !== 200) return []
  return (await p.api('GET', `/chats/${thread.body.chat_id}/threads/${threadId}/messages`)).body as any[]
}

describe('Telegram, webhook mode', () => {
  it("sets the webhook with a secret token; a user's message gets the bot's reply in Telegram, with the delivery recorded", async () => {
    const { token, threadOf } = await connect({ mode: 'webhook' })
    const hook = await until(() => bot.webhook(token), 'the webhook to be set')
    assert.match(hook.url, /\/channels\/telegram\/int_/)
    assert.ok(hook.secret_token)
    llm.replyWith({ text: 'Hello from **Worken**!' })
    const pushed = await bot.pushUpdate(token, textMessageUpdate({ chatId: 42, text: 'hello', firstName: 'Anna' }))
    assert.equal(pushed.status, 200)
    const [sent] = await until(() => sentTo(token, 42).length > 0 && sentTo(token, 42), 'the reply in Telegram')
    assert.equal(sent!.params.text, 'Hello from <b>Worken</b>!')
    assert.equal(sent!.params.parse_mode, 'HTML')
    const messages = await until(async () => {
      const list = await messagesOf(threadOf(42))
      return list.at(-1)?.delivery?.status === 'sent' && list
    }, 'the delivery to be recorded')
    assert.deepEqual(messages.map((m) => [m.role, m.content]), [['user', 'hello'], ['assistant', 'Hello from **Worken**!']])
    assert.equal(messages[0].delivery, undefined, "the user's own message is not sent back")
    assert.match(messages[1].delivery.external_id, /^\d+$/)
    const deliveryEvents = await ctx.database.db.select().from(events).where(and(eq(events.threadId, threadOf(42)), eq(events.type, 'thread.message.delivery.changed')))
    assert.equal(deliveryEvents.length, 1)
  })

  it('a re-delivered update is answered once; a forged one (wrong or no secret) is refused and stored nowhere', async () => {
    const { token, integration, threadOf } = await connect({ mode: 'webhook' })
    const hook = await until(() => bot.webhook(token), 'the webhook to be set')
    llm.replyWith({ text: 'Once.' })
    const update = { update_id: 900_001, ...textMessageUpdate({ chatId: 7, text: 'twice?' }) }
    assert.equal((await postUpdate(hook.url, update, { secretToken: hook.secret_token })).status, 200)
    assert.equal((await postUpdate(hook.url, update, { secretToken: hook.secret_token })).status, 200)
    await until(() => sentTo(token, 7).length > 0, 'the reply')
    await sleep(300)
    assert.equal(sentTo(token, 7).length, 1)
    assert.deepEqual((await messagesOf(threadOf(7))).map((m) => m.role), ['user', 'assistant'])

    const forged = { update_id: 900_002, ...textMessageUpdate({ chatId: 8, text: 'forged' }) }
    assert.equal((await postUpdate(hook.url, forged, { secretToken: `${hook.secret_token!.slice(0, -2)}xx` })).status, 401)
    assert.equal((await postUpdate(hook.url, forged)).status, 401)
    assert.equal((await postUpdate(hook.url.replace(integration.id, 'int_unknown'), forged, { secretToken: hook.secret_token })).status, 401)
    const stored = await ctx.database.db.select().from(channelUpdates).where(and(eq(channelUpdates.integrationId, integration.id), eq(channelUpdates.updateKey, '900002')))
    assert.deepEqual(stored, [])
    assert.equal(telegramWebhookSecret(ctx.services.integrations.secretBox, integration.id), hook.secret_token)
  })

  it('an operator takes over (manual): the AI stops, the operator\'s message reaches Telegram; back to auto, the AI answers again', async () => {
    const { token, chat, threadOf } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    llm.replyWith({ text: 'AI here.' })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 55, text: 'hi' }))
    await until(() => sentTo(token, 55).length === 1, 'the first reply')
    assert.equal((await p.api('POST', `/chats/${chat.id}/threads/${threadOf(55)}/mode`, { mode: 'manual' })).status, 200)
    const modelCalls = llm.chatRequests().length
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 55, text: 'I want a person' }))
    await until(async () => (await messagesOf(threadOf(55))).some((m) => m.content === 'I want a person'), 'the message stored for the operator')
    await sleep(200)
    assert.equal(llm.chatRequests().length, modelCalls, 'no model call in manual mode')
    assert.equal(sentTo(token, 55).length, 1)
    const sent = await p.api('POST', `/threads/${threadOf(55)}/send`, { text: 'An operator here, how can I help?' })
    assert.equal(sent.status, 200, sent.text)
    await until(() => sentTo(token, 55).some((call) => call.params.text === 'An operator here, how can I help?'), "the operator's message in Telegram")
    assert.equal((await p.api('POST', `/chats/${chat.id}/threads/${threadOf(55)}/mode`, { mode: 'auto' })).status, 200)
    llm.replyWith({ text: 'AI again.' })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 55, text: 'thanks' }))
    await until(() => sentTo(token, 55).some((call) => call.params.text === 'AI again.'), 'the AI resuming')
  })

  it("honours a 429's retry_after, then delivers", async () => {
    const { token } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    bot.script('sendMessage', answers.tooManyRequests(1))
    llm.replyWith({ text: 'Patience.' })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 61, text: 'hi' }))
    const calls = await until(() => {
      const list = bot.callsTo('sendMessage').filter((call) => call.token === token)
      return list.length >= 2 && list
    }, 'the retry')
    assert.ok(calls[1]!.at - calls[0]!.at >= 950, `retried after ${Math.round(calls[1]!.at - calls[0]!.at)} ms`)
  })

  it('splits a reply over 4096 characters into parts under the limit, in order', async () => {
    const { token } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}: ${'word '.repeat(60).trim()}.`)
    llm.replyWith({ text: paragraphs.join('\n\n') })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 62, text: 'tell me everything' }))
    const parts = await until(() => sentTo(token, 62).length >= 3 && sentTo(token, 62), 'the parts')
    await sleep(300)
    const texts = sentTo(token, 62).map((call) => String(call.params.text))
    assert.ok(texts.every((text) => text.length <= 4096), texts.map((text) => text.length).join(','))
    assert.ok(parts.length >= 3)
    assert.equal(texts.join('\n\n').replace(/\s+/g, ' '), paragraphs.join('\n\n').replace(/\s+/g, ' '))
  })

  it('shows "typing…" while the model thinks; /start is answered with settings.start_message, without the model', async () => {
    const { token, integration, threadOf } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    llm.replyWith({ text: 'Thought about it.', delayMs: 300 })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 64, text: 'a hard question' }))
    await until(() => sentTo(token, 64).length === 1, 'the reply')
    const typing = bot.callsTo('sendChatAction').filter((call) => call.token === token && String(call.params.chat_id) === '64')
    assert.ok(typing.length >= 1 && typing[0]!.params.action === 'typing', JSON.stringify(typing.map((call) => call.params)))
    assert.ok(typing[0]!.at < sentTo(token, 64)[0]!.at, 'typing before the reply')

    assert.equal((await p.api('POST', `/integrations/${integration.id}`, { settings: { start_message: 'Welcome to **Acme**! Ask me anything.' } })).status, 200)
    const modelCalls = llm.chatRequests().length
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 65, text: '/start' }))
    await until(() => sentTo(token, 65).length === 1, 'the greeting')
    assert.equal(sentTo(token, 65)[0]!.params.text, 'Welcome to <b>Acme</b>! Ask me anything.')
    assert.equal(llm.chatRequests().length, modelCalls, 'no model call for /start')
    assert.deepEqual((await messagesOf(threadOf(65))).map((m) => [m.author, m.content]), [['user', '/start'], ['bot', 'Welcome to **Acme**! Ask me anything.']])
  })

  it('a photo and a document are stored in the files store and the model is told what arrived', async () => {
    const { token, threadOf } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    const photoBytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4])
    const photoId = bot.addFile(photoBytes, 'photo.jpg')
    const documentId = bot.addFile(new TextEncoder().encode('Invoice 42: 1 200 ₽'), 'invoice.txt')
    llm.replyWith({ text: 'Got your files.' })
    const base = textMessageUpdate({ chatId: 66, text: 'unused' }) as { message: Record<string, unknown> }
    const { text: _text, ...withoutText } = base.message
    await bot.pushUpdate(token, { message: { ...withoutText, caption: 'Here is my receipt', photo: [{ file_id: 'small', width: 90, height: 90 }, { file_id: photoId, width: 800, height: 600, file_size: photoBytes.byteLength }] } })
    await until(() => sentTo(token, 66).length === 1, 'the reply to the photo')
    await bot.pushUpdate(token, { message: { ...withoutText, message_id: 2, document: { file_id: documentId, file_name: 'invoice.txt', mime_type: 'text/plain' } } })
    await until(() => sentTo(token, 66).length === 2, 'the reply to the document')
    const messages = (await messagesOf(threadOf(66))).filter((m) => m.role === 'user')
    assert.match(messages[0].content, /^Here is my receipt\n\n\[The user sent a photo \(image\/jpeg, 8 B\), stored as file (file_\w+)\.\]$/)
    assert.match(messages[1].content, /^\[The user sent a document, invoice\.txt \(text\/plain, \d+ B\), stored as file (file_\w+)\.\]$/)
    const storedId = /stored as file (file_\w+)/.exec(messages[1].content)![1]!
    const content = await ctx.publicApp.request(`/files/${storedId}/content`, { headers: { authorization: `Bearer ${p.key}` } })
    assert.equal(await content.text(), 'Invoice 42: 1 200 ₽')
    const lastPrompt = llm.lastChatRequest().messages.map((m) => JSON.stringify(m.content)).join('\n')
    assert.match(lastPrompt, /The user sent a document, invoice\.txt/)
  })

  it("deleting the integration removes the bot's webhook at Telegram", async () => {
    const { token, integration } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    assert.equal((await p.api('DELETE', `/integrations/${integration.id}`)).status, 200)
    await until(() => bot.webhook(token) === undefined, 'the webhook to be deleted')
  })

  it('a user who blocked the bot is recorded on the conversation and not retried', async () => {
    const { token, threadOf } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    bot.blocked.add('63')
    llm.replyWith({ text: 'Are you there?' })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 63, text: 'hi' }))
    const messages = await until(async () => {
      const list = await messagesOf(threadOf(63))
      return list.at(-1)?.delivery?.status === 'failed' && list
    }, 'the delivery to fail')
    assert.match(messages.at(-1).delivery.error, /blocked/)
    const [conversation] = await ctx.database.db.select().from(channelThreads).where(eq(channelThreads.threadId, threadOf(63)))
    assert.ok(conversation?.blockedAt)
    await sleep(300)
    assert.equal(sentTo(token, 63).length, 1, 'tried once, not retried')
  })
})

describe('Telegram, long polling (no public URL)', () => {
  it("polls getUpdates: a user's message gets the reply; the offset moves past what was recorded", async () => {
    const { token, integration } = await connect({ mode: 'polling' })
    await until(() => bot.callsTo('getUpdates').some((call) => call.token === token), 'the first getUpdates')
    assert.equal(bot.webhook(token), undefined)
    llm.replyWith({ text: 'Polled and answered.' })
    const pushed = await bot.pushUpdate(token, textMessageUpdate({ chatId: 71, text: 'anyone?' }))
    await until(() => sentTo(token, 71).some((call) => call.params.text === 'Polled and answered.'), 'the reply')
    await until(() => bot.callsTo('getUpdates').some((call) => call.token === token && Number(call.params.offset) === pushed.update_id + 1), 'the next offset')
    const recorded = await ctx.database.db.select().from(channelUpdates).where(eq(channelUpdates.integrationId, integration.id))
    assert.equal(recorded.length, 1)
  })
})

describe('Telegram pollers across processes', () => {
  // Every connector of this file stands for a server process on the same database.
  it('exactly one connector polls a bot; when it stops, another takes over without losing or repeating an update', async () => {
    const { token, integration, threadOf } = await connect({ mode: 'polling' })
    const second = new TelegramConnector(ctx.database, ctx.services.integrations, ctx.services.channelInbound, silentLogger, { publicUrl: undefined, reconcileMs: 200, pollTimeoutSeconds: 1, leaseMs: 5000 })
    connectors.push(second)
    await second.start()
    const holders = () => connectors.filter((connector) => connector.pollingHere().includes(integration.id))
    await until(() => holders().length === 1, 'one connector to poll the bot')
    await sleep(600)
    assert.equal(holders().length, 1, 'never two')
    llm.replyWith({ text: 'From the first.' })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 81, text: 'one' }))
    await until(() => sentTo(token, 81).length === 1, 'the first reply')
    const holder = holders()[0]!
    await holder.stop()
    await until(() => holders().length === 1 && holders()[0] !== holder, 'another connector to take over', 10_000)
    llm.replyWith({ text: 'From the second.' })
    await bot.pushUpdate(token, textMessageUpdate({ chatId: 81, text: 'two' }))
    await until(() => sentTo(token, 81).length === 2, 'the second reply')
    await sleep(500)
    assert.equal(sentTo(token, 81).length, 2)
    assert.deepEqual((await messagesOf(threadOf(81))).map((m) => m.content), ['one', 'From the first.', 'two', 'From the second.'])
  })
})

describe('Telegram, an update whose processing outlives its claim', () => {
  it('is not taken in again by the sweep once its message is stored (a process killed mid-reply, a model slower than the lease)', async () => {
    const { token, integration, threadOf } = await connect({ mode: 'webhook' })
    await until(() => bot.webhook(token), 'the webhook to be set')
    llm.replyWith({ text: 'Answered once.', delayMs: 1500 })
    const pushed = await bot.pushUpdate(token, textMessageUpdate({ chatId: 81, text: 'only once, please' }))
    assert.equal(pushed.status, 200)
    // The message is stored and the model is answering: what a kill -9 leaves behind, once the claim lapses.
    await until(async () => (await messagesOf(threadOf(81))).some((m) => m.content === 'only once, please'), 'the message to be stored')
    await until(() => llm.chatRequests().length > 0, 'the model call')
    const key = and(eq(channelUpdates.integrationId, integration.id), eq(channelUpdates.updateKey, String(pushed.update_id)))
    await ctx.database.db.update(channelUpdates).set({ leaseUntil: new Date(Date.now() - 1000), receivedAt: new Date(Date.now() - 60_000) }).where(key)
    await ctx.services.channelInbound.sweep()
    await until(() => sentTo(token, 81).length > 0, 'the reply')
    await sleep(1000)
    await ctx.services.channelInbound.drain()
    assert.deepEqual((await messagesOf(threadOf(81))).map((m) => [m.role, m.content]), [['user', 'only once, please'], ['assistant', 'Answered once.']])
    assert.equal(sentTo(token, 81).length, 1)
    assert.equal(llm.chatRequests().length, 1, 'the model was asked once')
    const [update] = await ctx.database.db.select().from(channelUpdates).where(key)
    assert.ok(update?.processedAt, 'the update is recorded as taken in')
  })
})

describe('Telegram, the channel sender', () => {
  it('is woken by the commit that queues a reply: it goes out without waiting for the next poll', async () => {
    // The shared sender (50 ms polls) steps aside for one that would not poll again for a minute.
    await sender.stop(1000)
    const slow = new ChannelSender(ctx.database, ctx.services.integrations, ctx.services.outbox, silentLogger, [telegramOutbound], { pollMs: 60_000, concurrency: 8, leaseMs: 30_000, maxAttempts: 5 })
    await slow.start()
    try {
      const { token } = await connect({ mode: 'webhook' })
      await until(() => bot.webhook(token), 'the webhook to be set')
      llm.replyWith({ text: 'Right away.' })
      await bot.pushUpdate(token, textMessageUpdate({ chatId: 91, text: 'hello?' }))
      await until(() => sentTo(token, 91).length === 1, 'the reply, sent on the announcement', 5000)
    } finally {
      await slow.stop(1000)
    }
  })
})
