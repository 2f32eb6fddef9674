import assert from 'node:assert/strict'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import { and, eq } from 'drizzle-orm'
import { ChannelSender, TelegramConnector, telegramOutbound } from '../../../src/modules/integrations/index.ts'
import { CREDITS_EXHAUSTED_REPLY } from '../../../src/modules/conversations/index.ts'
import { events } from '../../../src/schema.ts'
import { createTestContext, openaiAt, silentLogger, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'
import { startFakeBotApi, textMessageUpdate, type FakeBotApi } from '../../support/telegram/fake-bot-api.ts'

/** A Telegram user writing to the bot of an organization with no credits: the real app, grammY and a fake Bot API. */
let bot: FakeBotApi
let llm: LlmServer
let ctx: TestContext
let server: http.Server
let sender: ChannelSender
let connector: TelegramConnector

before(async () => {
  bot = await startFakeBotApi()
  llm = await startLlmServer()
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, integrations: { apiUrls: { telegram: bot.apiRoot } }, billing: { defaultTariff: 'free' } } })
  server = await new Promise<http.Server>((resolve) => {
    const started = serve({ fetch: ctx.publicApp.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as http.Server)) as http.Server
  })
  sender = new ChannelSender(ctx.database, ctx.services.integrations, ctx.services.outbox, silentLogger, [telegramOutbound], { pollMs: 50, concurrency: 8, leaseMs: 30_000, maxAttempts: 5 })
  await sender.start()
  connector = new TelegramConnector(ctx.database, ctx.services.integrations, ctx.services.channelInbound, silentLogger, {
    publicUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reconcileMs: 200, pollTimeoutSeconds: 1, leaseMs: 5000,
  })
})
after(async () => {
  await connector.stop()
  await sender.stop(1000)
  await ctx.services.channelInbound.drain()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await ctx.close()
  await llm.close()
  await bot.close()
})

async function until<T>(check: () => Promise<T | false> | T | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

it('a Telegram user of an organization without credits gets the polite fixed reply, the project an event, and the model is not called; after a top-up the bot answers', async () => {
  const seeded = await ctx.seed()
  const api = ctx.asKey(seeded.key)
  const token = `777:TEST-${'y'.repeat(30)}`
  const worken = (await api('POST', '/bots', { name: 'Telegram' })).body
  assert.equal((await api('POST', `/bots/${worken.id}/settings`, { ai: { model: { id: 'openai/gpt-test' }, memory: { generateTitle: false } } })).status, 200)
  const integration = (await api('POST', '/integrations', { name: 'Support bot', vendor: 'telegram', auth_data: { token }, settings: { mode: 'webhook' } })).body
  await api('POST', `/integrations/${integration.id}/chats`, { bot_id: worken.id, name: 'Telegram' })
  await connector.start()
  await until(() => bot.webhook(token), 'the webhook to be set')
  const sent = () => bot.callsTo('sendMessage').filter((call) => call.token === token && String(call.params.chat_id) === '42')

  assert.equal((await bot.pushUpdate(token, textMessageUpdate({ chatId: 42, text: 'hello', firstName: 'Anna' }))).status, 200)
  const [refusal] = await until(() => sent().length > 0 && sent(), 'the polite reply in Telegram')
  assert.equal(refusal!.params.text, CREDITS_EXHAUSTED_REPLY)
  assert.equal(llm.chatRequests().length, 0)
  const threadId = `${integration.id}:42`
  const exhausted = await ctx.database.db.select().from(events).where(and(eq(events.threadId, threadId), eq(events.type, 'billing.credits_exhausted')))
  assert.equal(exhausted.length, 1)
  assert.deepEqual(exhausted[0]!.data, { organization_id: seeded.organizationId, credits: 0, bonus: 0 })

  await ctx.services.ledger.post({ organizationId: seeded.organizationId, type: 'bonus', amount: 50, description: 'welcome', idempotencyKey: 'welcome', actor: 'system' })
  llm.replyWith({ text: 'Now I can help.' })
  assert.equal((await bot.pushUpdate(token, textMessageUpdate({ chatId: 42, text: 'and now?', firstName: 'Anna' }))).status, 200)
  const answered = await until(() => sent().length > 1 && sent(), 'the model reply in Telegram')
  assert.equal(answered[1]!.params.text, 'Now I can help.')
  const balance = await ctx.services.ledger.balance(seeded.organizationId)
  assert.ok(balance.bonus < 50 && balance.credits === 0, `the reply was charged to the bonus first: ${JSON.stringify(balance)}`)
})
