import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { Api } from 'grammy'
import { plainText, renderForTelegram } from '../../src/modules/integrations/channels/telegram/format.ts'
import {
  processRateLimiter,
  RecipientBlocked,
  sendReply,
  sendTyping,
  TelegramPermanentError,
  TelegramRateLimited,
  TelegramRateLimiter,
  TelegramTransientError,
} from '../../src/modules/integrations/channels/telegram/send.ts'
import { answers, startFakeBotApi, type FakeBotApi } from '../support/telegram/fake-bot-api.ts'

const TOKEN = '123456:TEST-token_abc'
const LONG = Array.from({ length: 6 }, (_, i) => `Paragraph **${i}** with \`code <${i}>\` and [a link](https://example.com/${i}). `.repeat(3)).join('\n\n')

describe('sendReply against a fake Bot API, with the real grammY client', () => {
  let fake: FakeBotApi
  let api: Api
  before(async () => {
    fake = await startFakeBotApi()
    api = new Api(TOKEN, { apiRoot: fake.apiRoot })
  })
  after(() => fake.close())
  beforeEach(() => {
    fake.calls.length = 0
    fake.blocked.clear()
  })

  it('sends every part in order with parse_mode HTML and returns their message ids', async () => {
    const parts = renderForTelegram(LONG, 300)
    assert.ok(parts.length >= 4)
    const ids = await sendReply(api, 42, LONG, { limit: 300, limiter: null })
    assert.deepEqual(ids, parts.map((_, index) => index + 1))
    const calls = fake.callsTo('sendMessage')
    assert.deepEqual(calls.map((call) => call.params.text), parts.map((part) => part.html))
    for (const call of calls) {
      assert.equal(call.params.parse_mode, 'HTML')
      assert.equal(call.params.chat_id, 42)
      assert.equal(call.token, TOKEN)
    }
  })

  it('sends nothing for a blank reply', async () => {
    assert.deepEqual(await sendReply(api, 42, '  \n', { limiter: null }), [])
    assert.equal(fake.calls.length, 0)
  })

  it('replies to a message with the first part only, and passes the message options', async () => {
    await sendReply(api, 7, LONG, { limit: 300, limiter: null, replyToMessageId: 99, disableLinkPreview: true, messageThreadId: 5, disableNotification: true })
    const [first, second] = fake.callsTo('sendMessage')
    assert.deepEqual(first!.params.reply_parameters, { message_id: 99, allow_sending_without_reply: true })
    assert.equal(second!.params.reply_parameters, undefined)
    for (const call of [first!, second!]) {
      assert.deepEqual(call.params.link_preview_options, { is_disabled: true })
      assert.equal(call.params.message_thread_id, 5)
      assert.equal(call.params.disable_notification, true)
    }
  })

  it("sends a part again as plain text when Telegram can't parse its entities", async () => {
    fake.script('sendMessage', answers.cantParseEntities())
    const markdown = 'Some **bold** and [a link](https://example.com)'
    const ids = await sendReply(api, 42, markdown, { limiter: null })
    assert.equal(ids.length, 1)
    const [refused, plain] = fake.callsTo('sendMessage')
    assert.equal(refused!.params.parse_mode, 'HTML')
    assert.equal(plain!.params.parse_mode, undefined)
    assert.equal(plain!.params.text, plainText(markdown))
    assert.equal(plain!.params.text, 'Some bold and a link (https://example.com)')
  })

  it('falls back only for the part refused; the next part goes as HTML again', async () => {
    fake.script('sendMessage', answers.ok({ message_id: 500, date: 0, chat: { id: 42, type: 'private' }, text: 'x' }), answers.cantParseEntities())
    const ids = await sendReply(api, 42, LONG, { limit: 300, limiter: null })
    const calls = fake.callsTo('sendMessage')
    assert.deepEqual(calls.map((call) => call.params.parse_mode ?? 'plain').slice(0, 4), ['HTML', 'HTML', 'plain', 'HTML'])
    assert.equal(ids[0], 500)
    assert.equal(ids.length, renderForTelegram(LONG, 300).length)
  })

  it('waits retry_after on 429, then sends', async () => {
    fake.script('sendMessage', answers.tooManyRequests(1))
    const ids = await sendReply(api, 42, 'hello', { limiter: null })
    assert.equal(ids.length, 1)
    const [limited, retried] = fake.callsTo('sendMessage')
    const waited = retried!.at - limited!.at
    assert.ok(waited >= 950, `waited ${waited} ms`)
    assert.ok(waited < 3000, `waited ${waited} ms`)
  })

  it('gives up after the attempts allowed, as TelegramRateLimited with retry_after', async () => {
    fake.script('sendMessage', answers.tooManyRequests(1), answers.tooManyRequests(7))
    const error = await sendReply(api, 42, 'hello', { limiter: null, maxAttempts: 2 }).then(() => undefined, (caught: unknown) => caught)
    assert.ok(error instanceof TelegramRateLimited, String(error))
    assert.ok(error instanceof TelegramTransientError)
    assert.equal(error.retryAfter, 7)
    assert.equal(error.errorCode, 429)
    assert.equal(fake.callsTo('sendMessage').length, 2)
  })

  it('does not wait a retry_after longer than allowed', async () => {
    fake.script('sendMessage', answers.tooManyRequests(3600))
    const started = performance.now()
    await assert.rejects(sendReply(api, 42, 'hello', { limiter: null, maxRetryAfterSeconds: 30 }), (error: unknown) => error instanceof TelegramRateLimited && error.retryAfter === 3600)
    assert.ok(performance.now() - started < 1000)
  })

  it('stops waiting when aborted', async () => {
    fake.script('sendMessage', answers.tooManyRequests(30))
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('shutting down')), 100)
    const started = performance.now()
    await assert.rejects(sendReply(api, 42, 'hello', { limiter: null, signal: controller.signal }), /shutting down/)
    assert.ok(performance.now() - started < 2000)
  })

  it('throws RecipientBlocked on 403, without retrying', async () => {
    fake.blocked.add('42')
    const error = await sendReply(api, 42, LONG, { limit: 300, limiter: null }).then(() => undefined, (caught: unknown) => caught)
    assert.ok(error instanceof RecipientBlocked, String(error))
    assert.equal(error.errorCode, 403)
    assert.equal(error.description, 'Forbidden: bot was blocked by the user')
    assert.deepEqual(error.sent, [])
    assert.equal(fake.callsTo('sendMessage').length, 1)

    fake.script('sendMessage', answers.deactivated())
    await assert.rejects(sendReply(api, 43, 'hi', { limiter: null }), (caught: unknown) => caught instanceof RecipientBlocked && caught.description === 'Forbidden: user is deactivated')
  })

  it('throws TelegramPermanentError on another 4xx, with the ids sent before it, and resumes from the next part', async () => {
    fake.script('sendMessage', answers.ok({ message_id: 77, date: 0, chat: { id: 42, type: 'private' }, text: 'x' }), answers.badRequest('chat not found'))
    const error = await sendReply(api, 42, LONG, { limit: 300, limiter: null }).then(() => undefined, (caught: unknown) => caught)
    assert.ok(error instanceof TelegramPermanentError, String(error))
    assert.ok(!(error instanceof TelegramTransientError))
    assert.equal(error.errorCode, 400)
    assert.deepEqual(error.sent, [77])
    assert.equal(fake.callsTo('sendMessage').length, 2)

    const parts = renderForTelegram(LONG, 300)
    const rest = await sendReply(api, 42, LONG, { limit: 300, limiter: null, fromPart: error.sent.length })
    assert.equal(rest.length, parts.length - 1)
    assert.deepEqual(fake.callsTo('sendMessage').slice(2).map((call) => call.params.text), parts.slice(1).map((part) => part.html))
  })

  it('carries migrate_to_chat_id when a group became a supergroup', async () => {
    fake.script('sendMessage', { ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: -100123 } })
    await assert.rejects(sendReply(api, -5, 'hi', { limiter: null }), (error: unknown) => error instanceof TelegramPermanentError && error.migrateToChatId === -100123)
  })

  it('throws TelegramTransientError on 5xx and when Telegram cannot be reached', async () => {
    fake.script('sendMessage', answers.serverError())
    await assert.rejects(sendReply(api, 42, 'hi', { limiter: null }), (error: unknown) => error instanceof TelegramTransientError && error.errorCode === 502)
    const closed = await startFakeBotApi()
    await closed.close()
    const unreachable = new Api(TOKEN, { apiRoot: closed.apiRoot })
    await assert.rejects(sendReply(unreachable, 42, 'hi', { limiter: null }), (error: unknown) => error instanceof TelegramTransientError && error.errorCode === undefined)
  })

  it('sends typing as sendChatAction, and a blocked chat as RecipientBlocked', async () => {
    await sendTyping(api, 42)
    const [call] = fake.callsTo('sendChatAction')
    assert.equal(call!.params.action, 'typing')
    assert.equal(call!.params.chat_id, 42)
    fake.blocked.add('42')
    await assert.rejects(sendTyping(api, 42), RecipientBlocked)
  })

  it('paces messages to one chat at least the interval apart, in call order', async () => {
    const limiter = new TelegramRateLimiter({ perChatIntervalMs: 250 })
    const sends = ['one', 'two', 'three'].map((text) => sendReply(api, 42, text, { limiter }))
    await Promise.all(sends)
    const calls = fake.callsTo('sendMessage')
    assert.deepEqual(calls.map((call) => call.params.text), ['one', 'two', 'three'])
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.at - calls[i - 1]!.at >= 200, `gap ${calls[i]!.at - calls[i - 1]!.at} ms`)
  })

  it('paces the parts of one reply as messages to one chat', async () => {
    const limiter = new TelegramRateLimiter({ perChatIntervalMs: 150 })
    await sendReply(api, 42, LONG, { limit: 300, limiter })
    const calls = fake.callsTo('sendMessage')
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.at - calls[i - 1]!.at >= 120)
  })

  it('keeps a bot under its messages per second across chats, but not one chat waiting on another', async () => {
    const limiter = new TelegramRateLimiter({ perChatIntervalMs: 1000, perBotPerSecond: 20 })
    const started = performance.now()
    await Promise.all(Array.from({ length: 10 }, (_, chat) => sendReply(api, 1000 + chat, 'hi', { limiter })))
    const elapsed = performance.now() - started
    const calls = fake.callsTo('sendMessage')
    assert.equal(calls.length, 10)
    assert.ok(calls.at(-1)!.at - calls[0]!.at >= 9 * 50 * 0.8, `spread ${calls.at(-1)!.at - calls[0]!.at} ms`)
    assert.ok(elapsed < 1500, `took ${elapsed} ms`)
    // Another bot has its own pace.
    const other = new Api('999:OTHER', { apiRoot: fake.apiRoot })
    const before = performance.now()
    await sendReply(other, 1000, 'hi', { limiter })
    assert.ok(performance.now() - before < 200)
  })

  it('defaults to one process-wide limiter at 1 message a second per chat and 30 a second per bot', () => {
    assert.equal(processRateLimiter.perChatIntervalMs, 1000)
    assert.equal(Math.round(processRateLimiter.perBotIntervalMs * 30), 1000)
  })
})
