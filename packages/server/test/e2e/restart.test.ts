import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { keyCaller, processDatabase, startServerProcess } from '../support/process.ts'

const KEY = `sk-${'c0ffee'.repeat(8)}`
let llm: LlmServer
let database: Record<string, string>
let cleanup: () => Promise<void>

before(async () => {
  llm = await startLlmServer()
  ;({ env: database, cleanup } = await processDatabase('worken-restart'))
})
after(async () => {
  await llm.close()
  await cleanup()
})

/**
 * A reply scheduled a few seconds ahead, the server stopped meanwhile: the next process answers it,
 * with one model call. `dueWhileDown`: the restart comes only after it is due, so the new process
 * finds it due at once, from its job and from its sweep, which must not both answer it.
 */
async function scheduledReplyOverRestart(threadId: string, options: { dueWhileDown: boolean }): Promise<void> {
  const env = {
    ...database,
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    WORKEN_JOB_POLL_SECONDS: '0.5',
  }
  llm.replyWith({ text: 'Your reminder: water the plants.' })
  const asked = llm.chatRequests().length
  const first = await startServerProcess(env)
  const call = keyCaller(KEY)
  const bot = (await call(first.publicUrl, 'POST', '/bots', { name: 'Reminder' })).body
  await call(first.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
  const chat = (await call(first.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Reminders' })).body
  const dueAt = Date.now() + 4000
  const scheduled = await call(first.publicUrl, 'POST', `/chats/${chat.id}/threads/${threadId}/stream`, {
    messages: [{ role: 'user', content: 'Remind me in a few seconds' }],
    scheduledAt: new Date(dueAt).toISOString(),
  })
  assert.equal(scheduled.status, 202)
  assert.equal(await first.stop('SIGTERM'), 0)
  assert.equal(llm.chatRequests().length, asked, 'nothing ran before the restart')
  if (options.dueWhileDown) await sleep(Math.max(0, dueAt - Date.now()) + 500)

  const second = await startServerProcess(env)
  try {
    let history: any[] = []
    for (let i = 0; i < 100 && history.length < 2; i++) {
      await sleep(200)
      history = (await call(second.publicUrl, 'GET', `/chats/${chat.id}/threads/${threadId}/messages`)).body
    }
    assert.deepEqual(history.map((m) => [m.role, m.content]), [
      ['user', 'Remind me in a few seconds'],
      ['assistant', 'Your reminder: water the plants.'],
    ])
    // A few sweeps and polls later: one model call, not one per claimant.
    await sleep(1500)
    assert.equal(llm.chatRequests().length - asked, 1, 'replied exactly once')
  } finally {
    assert.equal(await second.stop('SIGTERM'), 0)
  }
}

it('a scheduled reply is produced after the server restarts', { timeout: 120_000 }, async () => {
  await scheduledReplyOverRestart('t-restart', { dueWhileDown: false })
})

it('a scheduled reply that came due while the server was down is produced once, with one model call', { timeout: 120_000 }, async () => {
  await scheduledReplyOverRestart('t-restart-due', { dueWhileDown: true })
})

it('a scheduled operator message is delivered after the server restarts', { timeout: 120_000 }, async () => {
  const env = { ...database, WORKEN_BOOTSTRAP_API_KEY: KEY, WORKEN_JOB_POLL_SECONDS: '0.5', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: `${llm.url}/v1` }
  const call = keyCaller(KEY)
  const first = await startServerProcess(env)
  let chat: any
  try {
    const bot = (await call(first.publicUrl, 'POST', '/bots', { name: 'Desk' })).body
    chat = (await call(first.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Desk' })).body
    // A first message with a far scheduledAt creates the thread without a model call; then an operator takes it.
    const created = await call(first.publicUrl, 'POST', `/chats/${chat.id}/threads/t-op-restart/stream`, { messages: [{ role: 'user', content: 'hello' }], scheduledAt: new Date(Date.now() + 3600_000).toISOString() })
    assert.equal(created.status, 202)
    assert.equal((await call(first.publicUrl, 'POST', `/chats/${chat.id}/threads/t-op-restart/mode`, { mode: 'manual' })).status, 200)
    const scheduled = await call(first.publicUrl, 'POST', '/threads/t-op-restart/send', { text: 'We will call you at noon.', scheduledAt: new Date(Date.now() + 3000).toISOString() })
    assert.equal(scheduled.status, 202)
  } finally {
    assert.equal(await first.stop('SIGTERM'), 0)
  }

  const second = await startServerProcess(env)
  try {
    let status = 'scheduled'
    for (let i = 0; i < 100 && status === 'scheduled'; i++) {
      await sleep(200)
      status = (await call(second.publicUrl, 'GET', '/threads/t-op-restart/scheduled')).body[0].status
    }
    assert.equal(status, 'sent')
    const history = (await call(second.publicUrl, 'GET', `/chats/${chat.id}/threads/t-op-restart/messages`)).body
    assert.deepEqual(history.filter((m: any) => m.author === 'operator').map((m: any) => m.content), ['We will call you at noon.'])
  } finally {
    assert.equal(await second.stop('SIGTERM'), 0)
  }
})
