import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { keyCaller, processDatabase, startServerProcess } from '../support/process.ts'
import { until } from '../support/wait.ts'

const KEY = `sk-${'0bed'.repeat(8)}`
let llm: LlmServer
let database: Record<string, string>
let cleanup: () => Promise<void>

before(async () => {
  llm = await startLlmServer()
  ;({ env: database, cleanup } = await processDatabase('worken-replies-crash'))
})
after(async () => {
  await llm.close()
  await cleanup()
})

it('messages accepted for an auto reply when the server is killed (SIGKILL) mid-turn are answered after the restart, exactly once', { timeout: 180_000 }, async () => {
  // On Postgres the dead process's claims lapse after 2 s; on PGlite the next start takes them at once.
  const env = { ...database, WORKEN_BOOTSTRAP_API_KEY: KEY, OPENAI_API_KEY: 'test', OPENAI_BASE_URL: `${llm.url}/v1`, WORKEN_REPLY_LEASE_SECONDS: '2' }
  const call = keyCaller(KEY)
  const messagesOf = async (base: string, chatId: string, threadId: string) => (await call(base, 'GET', `/chats/${chatId}/threads/${threadId}/messages`)).body as Array<{ role: string; content: string }>
  const ANSWERED = ['done-0', 'done-1']
  const INTERRUPTED = Array.from({ length: 6 }, (_, i) => `cut-${i}`)

  const first = await startServerProcess(env)
  let chatId: string
  try {
    const bot = (await call(first.publicUrl, 'POST', '/bots', { name: 'Durable' })).body
    assert.equal((await call(first.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
    chatId = (await call(first.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Durable' })).body.id
    // Threads answered before the crash: they must not be answered again.
    llm.replyWith({ text: 'Answered before the crash.' })
    for (const threadId of ANSWERED) {
      const response = await fetch(`${first.publicUrl}/chats/${chatId}/threads/${threadId}/stream`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: `hello ${threadId}` }] }),
      })
      assert.equal(response.status, 200)
      await response.text()
    }
    // Then the model hangs: every turn is under way (message stored, model called) when the process dies.
    llm.replyWith({ text: 'never sent', delayMs: 600_000 })
    const streams = INTERRUPTED.map((threadId) => fetch(`${first.publicUrl}/chats/${chatId}/threads/${threadId}/stream`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `hello ${threadId}` }] }),
    }).then((response) => response.body?.cancel(), () => {}))
    for (const threadId of INTERRUPTED) {
      await until(async () => (await call(first.publicUrl, 'GET', `/chats/${chatId}/threads/${threadId}/messages`)).status === 200, `${threadId}'s message to be stored`)
    }
    await until(async () => llm.chatRequests().length >= ANSWERED.length + INTERRUPTED.length, 'every model call to start')
    assert.equal(await first.stop("SIGKILL"), null)
    await Promise.allSettled(streams)
  } finally {
    await first.stop('SIGKILL')
  }

  llm.replyWith({ text: 'Answered after the crash.' })
  const restartedAt = Date.now()
  const second = await startServerProcess(env)
  try {
    for (const threadId of INTERRUPTED) {
      await until(async () => (await messagesOf(second.publicUrl, chatId, threadId)).some((message) => message.role === 'assistant'), `${threadId} to be answered`)
    }
    const recoveredMs = Date.now() - restartedAt
    // Several sweeps later, still one answer each, and nothing more for the threads answered before.
    await sleep(3000)
    let duplicates = 0
    for (const threadId of INTERRUPTED) {
      const messages = await messagesOf(second.publicUrl, chatId, threadId)
      assert.deepEqual(messages.map((message) => message.role), ['user', 'assistant'], threadId)
      assert.equal(messages[1]!.content, 'Answered after the crash.')
    }
    for (const threadId of ANSWERED) {
      const messages = await messagesOf(second.publicUrl, chatId, threadId)
      duplicates += messages.filter((message) => message.role === 'assistant').length - 1
      assert.deepEqual(messages.map((message) => message.content), [`hello ${threadId}`, 'Answered before the crash.'], threadId)
    }
    console.log(`# owed replies after kill -9 (${database.DATABASE_URL ? 'Postgres' : 'PGlite'}): ${INTERRUPTED.length} of ${INTERRUPTED.length} answered once, ${recoveredMs} ms after the restart began; ${duplicates} duplicates`)
  } finally {
    await second.stop('SIGTERM')
  }
})
