import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../server/test/support/webhook-receiver.ts'
import { StartingAfterPage, WorkenClient } from '@worken/sdk'
import { signWebhook, verifySignature, verifyStandardWebhook, verifyWebhook, WebhookVerificationError } from '@worken/sdk/webhooks'
import { startWorken, type Worken } from './support/worken.ts'

let worken: Worken
let client: WorkenClient
let receiver: WebhookReceiver

const PLAIN_SECRET = 'a-plain-secret-with-enough-characters'
/** Requests from the real server: one per endpoint, signed with each kind of secret. */
let plain: ReceivedWebhook
let generated: ReceivedWebhook
let generatedSecret: string
let generatedEndpointId: string

before(async () => {
  receiver = await startReceiver()
  // Plain-http loopback receivers are allowed only with this switch.
  worken = await startWorken({ WORKEN_WEBHOOKS_ALLOW_PRIVATE: 'true' })
  client = worken.client()
  const withPlain = await client.webhookEndpoints.create({ url: `${receiver.url}/plain`, secret: PLAIN_SECRET })
  const withGenerated = await client.webhookEndpoints.create({ url: `${receiver.url}/generated` })
  assert.match(withGenerated.secret, /^whsec_/)
  generatedSecret = withGenerated.secret
  generatedEndpointId = withGenerated.id
  await client.webhookEndpoints.test(withPlain.id)
  await client.webhookEndpoints.test(withGenerated.id)
  const received = await receiver.waitFor(2)
  plain = received.find((request) => request.path === '/plain')!
  generated = received.find((request) => request.path === '/generated')!
})

after(async () => {
  await worken?.stop()
  await receiver?.close()
})

