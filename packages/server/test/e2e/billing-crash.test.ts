import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { sql } from 'drizzle-orm'
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/client.ts'
import { Ledger } from '../../src/modules/billing/index.ts'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { keyCaller, processDatabase, startServerProcess } from '../support/process.ts'
import { until } from '../support/wait.ts'

const KEY = `sk-${'c4a2'.repeat(8)}`
const THREADS = Array.from({ length: 30 }, (_, i) => `crash-${i}`)
let llm: LlmServer
let database: Record<string, string>
let cleanup: () => Promise<void>

before(async () => {
  llm = await startLlmServer()
  ;({ env: database, cleanup } = await processDatabase('worken-billing-crash'))
})
after(async () => {
  await llm.close()
  await cleanup()
})

async function openStopped(): Promise<DatabaseHandle> {
  return database.DATABASE_URL
    ? openDatabase({ driver: 'postgres', url: database.DATABASE_URL, poolSize: 1 })
    : openDatabase({ driver: 'pglite', dataDir: database.WORKEN_DATA_DIR! })
}

/** Every stored reply has exactly one charge and every charge a stored reply; the ledger's sums hold. Answers the replies. */
async function assertReplyIffCharge(handle: DatabaseHandle, when: string): Promise<number> {
  const rows = (result: unknown) => (result as { rows: Array<Record<string, unknown>> }).rows
  const replies = rows(await handle.db.execute(sql`select id from messages where model is not null`)).map((row) => String(row.id)).sort()
  const charges = rows(await handle.db.execute(sql`select idempotency_key, amount from ledger_transactions where type = 'charge'`))
  assert.deepEqual(charges.map((row) => String(row.idempotency_key)).sort(), replies, `${when}: a reply without its charge, or a charge without its reply`)
  assert.deepEqual(await new Ledger(handle).check(), [], `${when}: cached balances and entries differ`)
  const [balance] = rows(await handle.db.execute(sql`select coalesce(sum(balance), 0)::text as credits from ledger_accounts where kind = 'credits'`))
  assert.equal(Number(balance!.credits) + charges.reduce((sum, row) => sum + Number(row.amount), 0), 0, `${when}: the balance is not the charges`)
  return replies.length
}

it('kill -9 while replies are being stored and charged leaves each reply with its charge or neither, and a restart charges the recovered ones once', { timeout: 180_000 }, async () => {
  // The default tariff (enterprise) charges every reply and refuses none, so every turn runs.
  const env = { ...database, WORKEN_BOOTSTRAP_API_KEY: KEY, OPENAI_API_KEY: 'test', OPENAI_BASE_URL: `${llm.url}/v1`, WORKEN_REPLY_LEASE_SECONDS: '2' }
  const call = keyCaller(KEY)
  let served = 0
  // Replies finish spread over ~0.8 s, so the kill lands while some are being stored and charged.
  llm.replyWith(() => ({ text: 'Done.', usage: { promptTokens: 700, completionTokens: 300 }, delayMs: ((served++) * 97) % 800 }))

  const first = await startServerProcess(env)
  let chatId: string
  try {
    const bot = (await call(first.publicUrl, 'POST', '/bots', { name: 'Billed' })).body
    assert.equal((await call(first.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { model: { id: 'openai/gpt-test' }, memory: { generateTitle: false } } })).status, 200)
    chatId = (await call(first.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Billed' })).body.id
    let finished = 0
    const streams = THREADS.map((threadId) => fetch(`${first.publicUrl}/chats/${chatId}/threads/${threadId}/stream`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `hello ${threadId}` }] }),
    }).then((response) => response.text()).then(() => { finished++ }, () => {}))
    // Killed once a few replies are done (stored and charged) and the others are finishing around it.
    await until(async () => finished >= 5, 'the first replies to finish')
    assert.equal(await first.stop('SIGKILL'), null)
    await Promise.allSettled(streams)
  } finally {
    await first.stop('SIGKILL')
  }

  let handle = await openStopped()
  let storedBeforeKill: number
  let accepted: string[]
  try {
    storedBeforeKill = await assertReplyIffCharge(handle, 'after kill -9')
    // A message stored before the kill is owed its reply; one that was not never reached the thread.
    accepted = ((await handle.db.execute(sql`select distinct thread_id from messages where role = 'user'`)) as unknown as { rows: Array<{ thread_id: string }> }).rows.map((row) => row.thread_id)
  } finally {
    await handle.close()
  }

  // The restart answers the replies the crash left owed; each is charged once with it.
  const second = await startServerProcess(env)
  try {
    for (const threadId of accepted) {
      await until(async () => ((await call(second.publicUrl, 'GET', `/chats/${chatId!}/threads/${threadId}/messages`)).body as Array<{ role: string }>).some((message) => message.role === 'assistant'), `${threadId} to be answered`)
    }
  } finally {
    await second.stop('SIGTERM')
  }
  handle = await openStopped()
  try {
    const total = await assertReplyIffCharge(handle, 'after the restart')
    assert.equal(total, accepted.length)
    console.log(`# kill -9 during charges (${database.DATABASE_URL ? 'Postgres' : 'PGlite'}): ${storedBeforeKill} of ${THREADS.length} replies stored and charged before the kill, ${accepted.length - storedBeforeKill} owed ones after the restart; no reply without its charge`)
  } finally {
    await handle.close()
  }
})
