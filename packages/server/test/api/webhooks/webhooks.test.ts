import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, afterEach, before, describe, it } from 'node:test'
import { and, eq } from 'drizzle-orm'
import { webhookDeliveries, webhookEndpoints } from '../../../src/schema.ts'
import { ATTEMPT_DELAYS_MS, DISABLE_AFTER_MS, parseRetryAfter } from '../../../src/modules/webhooks/schedule.ts'
import { WebhookSender } from '../../../src/modules/webhooks/sender.ts'
import { systemResolver } from '../../../src/modules/webhooks/transport.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'
import { startReceiver, type WebhookReceiver } from '../../support/webhook-receiver.ts'

// The spec's snippet, verbatim: our signatures must pass it as published.
import { createHmac as specCreateHmac } from 'node:crypto'
function verifyWebhook(body: string, signature: string, secret: string): boolean {
  const expected = specCreateHmac('sha256', secret).update(body).digest('hex')
  return expected === signature
}

/** Standard Webhooks verification (standardwebhooks.com spec): v1 HMAC of "id.timestamp.body", timestamp within 5 minutes. */
function verifyStandard(headers: Record<string, string | string[] | undefined>, body: string, secret: string, nowSeconds = Date.now() / 1000): boolean {
  const id = String(headers['webhook-id'])
  const timestamp = Number(headers['webhook-timestamp'])
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > 300) return false
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret)
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')
  return String(headers['webhook-signature']).split(' ').some((entry) => entry === `v1,${expected}`)
}

const SECRET = 'a-long-enough-webhook-secret'
const fakeDns = new Map<string, string[]>()

let llm: LlmServer
let receiver: WebhookReceiver
let ctx: TestContext
let owner: Seeded
let api: Call

before(async () => {
  llm = await startLlmServer()
  receiver = await startReceiver()
  ctx = await createTestContext({
    services: {
      providers: openaiAt(`${llm.url}/v1`),
      modelMaxRetries: 0,
      webhooksAllowPrivate: true,
      webhooksResolve: async (host) => fakeDns.get(host) ?? systemResolver(host),
    },
  })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
  llm.replyWith({ text: ['Hello!'] })
})
afterEach(async () => {
  receiver.answer({ status: 200 })
  ctx.services.webhooks.options.allowPrivate = true
  // A failed test must not leave an endpoint behind to receive the next test's events.
  await ctx.database.db.delete(webhookEndpoints).where(eq(webhookEndpoints.projectId, owner.projectId))
})
after(async () => {
  await ctx.close()
  await receiver.close()
  await llm.close()
})

function newSender(options: Partial<ConstructorParameters<typeof WebhookSender>[3]> = {}) {
  return new WebhookSender(ctx.database, ctx.services.webhooks, silentLogger, { concurrency: 8, pollMs: 50, timeoutMs: 2000, leaseMs: 5000, random: () => 0.5, ...options })
}

