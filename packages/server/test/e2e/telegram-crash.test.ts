import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { eq } from 'drizzle-orm'
import { openDatabase } from '../../src/platform/db/client.ts'
import { channelUpdates } from '../../src/schema.ts'
import { startLlmServer, type ChatTurn, type LlmServer, type ReplyScript } from '../support/llm-server.ts'
import { keyCaller, processDatabase, startServerProcess, type ServerProcess } from '../support/process.ts'
import { postUpdate, startFakeBotApi, textMessageUpdate, type FakeBotApi } from '../support/telegram/fake-bot-api.ts'
import { until } from '../support/wait.ts'

/**
 * Issue 14: "a kill -9 of the server mid-conversation loses no inbound update and sends no reply
 * twice". Real server processes, the Bot API a fake over HTTP (test/support/telegram), the model the
 * scripted LLM server. One server holds two Telegram bots, one long-polling (`settings.mode:
 * polling`) and one on a webhook (the server's own `WORKEN_PUBLIC_URL`, on a port fixed for the run),
 * so both ways in live through the same kills:
 *
 * 1. answered before the crash: chats 1–3 of each bot;
 * 2. in flight at the first kill: chats 2–5 (4's answer is long: several parts), every message
 *    stored and every model call under way (the model hangs) when the process gets SIGKILL;
 * 3. sent while the server is down: chats 6–7 (polling: queued at Telegram; webhook: Telegram
 *    retries the POST until a 200, as it does);
 * 4. in flight at the second kill (of the restarted process): chats 1, 6 and 8.
 *
 * Then every update's message is stored exactly once, answered exactly once, every part of every
 * answer reached Telegram once (sendMessage calls per chat = the parts the deliveries record), every
 * delivery is `sent`, and no update is left for a sweep to take in again.
 */

const KEY = `sk-${'7e1e'.repeat(8)}`
const POLL_TOKEN = `123456:TEST-${'p'.repeat(30)}`
const HOOK_TOKEN = `123457:TEST-${'w'.repeat(30)}`

let llm: LlmServer
let bot: FakeBotApi
let database: Record<string, string>
let cleanup: () => Promise<void>

before(async () => {
  llm = await startLlmServer()
  bot = await startFakeBotApi()
  ;({ env: database, cleanup } = await processDatabase('worken-telegram-crash'))
})
after(async () => {
  await bot.close()
  await llm.close()
  await cleanup()
})

/** A port free now, for a server whose public URL must be known before it starts (the webhook's). */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The model's answer to a user's message: it names the message, and a message asking for a long one gets several Telegram parts' worth. */
function answerTo(text: string): string {
  if (!text.includes('long')) return `Answer to ${text}.`
  const paragraphs = Array.from({ length: 14 }, (_, i) => `Paragraph ${i} for ${text}: ${'lorem ipsum '.repeat(30).trim()}.`)
  return [`Answer to ${text}.`, ...paragraphs].join('\n\n')
}

const normalized = (text: string) => text.replace(/\s+/g, ' ').trim()

