import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { ChannelSender, TelegramConnector, telegramOutbound } from '../../../src/modules/integrations/index.ts'
import { createTestContext, openaiAt, silentLogger, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'
import { startTelegramEmulator, type TelegramEmulator } from '../../support/telegram/emulator.ts'

/**
 * The conversation path against telegram-test-api, an emulator of the Bot API that other projects
 * test their bots with: a user writes to the bot, the bot (long polling, with the real grammY client)
 * gets the update, Worken answers, and the user reads the answer. The fake Bot API of
 * test/support/telegram covers what the emulator lacks (secret tokens, 429, 403, webhooks).
 */
const TOKEN = '424242:EMULATOR-token-0123456789abcdef'
let emulator: TelegramEmulator
let llm: LlmServer
let ctx: TestContext
let sender: ChannelSender
let connector: TelegramConnector

before(async () => {
  emulator = await startTelegramEmulator()
  llm = await startLlmServer()
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, integrations: { apiUrls: { telegram: emulator.apiRoot } } } })
  sender = new ChannelSender(ctx.database, ctx.services.integrations, ctx.services.outbox, silentLogger, [telegramOutbound], { pollMs: 50, concurrency: 4, leaseMs: 30_000, maxAttempts: 3 })
  sender.start()
  connector = new TelegramConnector(ctx.database, ctx.services.integrations, ctx.services.channelInbound, silentLogger, { publicUrl: undefined, reconcileMs: 200, pollTimeoutSeconds: 1, leaseMs: 5000 })
})
after(async () => {
  await connector.stop()
  await sender.stop(1000)
  await ctx.services.channelInbound.drain()
  await ctx.close()
  await llm.close()
  await emulator.close()
})

it("a user writes to the bot in the emulator and reads Worken's reply there", { timeout: 60_000 }, async () => {
  const seeded = await ctx.seed()
  const api = ctx.asKey(seeded.key)
  const bot = (await api('POST', '/bots', { name: 'Emulated' })).body
  assert.equal((await api('POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
  const integration = (await api('POST', '/integrations', { name: 'Emulated bot', vendor: 'telegram', auth_data: { token: TOKEN } })).body
  assert.equal((await api('GET', `/integrations/${integration.id}/profile`)).status, 200)
  assert.equal((await api('POST', `/integrations/${integration.id}/chats`, { bot_id: bot.id, name: 'Telegram' })).status, 200)
  await connector.start()

  llm.replyWith({ text: 'Hello from **Worken** in the emulator.' })
  const user = emulator.client(TOKEN, { timeout: 15_000 })
  await user.sendMessage(user.makeMessage('Hi bot'))
  const updates = await user.getUpdates()
  const texts = updates.result.map((update: { message: { text: string } }) => update.message.text)
  assert.deepEqual(texts, ['Hello from <b>Worken</b> in the emulator.'])
  const threads = (await api('GET', '/threads')).body
  assert.ok(JSON.stringify(threads).includes(integration.id), 'the conversation is a thread of the integration')
})