describe('verifying what the real server signed', () => {
  test('Standard Webhooks headers with a plain secret and with a generated whsec_ secret', async () => {
    const event = await verifyWebhook(plain.body, plain.headers, PLAIN_SECRET)
    assert.equal(event.type, 'webhook.test')
    assert.match(event.id, /^evt_/)
    assert.equal(event.id, plain.headers['webhook-id'])
    const other = await verifyWebhook(generated.body, generated.headers, generatedSecret)
    assert.equal(other.type, 'webhook.test')
  })

  test("the spec's x-worken-signature (hex of the body, keyed with the secret as given)", async () => {
    assert.equal(await verifySignature(plain.body, plain.headers['x-worken-signature'] as string, PLAIN_SECRET), true)
    assert.equal(await verifySignature(generated.body, generated.headers['x-worken-signature'] as string, generatedSecret), true)
    assert.equal(await verifySignature(plain.body, plain.headers['x-worken-signature'] as string, generatedSecret), false)
    // Without the Standard Webhooks headers, verifyWebhook falls back to it.
    const { 'webhook-signature': _, ...specOnly } = plain.headers
    assert.equal((await verifyWebhook(plain.body, specOnly, PLAIN_SECRET)).type, 'webhook.test')
  })

  test('a Headers object, bytes, and client.webhooks with the client secret', async () => {
    const headers = new Headers(Object.entries(generated.headers).map(([name, value]) => [name, String(value)]))
    const bytes = new TextEncoder().encode(generated.body)
    assert.equal((await verifyWebhook(bytes, headers, generatedSecret)).type, 'webhook.test')
    const receiving = new WorkenClient({ apiKey: 'sk-unused', webhookSecret: generatedSecret })
    assert.equal((await receiving.webhooks.verify(bytes.buffer, headers)).type, 'webhook.test')
    await assert.rejects(new WorkenClient({ apiKey: 'sk-unused' }).webhooks.verify(generated.body, generated.headers), /No webhook secret/)
  })

  test('signWebhook makes exactly the headers the server sent', async () => {
    const signed = await signWebhook(plain.body, PLAIN_SECRET, { id: String(plain.headers['webhook-id']), timestamp: Number(plain.headers['webhook-timestamp']) })
    for (const name of ['x-worken-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) assert.equal(signed[name], plain.headers[name], name)
    const again = await signWebhook(generated.body, generatedSecret, { id: String(generated.headers['webhook-id']), timestamp: Number(generated.headers['webhook-timestamp']) })
    assert.equal(again['webhook-signature'], generated.headers['webhook-signature'])
  })
})

describe('refusals', () => {
  const refused = (promise: Promise<unknown>, pattern: RegExp) => assert.rejects(promise, (error: unknown) => error instanceof WebhookVerificationError && pattern.test(error.message))

  test('a changed body, another secret, a missing signature', async () => {
    await refused(verifyWebhook(plain.body.replace('webhook.test', 'webhook.tset'), plain.headers, PLAIN_SECRET), /does not match/)
    await refused(verifyWebhook(plain.body, plain.headers, `${PLAIN_SECRET}x`), /does not match/)
    const { 'webhook-signature': _a, 'x-worken-signature': _b, ...unsigned } = plain.headers
    await refused(verifyWebhook(plain.body, unsigned, PLAIN_SECRET), /No signature/)
    const { 'webhook-signature': _c, ...specOnly } = plain.headers
    await refused(verifyWebhook(`${plain.body} `, specOnly, PLAIN_SECRET), /x-worken-signature does not match/)
  })

  test('a timestamp outside the tolerance (a replay), either way', async () => {
    const sentAt = Number(plain.headers['webhook-timestamp']) * 1000
    await refused(verifyWebhook(plain.body, plain.headers, PLAIN_SECRET, { now: sentAt + 301_000 }), /old, more than the 300 s tolerance/)
    await refused(verifyWebhook(plain.body, plain.headers, PLAIN_SECRET, { now: sentAt - 301_000 }), /in the future/)
    assert.equal((await verifyWebhook(plain.body, plain.headers, PLAIN_SECRET, { now: sentAt + 3_600_000, tolerance: 7200 })).type, 'webhook.test')
  })

  test('a changed webhook-id or timestamp breaks the Standard Webhooks signature', async () => {
    const headers = { id: String(plain.headers['webhook-id']), timestamp: String(plain.headers['webhook-timestamp']), signature: String(plain.headers['webhook-signature']) }
    await verifyStandardWebhook(plain.body, headers, PLAIN_SECRET)
    await refused(verifyStandardWebhook(plain.body, { ...headers, id: 'evt_other' }, PLAIN_SECRET), /does not match/)
    await refused(verifyStandardWebhook(plain.body, { ...headers, timestamp: String(Number(headers.timestamp) + 1) }, PLAIN_SECRET), /does not match/)
    await refused(verifyStandardWebhook(plain.body, { ...headers, timestamp: 'yesterday' }, PLAIN_SECRET), /not a number/)
    // Several signatures (during a secret rotation): one match is enough.
    await verifyStandardWebhook(plain.body, { ...headers, signature: `v1,bm90IGl0 ${headers.signature}` }, PLAIN_SECRET)
  })
})

describe('deliveries', () => {
  test('listed newest first across pages by starting_after, retrieved, retried', async () => {
    await client.webhookEndpoints.test(generatedEndpointId)
    await client.webhookEndpoints.test(generatedEndpointId)
    await receiver.waitFor(4)
    const page = await client.webhookEndpoints.deliveries.list(generatedEndpointId, { limit: 1 })
    assert.ok(page instanceof StartingAfterPage)
    assert.equal(page.has_more, true)
    const ids: string[] = []
    for await (const delivery of page) ids.push(delivery.id)
    assert.equal(ids.length, 3)
    assert.equal(new Set(ids).size, 3)
    const delivery = await client.webhookEndpoints.deliveries.retrieve(generatedEndpointId, ids[0]!)
    assert.equal(delivery.endpoint_id, generatedEndpointId)
    assert.equal((await client.webhookEndpoints.deliveries.retry(generatedEndpointId, ids[0]!)).id, ids[0])
    await receiver.waitFor(5)
    // Endpoint management round-trips as well.
    assert.equal((await client.webhookEndpoints.retrieve(generatedEndpointId)).url, `${receiver.url}/generated`)
    assert.ok((await client.webhookEndpoints.list()).data.some((endpoint) => endpoint.id === generatedEndpointId))
    assert.equal((await client.webhookEndpoints.update(generatedEndpointId, { description: 'tests' })).description, 'tests')
    assert.equal((await client.webhookEndpoints.delete(generatedEndpointId)).deleted, true)
  })
})
