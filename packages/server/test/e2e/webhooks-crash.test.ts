import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { keyCaller, processDatabase, startServerProcess } from '../support/process.ts'
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

const KEY = `sk-${'5eed'.repeat(8)}`
let llm: LlmServer
let receiver: WebhookReceiver
let database: Record<string, string>
let cleanup: () => Promise<void>

before(async () => {
  llm = await startLlmServer()
  llm.replyWith({ text: ['Noted.'] })
  receiver = await startReceiver()
  ;({ env: database, cleanup } = await processDatabase('worken-webhooks-crash'))
})
after(async () => {
  await receiver.close()
  await llm.close()
  await cleanup()
})

it('deliveries pending when the server is killed (SIGKILL) are delivered after a restart; none lost', { timeout: 180_000 }, async () => {
  const env = {
    ...database,
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    WORKEN_WEBHOOKS_ALLOW_PRIVATE: 'true',
    WORKEN_WEBHOOK_TIMEOUT_MS: '1000', // claims lapse after 2 × 1 s + 5 s
    WORKEN_WEBHOOK_POLL_MS: '200',
    WORKEN_WEBHOOK_CONCURRENCY: '4',
  }
  const call = keyCaller(KEY)

  // Before the crash the receiver is slow (600 ms per answer): four deliveries are in flight at any time.
  receiver.answer({ status: 200, delayMs: 600 })
  const first = await startServerProcess(env)
  let endpointId: string
  try {
    const endpoint = await call(first.publicUrl, 'POST', '/webhook-endpoints', { url: `${receiver.url}/hook`, secret: 'crash-test-secret-0123456789' })
    assert.equal(endpoint.status, 200)
    endpointId = endpoint.body.id
    const bot = (await call(first.publicUrl, 'POST', '/bots', { name: 'Crash' })).body
    await call(first.publicUrl, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const chat = (await call(first.publicUrl, 'POST', '/chats', { bot_id: bot.id, name: 'Crash' })).body
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${first.publicUrl}/chats/${chat.id}/threads/crash-${i}/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: `message ${i}` }] }),
      })
      assert.equal(response.status, 200)
      await response.text()
    }
    await receiver.waitFor(3, 20_000)
  } finally {
    assert.equal(await first.stop('SIGKILL'), null)
  }
  const beforeRestart = receiver.received.length
  // 8 threads × (thread.created + user message + reply) = 24 events, most not yet delivered.
  assert.ok(beforeRestart < 24, `some deliveries were pending at the crash (${beforeRestart} received)`)

  receiver.answer({ status: 200 })
  const second = await startServerProcess(env)
  try {
    let deliveries: any[] = []
    for (let i = 0; i < 150; i++) {
      deliveries = (await call(second.publicUrl, 'GET', `/webhook-endpoints/${endpointId!}/deliveries?limit=100`)).body.data
      if (deliveries.length === 24 && deliveries.every((d: any) => d.status === 'succeeded')) break
      await sleep(200)
    }
    assert.equal(deliveries.length, 24)
    assert.deepEqual([...new Set(deliveries.map((d: any) => d.status))], ['succeeded'])
    // Every event reached the receiver at least once; duplicates are the at-least-once price of the crash.
    const receivedIds = receiver.received.map((r) => JSON.parse(r.body).id as string)
    const counts = new Map<string, number>()
    for (const id of receivedIds) counts.set(id, (counts.get(id) ?? 0) + 1)
    for (const delivery of deliveries) assert.ok(counts.has(delivery.event_id), `event ${delivery.event_id} was delivered`)
    const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0)
    console.log(`webhooks crash test: ${deliveries.length} events, ${beforeRestart} requests before the SIGKILL, ${receivedIds.length} in all, ${duplicates} duplicate(s) (requests answered while the first process was being killed, sent again after the claim lapsed)`)
    assert.ok(duplicates <= 4, 'at most the deliveries in flight at the crash are sent twice')
  } finally {
    assert.equal(await second.stop('SIGTERM'), 0)
  }
})