async function newThread(threadId: string, call: Call = api): Promise<{ chatId: string }> {
  const bot = (await call('POST', '/bots', { name: 'Hooks' })).body
  await call('POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
  const chat = (await call('POST', '/chats', { bot_id: bot.id, name: 'Hooks' })).body
  const streamed = await call('POST', `/chats/${chat.id}/threads/${threadId}/stream`, { messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(streamed.status, 200)
  return { chatId: chat.id }
}

async function createEndpoint(body: Record<string, unknown> = {}, call: Call = api) {
  const response = await call('POST', '/webhook-endpoints', { url: `${receiver.url}/hook`, secret: SECRET, ...body })
  assert.equal(response.status, 200, response.text)
  return response.body
}

/** Deliveries of an endpoint, oldest first. */
async function deliveriesOf(endpointId: string) {
  return ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId)).orderBy(webhookDeliveries.createdAt, webhookDeliveries.id)
}

/** The endpoint's deliveries once `count` of them are no longer pending or in flight. */
async function settled(endpointId: string, count: number) {
  for (let i = 0; i < 200; i++) {
    const rows = await deliveriesOf(endpointId)
    if (rows.filter((row) => row.status !== 'pending' && row.status !== 'delivering').length >= count) return rows
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`deliveries of ${endpointId} did not settle`)
}

/**
 * A moment that is surely after the deliveries just created: the database
 * stamps them with microseconds, a JS Date has milliseconds, so "now" read
 * right after a request can be a fraction of a millisecond before them.
 */
function soon(): Date {
  return new Date(Date.now() + 1000)
}

async function disableAll() {
  await ctx.database.db.update(webhookEndpoints).set({ status: 'disabled' }).where(eq(webhookEndpoints.projectId, owner.projectId))
}

describe('webhook endpoints API', () => {
  it('creates, lists, gets, updates and deletes; the secret is shown once and stored encrypted', async () => {
    const created = await createEndpoint({ description: 'CRM sync' })
    assert.match(created.id, /^whe_/)
    assert.equal(created.secret, SECRET)
    assert.equal(created.status, 'active')
    assert.equal(created.url, `${receiver.url}/hook`)
    assert.equal(created.event_types, null)
    const [row] = await ctx.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.id))
    assert.ok(!row!.secretCiphertext.includes(SECRET) && row!.secretCiphertext.startsWith('v1.'), 'ciphertext at rest')

    const listed = (await api('GET', '/webhook-endpoints')).body
    assert.ok(listed.some((e: any) => e.id === created.id))
    for (const endpoint of listed) assert.equal('secret' in endpoint, false)
    const got = await api('GET', `/webhook-endpoints/${created.id}`)
    assert.deepEqual(Object.keys(got.body).sort(), ['created_at', 'description', 'disabled_reason', 'event_types', 'id', 'status', 'updated_at', 'url'])

    const updated = await api('PUT', `/webhook-endpoints/${created.id}`, { status: 'disabled', event_types: ['thread.created', 'thread.created'] })
    assert.equal(updated.status, 200)
    assert.equal(updated.body.status, 'disabled')
    assert.deepEqual(updated.body.event_types, ['thread.created'])
    assert.equal(updated.body.disabled_reason, 'Disabled through the API')
    const enabled = (await api('PUT', `/webhook-endpoints/${created.id}`, { status: 'active', event_types: null })).body
    assert.equal(enabled.disabled_reason, null)
    assert.equal(enabled.event_types, null)

    assert.deepEqual((await api('DELETE', `/webhook-endpoints/${created.id}`)).body, { id: created.id, deleted: true })
    assert.equal((await api('GET', `/webhook-endpoints/${created.id}`)).status, 404)
    assert.equal((await api('DELETE', `/webhook-endpoints/${created.id}`)).status, 404)
  })

  it('generates a whsec_ secret when none is given', async () => {
    const created = await createEndpoint({ secret: undefined })
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    await api('DELETE', `/webhook-endpoints/${created.id}`)
  })

  it('validates bodies', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/webhook-endpoints', {}, 422],
      ['POST', '/webhook-endpoints', { url: 'not a url', secret: SECRET }, 422],
      ['POST', '/webhook-endpoints', { url: 'ftp://hooks.example.test/x', secret: SECRET }, 422],
      ['POST', '/webhook-endpoints', { url: `${receiver.url}/x`, secret: 'short' }, 422],
      ['POST', '/webhook-endpoints', { url: `${receiver.url}/x`, secret: SECRET, event_types: ['thread.nope'] }, 422],
      ['POST', '/webhook-endpoints', { url: `${receiver.url}/x`, secret: SECRET, event_types: [] }, 422],
      ['POST', '/webhook-endpoints', { url: `${receiver.url}/x`, secret: SECRET, extra: 1 }, 422],
      ['POST', '/webhook-endpoints', { url: 'https://user:pass@hooks.example.test/x', secret: SECRET }, 422],
      ['POST', '/webhook-endpoints', 'nope', 400],
    ]
    for (const [method, path, body, status] of cases) {
      const response = await api(method, path, body)
      assert.equal(response.status, status, JSON.stringify(body))
      assert.equal(typeof response.body.message, 'string')
    }
    const created = await createEndpoint()
    assert.equal((await api('PUT', `/webhook-endpoints/${created.id}`, {})).status, 422)
    assert.equal((await api('PUT', `/webhook-endpoints/${created.id}`, { status: 'paused' })).status, 422)
    await api('DELETE', `/webhook-endpoints/${created.id}`)
  })

  it("never shows another project's endpoints or deliveries", async () => {
    const created = await createEndpoint()
    const other = await ctx.seed()
    const stranger = ctx.asKey(other.key)
    assert.deepEqual((await stranger('GET', '/webhook-endpoints')).body, [])
    for (const [method, path, body] of [
      ['GET', `/webhook-endpoints/${created.id}`, undefined],
      ['PUT', `/webhook-endpoints/${created.id}`, { status: 'disabled' }],
      ['DELETE', `/webhook-endpoints/${created.id}`, undefined],
      ['GET', `/webhook-endpoints/${created.id}/deliveries`, undefined],
      ['POST', `/webhook-endpoints/${created.id}/test`, undefined],
      ['POST', `/webhook-endpoints/${created.id}/deliveries/whd_x/retry`, undefined],
    ] as const) {
      assert.equal((await stranger(method, path, body)).status, 404, `${method} ${path}`)
    }
    assert.equal((await api('GET', `/webhook-endpoints/${created.id}`)).body.status, 'active', 'untouched')
    await api('DELETE', `/webhook-endpoints/${created.id}`)
  })
})