it('a kill -9 mid-conversation loses no inbound update and sends no reply twice (long polling and webhook)', { timeout: 180_000 }, async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const env = {
    ...database,
    PORT: String(port),
    WORKEN_PUBLIC_URL: publicUrl,
    WORKEN_TELEGRAM_API_URL: bot.apiRoot,
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    WORKEN_REPLY_LEASE_SECONDS: '2',
  }
  const call = keyCaller(KEY)
  // The model: quick, or hanging (a reply in flight) until the server dies.
  let hang = false
  llm.replyWith((turn: ChatTurn): ReplyScript => ({ text: answerTo(turn.lastUserText), delayMs: hang ? 600_000 : 30 }))

  /** `pushed`: by Telegram chat id (the polling bot's chats are 1–8, the webhook bot's 101–108), the texts sent. */
  type Bot = { mode: 'polling' | 'webhook'; token: string; integrationId: string; chatId: string; chatBase: number; pushed: Map<number, string[]> }
  const bots: Bot[] = []
  let webhookUpdateId = 100_000
  let webhookRetries = 0
  const deliveries = new Set<Promise<void>>()

  /** Telegram sends a user's message: queued for getUpdates, or POSTed to the webhook again and again until it answers 200. */
  const send = async (target: Bot, n: number, text: string) => {
    const chat = target.chatBase + n
    const texts = target.pushed.get(chat) ?? []
    texts.push(text)
    target.pushed.set(chat, texts)
    const update = textMessageUpdate({ chatId: chat, text, messageId: texts.length })
    if (target.mode === 'polling') {
      await bot.pushUpdate(target.token, update)
      return
    }
    const full = { ...update, update_id: webhookUpdateId++ }
    const deadline = Date.now() + 90_000
    for (;;) {
      const hook = bot.webhook(target.token)
      const status = hook ? await postUpdate(hook.url, full, { secretToken: hook.secret_token! }).then((answer) => answer.status, () => 0) : 0
      if (status === 200) return
      if (Date.now() > deadline) throw new Error(`update ${full.update_id} was never acknowledged (last status ${status})`)
      webhookRetries++
      await sleep(100)
    }
  }
  /** Sends in the background (a webhook update waits for a live server); awaited by `settled`. */
  const sendSoon = (target: Bot, chat: number, text: string) => {
    const delivery: Promise<void> = send(target, chat, text).finally(() => deliveries.delete(delivery))
    deliveries.add(delivery)
  }
  const settled = async () => {
    while (deliveries.size > 0) await Promise.all([...deliveries])
  }

  const threadId = (target: Bot, chat: number) => `${target.integrationId}:${chat}`
  const messagesOf = async (server: ServerProcess, target: Bot, chat: number): Promise<any[]> => {
    const response = await call(server.publicUrl, 'GET', `/chats/${target.chatId}/threads/${threadId(target, chat)}/messages`)
    return response.status === 200 ? (response.body as any[]) : []
  }
  const sentTo = (target: Bot, chat: number) => bot.callsTo('sendMessage').filter((c) => c.token === target.token && String(c.params.chat_id) === String(chat))
  const stored = async (server: ServerProcess, target: Bot, chat: number, text: string) => (await messagesOf(server, target, chat)).some((m) => m.role === 'user' && m.content === text)
  /** Every message pushed so far (to the bots of `mode`, or to both) has its answer stored and sent. */
  const allAnswered = async (server: ServerProcess, mode?: Bot['mode']) => {
    for (const target of bots.filter((candidate) => mode === undefined || candidate.mode === mode)) {
      for (const [chat, texts] of target.pushed) {
        const messages = await messagesOf(server, target, chat)
        const replies = messages.filter((m) => m.role === 'assistant')
        if (replies.length < texts.length || replies.some((m) => m.delivery?.status !== 'sent')) return false
      }
    }
    return true
  }
  /** Pushes one message to each of `chats` of both bots, as Telegram would; the model hangs, and the process is killed once every message is stored and every model call under way. */
  const killMidReply = async (server: ServerProcess, round: string, chats: number[]) => {
    hang = true
    const modelCalls = llm.chatRequests().length
    const texts: Array<[Bot, number, string]> = []
    for (const target of bots) {
      for (const chat of chats) {
        const text = `${target.mode}-c${chat}-${round}${chat === 4 ? '-long' : ''}`
        texts.push([target, target.chatBase + chat, text])
        sendSoon(target, chat, text)
      }
    }
    await settled()
    for (const [target, chat, text] of texts) await until(() => stored(server, target, chat, text), `${text} to be stored`)
    await until(() => llm.chatRequests().length >= modelCalls + texts.length, 'every model call of the round to start')
    assert.equal(await server.stop('SIGKILL'), null)
    return texts.length
  }

  const startedAt = Date.now()
  let server = await startServerProcess(env)
  let inFlight = 0
  try {
    const worken = (await call(server.publicUrl, 'POST', '/bots', { name: 'Telegram crash' })).body
    assert.equal((await call(server.publicUrl, 'POST', `/bots/${worken.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
    for (const [mode, token] of [['polling', POLL_TOKEN], ['webhook', HOOK_TOKEN]] as const) {
      const integration = await call(server.publicUrl, 'POST', '/integrations', { name: `${mode} bot`, vendor: 'telegram', auth_data: { token }, settings: { mode: mode === 'polling' ? 'polling' : 'auto' } })
      assert.equal(integration.status, 200, JSON.stringify(integration.body))
      const chat = await call(server.publicUrl, 'POST', `/integrations/${integration.body.id}/chats`, { bot_id: worken.id, name: `${mode} chat` })
      assert.equal(chat.status, 200, JSON.stringify(chat.body))
      bots.push({ mode, token, integrationId: integration.body.id, chatId: chat.body.id, chatBase: mode === 'polling' ? 0 : 100, pushed: new Map() })
    }
    await until(() => bot.webhook(HOOK_TOKEN)?.url === `${publicUrl}/channels/telegram/${bots[1]!.integrationId}`, 'the webhook to be set')
    await until(() => bot.callsTo('getUpdates').some((c) => c.token === POLL_TOKEN), 'the first getUpdates')

    // 1. Answered before the crash: never to be answered again.
    for (const target of bots) for (const chat of [1, 2, 3]) sendSoon(target, chat, `${target.mode}-c${chat}-before`)
    await settled()
    await until(() => allAnswered(server), 'the first messages to be answered')

    // 2. In flight at the kill.
    inFlight += await killMidReply(server, 'cut', [2, 3, 4, 5])

    // 3. While the server is down: Telegram keeps them (polling) or retries them (webhook).
    for (const target of bots) for (const chat of [6, 7]) sendSoon(target, chat, `${target.mode}-c${chat}-down`)
    await sleep(300)
    hang = false
    let restartedAt = Date.now()
    server = await startServerProcess(env)
    await settled()
    await until(() => allAnswered(server, 'webhook'), "the webhook bot's messages to be answered after the first restart")
    const webhookRecovery = Date.now() - restartedAt
    // On Postgres the poller waits for the dead process's lease (40 s) to lapse; on PGlite it is taken at once.
    await until(() => allAnswered(server, 'polling'), "the polling bot's messages to be answered after the first restart")
    const pollingRecovery = Date.now() - restartedAt
    if (!database.DATABASE_URL) assert.ok(pollingRecovery < 25_000, `PGlite: polling resumed ${pollingRecovery} ms after the restart began`)

    // 4. A second kill, of the restarted process.
    inFlight += await killMidReply(server, 'cut2', [1, 6, 8])
    hang = false
    restartedAt = Date.now()
    server = await startServerProcess(env)
    await until(() => allAnswered(server), 'everything to be answered after the second restart')
    const secondRecovery = Date.now() - restartedAt
    // Sweeps (owed replies every second, updates every 10 s) find nothing more to answer or send.
    await sleep(2500)

    let updates = 0
    let replies = 0
    let parts = 0
    let duplicates = 0
    for (const target of bots) {
      for (const [chat, texts] of target.pushed) {
        updates += texts.length
        const messages = await messagesOf(server, target, chat)
        const label = `${target.mode} chat ${chat}`
        // Every update's message stored once, each followed by its one answer.
        assert.deepEqual(messages.filter((m) => m.role === 'user').map((m) => m.content), texts, label)
        const answers = messages.filter((m) => m.role === 'assistant')
        assert.deepEqual(answers.map((m) => m.content), texts.map(answerTo), label)
        replies += answers.length
        // Delivered: `sent`, with the vendor's id of every part; Telegram got each part once, in order.
        assert.deepEqual(answers.map((m) => m.delivery?.status), answers.map(() => 'sent'), label)
        const ids = answers.flatMap((m) => String(m.delivery.external_id).split(','))
        const calls = sentTo(target, chat)
        parts += ids.length
        duplicates += calls.length - new Set(calls.map((c) => String(c.params.text))).size
        assert.equal(calls.length, ids.length, `${label}: sendMessage calls vs parts recorded`)
        assert.deepEqual(ids.map(Number), calls.map((_, i) => i + 1), `${label}: Telegram's message ids`)
        assert.equal(normalized(calls.map((c) => String(c.params.text)).join(' ')), normalized(texts.map(answerTo).join(' ')), label)
      }
      assert.ok(sentTo(target, target.chatBase + 4).length >= 2, `${target.mode}: the long answer went out in parts`)
    }
    assert.equal(duplicates, 0)
    assert.equal(replies, updates)

    assert.equal(await server.stop('SIGTERM'), 0)
    // Nothing is left for a sweep to take in again: every update recorded once and marked taken in.
    const handle = database.DATABASE_URL
      ? await openDatabase({ driver: 'postgres', url: database.DATABASE_URL, poolSize: 1 })
      : await openDatabase({ driver: 'pglite', dataDir: database.WORKEN_DATA_DIR! })
    try {
      for (const target of bots) {
        const rows = await handle.db.select().from(channelUpdates).where(eq(channelUpdates.integrationId, target.integrationId))
        const pushed = [...target.pushed.values()].reduce((sum, texts) => sum + texts.length, 0)
        assert.equal(rows.length, pushed, `${target.mode}: updates recorded`)
        assert.deepEqual(rows.filter((row) => row.processedAt === null).map((row) => row.updateKey), [], `${target.mode}: updates left unprocessed`)
      }
    } finally {
      await handle.close()
    }
    console.log(`# telegram after kill -9 (${database.DATABASE_URL ? 'Postgres' : 'PGlite'}): 2 kills, ${updates} updates (${inFlight} with their reply in flight at a kill, ${bots.length * 2} sent while down), ${updates} messages stored once, ${replies} replies, ${parts} parts sent, ${duplicates} sent twice; all answered ${webhookRecovery} ms (webhook) and ${pollingRecovery} ms (polling) after the first restart began, ${secondRecovery} ms after the second; ${webhookRetries} webhook POSTs retried; ${Date.now() - startedAt} ms in all`)
  } finally {
    await server.stop('SIGKILL')
  }
})
