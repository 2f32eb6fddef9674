import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Api, GrammyError } from 'grammy'
import { renderForTelegram } from '../../src/modules/integrations/channels/telegram/format.ts'
import { sendReply } from '../../src/modules/integrations/channels/telegram/send.ts'
import { startTelegramEmulator, type TelegramEmulator } from '../support/telegram/emulator.ts'
import { answers, parseHtml, postUpdate, startFakeBotApi, textMessageUpdate, type FakeBotApi } from '../support/telegram/fake-bot-api.ts'
import { startReceiver } from '../support/webhook-receiver.ts'

const TOKEN = '4242:EMULATED-token'

describe('telegram-test-api, the Bot API emulator, with the real grammY client', () => {
  let emulator: TelegramEmulator
  before(async () => {
    emulator = await startTelegramEmulator()
  })
  after(() => emulator.close())

  it('listens on 127.0.0.1 at a free port', () => {
    assert.match(emulator.apiRoot, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.notEqual(emulator.apiRoot, 'http://127.0.0.1:9000')
  })

  it('answers getMe, and delivers a user message to getUpdates', async () => {
    const api = new Api(TOKEN, { apiRoot: emulator.apiRoot })
    const me = await api.getMe()
    assert.equal(me.username, 'TestNameBot')
    const client = emulator.client(TOKEN, { chatId: 31, userId: 31 })
    await client.sendMessage(client.makeMessage('hello bot'))
    const updates = await api.getUpdates()
    assert.equal(updates.length, 1)
    assert.equal(updates[0]!.message?.text, 'hello bot')
    assert.equal(updates[0]!.message?.chat.id, 31)
  })

  it("shows the user a multi-part reply sent with sendReply, in order, as HTML", async () => {
    const api = new Api(TOKEN, { apiRoot: emulator.apiRoot })
    const client = emulator.client(TOKEN, { chatId: 32, userId: 32 })
    const markdown = Array.from({ length: 5 }, (_, i) => `**Part ${i}**: ${'words and more words. '.repeat(6)}`).join('\n\n')
    const ids = await sendReply(api, 32, markdown, { limit: 200, limiter: null })
    const parts = renderForTelegram(markdown, 200)
    assert.equal(ids.length, parts.length)
    const received = await client.getUpdates()
    const messages = received.result.map((update) => (update as unknown as { message: { text: string; parse_mode?: string } }).message)
    assert.deepEqual(messages.map((message) => message.text), parts.map((part) => part.html))
    for (const message of messages) assert.equal(message.parse_mode, 'HTML')
  })
})

describe('the fake Bot API', () => {
  let fake: FakeBotApi
  before(async () => {
    fake = await startFakeBotApi()
  })
  after(() => fake.close())

  it('answers getMe with the token’s bot id and refuses unknown methods as Telegram does', async () => {
    const api = new Api('777:ABC', { apiRoot: fake.apiRoot })
    assert.equal((await api.getMe()).id, 777)
    const error = await api.raw.getMyName({}).then(() => undefined, (caught: unknown) => caught)
    assert.ok(error instanceof GrammyError)
    assert.equal(error.error_code, 404)
    assert.equal(error.description, 'Not Found')
  })

  it('answers scripted errors in Telegram’s shape, then behaves again', async () => {
    const api = new Api('777:ABC', { apiRoot: fake.apiRoot })
    fake.script('sendMessage', answers.tooManyRequests(3), answers.unauthorized())
    const limited = await api.sendMessage(1, 'x').then(() => undefined, (caught: unknown) => caught)
    assert.ok(limited instanceof GrammyError)
    assert.equal(limited.error_code, 429)
    assert.equal(limited.parameters.retry_after, 3)
    assert.equal(limited.description, 'Too Many Requests: retry after 3')
    await assert.rejects(api.sendMessage(1, 'x'), (caught: unknown) => caught instanceof GrammyError && caught.error_code === 401)
    assert.equal((await api.sendMessage(1, 'x')).text, 'x')
    const raw = await fetch(`${fake.apiRoot}/bot777:ABC/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: 1, text: '<p>x</p>', parse_mode: 'HTML' }) })
    assert.equal(raw.status, 400)
    assert.deepEqual(await raw.json(), { ok: false, error_code: 400, description: `Bad Request: can't parse entities: Unsupported start tag "p" at byte offset 0` })
  })

  it('checks HTML as Telegram parses it and counts the visible text', async () => {
    assert.equal(parseHtml('<b>a &lt;&amp;&gt;</b> <a href="https://x.y">l</a> <pre><code class="language-ts">c</code></pre>'), 'a <&> l c')
    assert.deepEqual(parseHtml('<b>x'), { error: `Can't find end tag corresponding to start tag "b"` })
    const api = new Api('777:ABC', { apiRoot: fake.apiRoot })
    assert.equal((await api.sendMessage(1, '&amp;'.repeat(4096), { parse_mode: 'HTML' })).text.length, 4096)
    await assert.rejects(api.sendMessage(1, 'x'.repeat(4097)), (caught: unknown) => caught instanceof GrammyError && caught.description === 'Bad Request: message is too long')
  })

  it('sets, reports and deletes a webhook, and delivers updates to it with the secret-token header', async () => {
    const receiver = await startReceiver()
    try {
      const api = new Api('888:HOOK', { apiRoot: fake.apiRoot })
      assert.equal(await api.setWebhook(`${receiver.url}/hook`, { secret_token: 'sec_ret-1' }), true)
      assert.equal((await api.getWebhookInfo()).url, `${receiver.url}/hook`)
      await assert.rejects(api.getUpdates(), (caught: unknown) => caught instanceof GrammyError && caught.error_code === 409)
      const { update_id, status } = await fake.pushUpdate('888:HOOK', textMessageUpdate({ chatId: 5, text: 'hi' }))
      assert.equal(status, 200)
      const [delivered] = await receiver.waitFor(1)
      assert.equal(delivered!.path, '/hook')
      assert.equal(delivered!.headers['x-telegram-bot-api-secret-token'], 'sec_ret-1')
      assert.deepEqual(JSON.parse(delivered!.body).update_id, update_id)
      assert.equal(JSON.parse(delivered!.body).message.text, 'hi')
      await assert.rejects(api.setWebhook(`${receiver.url}/hook`, { secret_token: 'not allowed!' }), GrammyError)
      assert.equal(await api.deleteWebhook(), true)
      assert.equal((await api.getWebhookInfo()).url, '')
    } finally {
      await receiver.close()
    }
  })

  it('posts an update to a webhook with or without the secret-token header', async () => {
    const receiver = await startReceiver()
    try {
      await postUpdate(`${receiver.url}/a`, { update_id: 1 }, { secretToken: 's1' })
      await postUpdate(`${receiver.url}/b`, { update_id: 2 })
      await postUpdate(`${receiver.url}/c`, { update_id: 3 }, { headers: { 'X-Telegram-Bot-Api-Secret-Token': 'wrong' } })
      const [a, b, c] = await receiver.waitFor(3)
      assert.equal(a!.headers['x-telegram-bot-api-secret-token'], 's1')
      assert.equal(b!.headers['x-telegram-bot-api-secret-token'], undefined)
      assert.equal(c!.headers['x-telegram-bot-api-secret-token'], 'wrong')
      assert.equal(a!.headers['content-type'], 'application/json')
    } finally {
      await receiver.close()
    }
  })

  it('serves getUpdates with offsets and long polling', async () => {
    const api = new Api('999:POLL', { apiRoot: fake.apiRoot })
    const first = await fake.pushUpdate('999:POLL', textMessageUpdate({ chatId: 9, text: 'one' }))
    await fake.pushUpdate('999:POLL', textMessageUpdate({ chatId: 9, text: 'two' }))
    const both = await api.getUpdates()
    assert.deepEqual(both.map((update) => update.message?.text), ['one', 'two'])
    assert.deepEqual((await api.getUpdates({ offset: first.update_id + 1 })).map((update) => update.message?.text), ['two'])
    // Confirmed by the offset: gone even without one now.
    assert.deepEqual((await api.getUpdates()).map((update) => update.message?.text), ['two'])
    assert.deepEqual((await api.getUpdates({ offset: -1 })).map((update) => update.message?.text), ['two'])
    const last = both.at(-1)!.update_id
    const started = performance.now()
    const polling = api.getUpdates({ offset: last + 1, timeout: 5 })
    setTimeout(() => void fake.pushUpdate('999:POLL', textMessageUpdate({ chatId: 9, text: 'three' })), 150)
    const woken = await polling
    assert.deepEqual(woken.map((update) => update.message?.text), ['three'])
    assert.ok(performance.now() - started < 2000)
    assert.deepEqual(await api.getUpdates({ offset: woken[0]!.update_id + 1, timeout: 0 }), [])
  })
})