describe('delivery', () => {
  let sender: WebhookSender
  before(async () => {
    sender = newSender()
    await sender.start()
  })
  after(async () => {
    await sender.stop()
    await disableAll()
  })

  it("signs every event so that the spec's verifyWebhook and Standard Webhooks accept it", async () => {
    const endpoint = await createEndpoint()
    const start = receiver.received.length
    await newThread('wh-sign')
    // thread.created, the user message, the reply.
    const got = (await receiver.waitFor(start + 3)).slice(start)
    assert.deepEqual(got.map((r) => JSON.parse(r.body).type).sort(), ['thread.created', 'thread.message.created', 'thread.message.created'])
    for (const request of got) {
      assert.equal(request.headers['content-type'], 'application/json')
      assert.ok(verifyWebhook(request.body, String(request.headers['x-worken-signature']), SECRET), 'x-worken-signature')
      assert.match(String(request.headers['x-worken-signature']), /^[0-9a-f]{64}$/)
      assert.ok(verifyStandard(request.headers, request.body, SECRET), 'webhook-signature')
      assert.equal(verifyWebhook(request.body, String(request.headers['x-worken-signature']), 'another-secret-value'), false)
      const event = JSON.parse(request.body)
      assert.deepEqual(Object.keys(event).sort(), ['created_at', 'data', 'id', 'type'])
      assert.match(event.id, /^evt_/)
      assert.equal(request.headers['webhook-id'], event.id)
      assert.equal(event.data.thread_id, 'wh-sign')
    }
    const created = got.map((r) => JSON.parse(r.body)).find((e) => e.type === 'thread.created')
    assert.equal(created.data.thread.id, 'wh-sign')
    const deliveries = await settled(endpoint.id, 3)
    assert.ok(deliveries.every((d) => d.status === 'succeeded' && d.attempts === 1 && d.responseStatus === 200))
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('sends only the event types an endpoint asked for, and mode changes', async () => {
    const endpoint = await createEndpoint({ event_types: ['thread.mode.changed'] })
    const start = receiver.received.length
    const { chatId } = await newThread('wh-filter')
    assert.equal((await api('POST', `/chats/${chatId}/threads/wh-filter/mode`, { mode: 'manual' })).status, 200)
    const [request] = (await receiver.waitFor(start + 1)).slice(start)
    const event = JSON.parse(request!.body)
    assert.equal(event.type, 'thread.mode.changed')
    assert.equal(event.data.mode, 'manual')
    assert.equal(event.data.previous_mode, 'auto')
    assert.equal((await deliveriesOf(endpoint.id)).length, 1, 'no delivery rows for the other types')
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('signs with the new secret after a rotation', async () => {
    const endpoint = await createEndpoint({ event_types: ['thread.created'] })
    const rotated = 'the-rotated-secret-0123456789'
    assert.equal((await api('PUT', `/webhook-endpoints/${endpoint.id}`, { secret: rotated })).status, 200)
    const start = receiver.received.length
    await newThread('wh-rotate')
    const [request] = (await receiver.waitFor(start + 1)).slice(start)
    assert.ok(verifyWebhook(request!.body, String(request!.headers['x-worken-signature']), rotated))
    assert.equal(verifyWebhook(request!.body, String(request!.headers['x-worken-signature']), SECRET), false)
    assert.ok(verifyStandard(request!.headers, request!.body, rotated))
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it("delivers a project's events only to that project's endpoints", async () => {
    const mine = await createEndpoint({ event_types: ['thread.created'] })
    const other = await ctx.seed()
    const stranger = ctx.asKey(other.key)
    const theirs = await createEndpoint({ url: `${receiver.url}/theirs`, event_types: ['thread.created'] }, stranger)
    const start = receiver.received.length
    await newThread('wh-iso-theirs', stranger)
    await receiver.waitFor(start + 1)
    await newThread('wh-iso-mine')
    const got = (await receiver.waitFor(start + 2)).slice(start)
    const byPath = Object.fromEntries(got.map((r) => [r.path, JSON.parse(r.body).data.thread_id]))
    assert.deepEqual(byPath, { '/theirs': 'wh-iso-theirs', '/hook': 'wh-iso-mine' })
    assert.equal((await deliveriesOf(mine.id)).length, 1)
    assert.equal((await deliveriesOf(theirs.id)).length, 1)
    await api('DELETE', `/webhook-endpoints/${mine.id}`)
  })

  it('keeps a delivery log, retries a delivery by hand, and sends a test event', async () => {
    const endpoint = await createEndpoint()
    const test = await api('POST', `/webhook-endpoints/${endpoint.id}/test`)
    assert.equal(test.status, 202)
    assert.equal(test.body.event_type, 'webhook.test')
    const start = receiver.received.length - 0
    const [request] = (await receiver.waitFor(start)).slice(-1)
    assert.ok(request)
    let log: any
    for (let i = 0; i < 100; i++) {
      log = (await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries`)).body
      if (log.data[0]?.status === 'succeeded') break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const delivery = log.data[0]
    assert.equal(delivery.status, 'succeeded')
    assert.equal(delivery.response_status, 200)
    assert.equal(typeof delivery.latency_ms, 'number')
    assert.equal(delivery.next_attempt_at, null)
    assert.equal(log.has_more, false)

    // A manual retry redelivers the same event (same id); retrying a pending one is a 409.
    const before = receiver.received.length
    const retried = await api('POST', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}/retry`)
    assert.equal(retried.status, 202)
    assert.equal((await api('POST', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}/retry`)).status, 409)
    const again = (await receiver.waitFor(before + 1)).at(-1)!
    assert.equal(JSON.parse(again.body).id, delivery.event_id)
    assert.equal(again.headers['webhook-id'], delivery.event_id)

    // Paging and the status filter.
    await api('POST', `/webhook-endpoints/${endpoint.id}/test`)
    await receiver.waitFor(before + 2)
    const page1 = (await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=1`)).body
    assert.equal(page1.data.length, 1)
    assert.equal(page1.has_more, true)
    const page2 = (await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=1&starting_after=${page1.data[0].id}`)).body
    assert.notEqual(page2.data[0].id, page1.data[0].id)
    assert.equal((await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries?starting_after=whd_nope`)).status, 422)
    assert.deepEqual((await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=failed`)).body.data, [])
    assert.equal((await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}`)).body.id, delivery.id)
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('does not follow redirects and gives up on a receiver that does not answer in time', async () => {
    const endpoint = await createEndpoint()
    receiver.answer((request) => (request.path === '/hook' ? { status: 302, headers: { location: `${receiver.url}/elsewhere` } } : { status: 200 }))
    const start = receiver.received.length
    await api('POST', `/webhook-endpoints/${endpoint.id}/test`)
    await receiver.waitFor(start + 1)
    let row: any
    for (let i = 0; i < 100 && !row?.lastError; i++) {
      ;[row] = await deliveriesOf(endpoint.id)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(row.status, 'pending', 'scheduled for a retry')
    assert.match(row.lastError, /302 \(redirects are not followed\)/)
    assert.ok(!receiver.received.slice(start).some((r) => r.path === '/elsewhere'))
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })
})

describe('retry schedule (controllable clock)', () => {
  it('retries at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then fails; success is 2xx only', async () => {
    const sender = newSender()
    const endpoint = await createEndpoint()
    receiver.answer({ status: 500, body: 'down' })
    const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
    let now = soon()
    const seen: number[] = []
    for (let attempt = 1; attempt <= 8; attempt++) {
      assert.equal(await sender.runDue(now), 1, `attempt ${attempt} runs when due`)
      const [row] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
      assert.equal(row!.attempts, attempt)
      assert.equal(row!.responseStatus, 500)
      assert.equal(row!.responseBody, 'down')
      if (attempt === 8) {
        assert.equal(row!.status, 'failed')
        break
      }
      assert.equal(row!.status, 'pending')
      const delay = row!.nextAttemptAt.getTime() - now.getTime()
      seen.push(delay)
      // Not a moment early.
      assert.equal(await sender.runDue(new Date(row!.nextAttemptAt.getTime() - 1)), 0)
      now = row!.nextAttemptAt
    }
    assert.deepEqual(seen, ATTEMPT_DELAYS_MS.slice(1))
    // A 3xx or 1xx-like answer is not success either (covered by redirects); a 204 is.
    receiver.answer({ status: 204 })
    await api('POST', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}/retry`)
    await sender.runDue(new Date(now.getTime() + 1000))
    const [done] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
    assert.equal(done!.status, 'succeeded')
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('sends every retry of an event with the same webhook-id, signed with the timestamp of that attempt', async () => {
    const sender = newSender()
    const endpoint = await createEndpoint({ event_types: ['thread.created'] })
    await newThread('wh-retry-id')
    let answered = 0
    receiver.answer(() => ({ status: ++answered < 3 ? 500 : 200 }))
    const start = receiver.received.length
    let now = soon()
    const attemptedAt: Date[] = []
    for (let attempt = 1; attempt <= 3; attempt++) {
      assert.equal(await sender.runDue(now), 1, `attempt ${attempt}`)
      attemptedAt.push(now)
      const [row] = await deliveriesOf(endpoint.id)
      assert.equal(row!.status, attempt < 3 ? 'pending' : 'succeeded')
      now = row!.nextAttemptAt
    }
    const got = receiver.received.slice(start)
    assert.equal(got.length, 3)
    const event = JSON.parse(got[0]!.body)
    assert.equal(event.type, 'thread.created')
    for (const [i, request] of got.entries()) {
      assert.equal(request.body, got[0]!.body, 'the same body')
      // Standard Webhooks: the id stays the same across retries (receivers dedupe on it); the timestamp is the attempt's.
      assert.equal(request.headers['webhook-id'], event.id)
      assert.equal(request.headers['x-worken-event-id'], event.id)
      assert.equal(request.headers['x-worken-delivery-id'], got[0]!.headers['x-worken-delivery-id'])
      assert.equal(request.headers['x-worken-attempt'], String(i + 1))
      assert.equal(request.headers['webhook-timestamp'], String(Math.floor(attemptedAt[i]!.getTime() / 1000)))
      assert.ok(verifyStandard(request.headers, request.body, SECRET, attemptedAt[i]!.getTime() / 1000), `attempt ${i + 1} verifies`)
    }
    assert.equal(new Set(got.map((r) => r.headers['webhook-timestamp'])).size, 3, 'each attempt has its own timestamp')
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('jitters each delay by at most 10%', async () => {
    const endpoint = await createEndpoint()
    receiver.answer({ status: 500 })
    for (const [random, factor] of [[0, 0.9], [1, 1.1]] as const) {
      const sender = newSender({ random: () => random })
      const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
      const now = soon()
      await sender.runDue(now)
      const [row] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
      assert.equal(row!.nextAttemptAt.getTime() - now.getTime(), Math.round(5000 * factor))
      await ctx.database.db.update(webhookDeliveries).set({ status: 'cancelled' }).where(eq(webhookDeliveries.id, delivery.id))
    }
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('honours Retry-After on 429 and 503', async () => {
    const sender = newSender()
    const endpoint = await createEndpoint()
    const now = new Date(Date.now() + 5000) // after the test deliveries below are created
    for (const [status, header, expected] of [
      [429, '120', 120_000],
      [503, new Date(now.getTime() + 3600_000).toUTCString(), 3600_000],
      [429, '1', 5000], // shorter than the schedule: the schedule wins
      [500, '120', 5000], // only 429 and 503 carry a meaningful Retry-After
    ] as const) {
      receiver.answer({ status, headers: { 'retry-after': header } })
      const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
      await sender.runDue(now)
      const [row] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
      assert.ok(Math.abs(row!.nextAttemptAt.getTime() - now.getTime() - expected) < 1000, `${status} ${header}: ${row!.nextAttemptAt.getTime() - now.getTime()}`)
      await ctx.database.db.update(webhookDeliveries).set({ status: 'cancelled' }).where(eq(webhookDeliveries.id, delivery.id))
    }
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('disables an endpoint that answers 410 Gone', async () => {
    const sender = newSender()
    const endpoint = await createEndpoint()
    receiver.answer({ status: 410 })
    const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
    await sender.runDue(soon())
    const got = (await api('GET', `/webhook-endpoints/${endpoint.id}`)).body
    assert.equal(got.status, 'disabled')
    assert.match(got.disabled_reason, /410/)
    assert.equal((await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}`)).body.status, 'failed')
    // Disabled: new events make no deliveries, a test event is refused.
    await newThread('wh-gone')
    assert.equal((await deliveriesOf(endpoint.id)).length, 1)
    assert.equal((await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).status, 409)
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('disables an endpoint after 5 days of failures; a success in between resets the count', async () => {
    const sender = newSender()
    const endpoint = await createEndpoint()
    const t0 = new Date(Date.now() + 5000)
    const failAt = async (at: Date) => {
      const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
      await sender.runDue(at)
      await ctx.database.db.update(webhookDeliveries).set({ status: 'cancelled' }).where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, 'pending')))
    }
    receiver.answer({ status: 500 })
    await failAt(t0)
    await failAt(new Date(t0.getTime() + 3 * 24 * 3600_000))
    assert.equal((await api('GET', `/webhook-endpoints/${endpoint.id}`)).body.status, 'active')
    // A success clears the failure streak.
    receiver.answer({ status: 200 })
    await failAt(new Date(t0.getTime() + 4 * 24 * 3600_000))
    receiver.answer({ status: 500 })
    await failAt(new Date(t0.getTime() + DISABLE_AFTER_MS + 1000))
    assert.equal((await api('GET', `/webhook-endpoints/${endpoint.id}`)).body.status, 'active', 'the success on day 4 ended the first streak; a new one starts now')
    await failAt(new Date(t0.getTime() + DISABLE_AFTER_MS + 1000 + DISABLE_AFTER_MS - 60_000))
    assert.equal((await api('GET', `/webhook-endpoints/${endpoint.id}`)).body.status, 'active', 'not yet 5 days into the new streak')
    await failAt(new Date(t0.getTime() + DISABLE_AFTER_MS + 1000 + DISABLE_AFTER_MS))
    const got = (await api('GET', `/webhook-endpoints/${endpoint.id}`)).body
    assert.equal(got.status, 'disabled')
    assert.match(got.disabled_reason, /5 days/)
    // Re-enabling clears the reason and the streak.
    assert.equal((await api('PUT', `/webhook-endpoints/${endpoint.id}`, { status: 'active' })).body.disabled_reason, null)
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })
})

describe('SSRF protection', () => {
  it('refuses loopback, private, link-local and metadata targets at registration', async () => {
    ctx.services.webhooks.options.allowPrivate = false
    fakeDns.set('sneaky.test', ['127.0.0.1'])
    fakeDns.set('mixed.test', ['93.184.216.34', '10.1.2.3'])
    for (const url of [
      `${receiver.url}/hook`, // plain http
      'https://127.0.0.1/hook',
      'https://10.0.0.5/hook',
      'https://192.168.1.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[fd00:ec2::254]/hook',
      'https://localhost/hook',
      'https://sneaky.test/hook',
      'https://mixed.test/hook',
    ]) {
      const response = await api('POST', '/webhook-endpoints', { url, secret: SECRET })
      assert.equal(response.status, 422, url)
      assert.match(response.body.message, /url/, url)
    }
  })

  it('checks the resolved address again at delivery time', async () => {
    ctx.services.webhooks.options.allowPrivate = false
    fakeDns.set('rebind.test', ['93.184.216.34'])
    const endpoint = await createEndpoint({ url: 'https://rebind.test/hook' })
    fakeDns.set('rebind.test', ['127.0.0.1'])
    const start = receiver.received.length
    const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
    await newSender().runDue(soon())
    const [row] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
    assert.equal(row!.status, 'pending')
    assert.match(row!.lastError!, /rebind\.test resolves to a non-public address; refused/)
    assert.equal(row!.responseStatus, null)
    assert.equal(receiver.received.length, start, 'nothing was sent')
    // The delivery log says the address is not public, not which address it is.
    const logged = (await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}`)).body
    assert.match(logged.last_error, /non-public/)
    assert.ok(!logged.last_error.includes('127.0.0.1'), logged.last_error)
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('does not tell which non-public address a name resolves to (no DNS oracle)', async () => {
    ctx.services.webhooks.options.allowPrivate = false
    fakeDns.set('oracle.test', ['10.20.30.40'])
    fakeDns.set('oracle6.test', ['2606:4700:4700::1111', 'fd12:3456:789a::1'])
    fakeDns.set('oracle-mapped.test', ['::ffff:a14:1e28'])
    for (const [host, secrets] of [['oracle.test', ['10.20.30.40']], ['oracle6.test', ['fd12', '789a']], ['oracle-mapped.test', ['a14:1e28', '10.20.30.40']]] as const) {
      const response = await api('POST', '/webhook-endpoints', { url: `https://${host}/hook`, secret: SECRET })
      assert.equal(response.status, 422, host)
      assert.match(response.body.message, new RegExp(`url: ${host.replace('.', '\\.')} resolves to a non-public address`))
      for (const secret of secrets) assert.ok(!response.text.includes(secret), `${host}: ${response.text}`)
    }
  })

  it('does not show the resolved address in connection errors of the delivery log', async () => {
    // Private targets allowed (a self-hosted setup): the refused connection is logged without its address.
    const closed = await new Promise<number>((resolve) => {
      const server = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
    fakeDns.set('closed.test', ['127.0.0.1'])
    const endpoint = await createEndpoint({ url: `http://closed.test:${closed}/hook` })
    const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
    await newSender().runDue(soon())
    const logged = (await api('GET', `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}`)).body
    assert.equal(logged.status, 'pending')
    assert.match(logged.last_error, /ECONNREFUSED/)
    assert.ok(!logged.last_error.includes('127.0.0.1'), logged.last_error)
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)
  })

  it('refuses IPv6 forms that carry a non-public IPv4 address, at registration and at delivery', async () => {
    ctx.services.webhooks.options.allowPrivate = false
    const forms = [
      '::127.0.0.1', // IPv4-compatible; the URL parser writes it ::7f00:1
      '::7f00:1',
      '::a9fe:a9fe', // 169.254.169.254, compatible
      '::ffff:0:127.0.0.1', // IPv4-translated (RFC 2765)
      '::ffff:a00:5', // mapped 10.0.0.5
      '64:ff9b::a9fe:a9fe', // NAT64 well-known prefix
      '64:ff9b:1::a00:1', // NAT64 local-use prefix
      '2002:7f00:1::1', // 6to4
      '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1
      '2606:4700:4700:1:0:5efe:7f00:1', // ISATAP, 127.0.0.1
      '2606:4700:4700:1:200:5efe:a9fe:a9fe', // ISATAP, 169.254.169.254
    ]
    for (const [i, form] of forms.entries()) {
      const literal = await api('POST', '/webhook-endpoints', { url: `https://[${form}]/hook`, secret: SECRET })
      assert.equal(literal.status, 422, `[${form}]: ${literal.text}`)
      assert.match(literal.body.message, /url: points to a non-public address/)
      fakeDns.set(`v6-${i}.test`, [form])
      const named = await api('POST', '/webhook-endpoints', { url: `https://v6-${i}.test/hook`, secret: SECRET })
      assert.equal(named.status, 422, `v6-${i}.test → ${form}: ${named.text}`)
    }

    // At delivery: a name that resolved to a public address at registration, and to an embedding form now.
    // Only forms of 127.0.0.1 here: were the check to let one through, the attempt would go nowhere real.
    fakeDns.set('v6-rebind.test', ['2606:4700:4700::1111'])
    const endpoint = await createEndpoint({ url: 'https://v6-rebind.test/hook' })
    for (const form of ['::7f00:1', '::ffff:0:7f00:1', '::ffff:7f00:1']) {
      fakeDns.set('v6-rebind.test', [form])
      const delivery = (await api('POST', `/webhook-endpoints/${endpoint.id}/test`)).body
      await newSender().runDue(soon())
      const [row] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
      assert.equal(row!.status, 'pending', form)
      assert.equal(row!.responseStatus, null, form)
      assert.equal(row!.lastError, 'v6-rebind.test resolves to a non-public address; refused', form)
    }
    await api('DELETE', `/webhook-endpoints/${endpoint.id}`)

    // And a literal URL stored before the filter knew the form (written directly, as an old row would be).
    fakeDns.set('v6-rebind.test', ['2606:4700:4700::1111'])
    const stored = await createEndpoint({ url: 'https://v6-rebind.test/hook' })
    await ctx.database.db.update(webhookEndpoints).set({ url: 'https://[::7f00:1]/hook' }).where(eq(webhookEndpoints.id, stored.id))
    const delivery = (await api('POST', `/webhook-endpoints/${stored.id}/test`)).body
    await newSender().runDue(soon())
    const [row] = await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, delivery.id))
    assert.equal(row!.status, 'pending')
    assert.match(row!.lastError!, /^the URL points to a non-public address/)
    await api('DELETE', `/webhook-endpoints/${stored.id}`)
  })
})

describe('Retry-After', () => {
  it('reads Retry-After as seconds or a date, capped at a day', () => {
    const now = new Date('2026-01-01T00:00:00Z')
    assert.equal(parseRetryAfter('30', now), 30_000)
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now), 60_000)
    assert.equal(parseRetryAfter('999999', now), 24 * 3600_000)
    assert.equal(parseRetryAfter('soon', now), null)
    assert.equal(parseRetryAfter(null, now), null)
  })
})
