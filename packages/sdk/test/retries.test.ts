import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  ConflictError,
  InternalServerError,
  RateLimitError,
  BadRequestError,
  WorkenClient,
} from '@worken/sdk'
import { backoffMs, retryAfterMs } from '../src/core/retry.ts'
import { errorBody, startFakeServer, type FakeServer } from './support/fake-server.ts'

// A loopback fake stands in for the server where a test needs an exact sequence of answers.
let fake: FakeServer
let client: WorkenClient

before(async () => {
  fake = await startFakeServer()
  client = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url })
})

after(() => fake?.close())

beforeEach(() => {
  fake.requests.length = 0
  fake.otherwise({ status: 200, body: { id: 'bot_1', name: 'Bot' } })
})

const unavailable = { status: 503, body: errorBody(503, 'unavailable', 'The server is shutting down') }

describe('retries', () => {
  test('a 503 is retried and the request then succeeds', async () => {
    fake.queue(unavailable)
    const bot = await client.bots.retrieve('bot_1')
    assert.equal(bot.id, 'bot_1')
    assert.equal(fake.requests.length, 2)
    assert.deepEqual(fake.requests.map((request) => `${request.method} ${request.path}`), ['GET /bots/bot_1', 'GET /bots/bot_1'])
    // The default backoff: 0.5 s less up to 25% jitter.
    const waited = fake.requests[1]!.at - fake.requests[0]!.at
    assert.ok(waited >= 350 && waited < 1500, `waited ${Math.round(waited)} ms`)
  })

  test('gives up after maxRetries (2 by default) with the last error', async () => {
    fake.queue(unavailable, unavailable, unavailable)
    const fast = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url })
    const error = await fast.bots.retrieve('bot_1', { headers: {} }).catch((caught) => caught)
    assert.ok(error instanceof InternalServerError)
    assert.equal(error.status, 503)
    assert.equal(error.code, 'unavailable')
    assert.equal(fake.requests.length, 3)
  })

  test('waits out a 429 by its Retry-After (seconds)', async () => {
    fake.queue({ status: 429, headers: { 'retry-after': '1' }, body: errorBody(429, 'rate_limited') })
    const started = performance.now()
    await client.bots.retrieve('bot_1')
    const waited = fake.requests[1]!.at - fake.requests[0]!.at
    assert.ok(waited >= 990 && waited < 1600, `waited ${Math.round(waited)} ms for Retry-After: 1`)
    assert.ok(performance.now() - started >= 990)
  })

  test('Retry-After as an HTTP date, and retry-after-ms over both', async () => {
    fake.queue({ status: 429, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() }, body: errorBody(429, 'rate_limited') })
    await client.bots.retrieve('bot_1')
    const byDate = fake.requests[1]!.at - fake.requests[0]!.at
    // An HTTP date has whole seconds: between 1 and 2 s from now.
    assert.ok(byDate >= 900 && byDate < 2600, `waited ${Math.round(byDate)} ms for a date 2 s ahead`)

    fake.requests.length = 0
    fake.queue({ status: 503, headers: { 'retry-after-ms': '150', 'retry-after': '30' }, body: errorBody(503, 'unavailable') })
    await client.bots.retrieve('bot_1')
    const byMs = fake.requests[1]!.at - fake.requests[0]!.at
    assert.ok(byMs >= 140 && byMs < 450, `waited ${Math.round(byMs)} ms for retry-after-ms: 150`)
  })

  test('a Retry-After over 60 s is not waited out: the normal backoff applies', async () => {
    fake.queue({ status: 429, headers: { 'retry-after': '3600' }, body: errorBody(429, 'rate_limited') })
    await client.bots.retrieve('bot_1')
    const waited = fake.requests[1]!.at - fake.requests[0]!.at
    assert.ok(waited < 1500, `waited ${Math.round(waited)} ms`)
  })

  test('x-should-retry: false stops a retry the status would allow (a reused idempotency key)', async () => {
    fake.queue({ status: 409, headers: { 'x-should-retry': 'false' }, body: errorBody(409, 'idempotency_key_reused', 'This Idempotency-Key was used with another body') })
    const error = await client.bots.create({ name: 'Bot' }).catch((caught) => caught)
    assert.ok(error instanceof ConflictError)
    assert.equal(error.code, 'idempotency_key_reused')
    assert.equal(fake.requests.length, 1)
  })

  test('a 409 without the header is retried (an idempotent request still in flight), after its Retry-After', async () => {
    fake.queue({ status: 409, headers: { 'retry-after': '0' }, body: errorBody(409, 'conflict', 'A request with this Idempotency-Key is in flight') })
    await client.bots.create({ name: 'Bot' })
    assert.equal(fake.requests.length, 2)
  })

  test('x-should-retry: true retries a status that is not retried by default', async () => {
    fake.queue({ status: 400, headers: { 'x-should-retry': 'true', 'retry-after-ms': '10' }, body: errorBody(400, 'malformed_request') })
    await client.bots.retrieve('bot_1')
    assert.equal(fake.requests.length, 2)
  })

  test('4xx answers are not retried', async () => {
    fake.queue({ status: 400, body: errorBody(400, 'malformed_request', 'A JSON request body is required') })
    await assert.rejects(client.bots.retrieve('bot_1'), BadRequestError)
    assert.equal(fake.requests.length, 1)
  })

  test('per-request maxRetries: 0 fails at once; the client default can be raised', async () => {
    fake.queue(unavailable)
    await assert.rejects(client.bots.retrieve('bot_1', { maxRetries: 0 }), InternalServerError)
    assert.equal(fake.requests.length, 1)

    fake.requests.length = 0
    const patient = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 3 })
    const quick = { status: 503, headers: { 'retry-after-ms': '5' }, body: errorBody(503, 'unavailable') }
    fake.queue(quick, quick, quick)
    await patient.bots.retrieve('bot_1')
    assert.equal(fake.requests.length, 4)
  })

  test('a dropped connection is retried; when it keeps dropping, an APIConnectionError', async () => {
    fake.queue({ destroy: true })
    assert.equal((await client.bots.retrieve('bot_1')).id, 'bot_1')
    assert.equal(fake.requests.length, 2)

    fake.requests.length = 0
    fake.otherwise({ destroy: true })
    const error = await client.bots.retrieve('bot_1', { maxRetries: 1 }).catch((caught) => caught)
    assert.ok(error instanceof APIConnectionError)
    assert.ok(!(error instanceof APIConnectionTimeoutError))
    assert.equal(fake.requests.length, 2)
  })

  test('nothing listening: APIConnectionError after the retries', async () => {
    const closed = await startFakeServer()
    const url = closed.url
    await closed.close()
    const error = await new WorkenClient({ apiKey: 'sk-test', baseURL: url, maxRetries: 0 }).bots.list().catch((caught) => caught)
    assert.ok(error instanceof APIConnectionError)
    assert.match(error.message, /ECONNREFUSED/)
  })

  test('timeout: APIConnectionTimeoutError, retried like a connection error', async () => {
    fake.queue({ status: 200, body: {}, delayMs: 400 }, { status: 200, body: {}, delayMs: 400 })
    const error = await client.bots.retrieve('bot_1', { timeout: 100, maxRetries: 1 }).catch((caught) => caught)
    assert.ok(error instanceof APIConnectionTimeoutError)
    assert.match(error.message, /100 ms/)
    assert.equal(fake.requests.length, 2)
  })

  test("the caller's signal aborts the request, and the wait between retries", async () => {
    fake.queue({ status: 200, body: {}, delayMs: 1000 })
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    await assert.rejects(client.bots.retrieve('bot_1', { signal: controller.signal }), APIUserAbortError)

    fake.queue({ status: 429, headers: { 'retry-after': '5' }, body: errorBody(429, 'rate_limited') })
    const waiting = new AbortController()
    const started = performance.now()
    setTimeout(() => waiting.abort(), 100)
    await assert.rejects(client.bots.retrieve('bot_1', { signal: waiting.signal }), APIUserAbortError)
    assert.ok(performance.now() - started < 1000)
  })

  test('a body that can only be read once (a ReadableStream) is not retried', async () => {
    fake.queue(unavailable)
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name":"Bot"}'))
        controller.close()
      },
    })
    await assert.rejects(client.request({ method: 'POST', path: '/bots', body, headers: { 'content-type': 'application/json' } }), InternalServerError)
    assert.equal(fake.requests.length, 1)
  })

  test('the final error keeps the status, code, message, request id and body', async () => {
    fake.queue({ status: 429, headers: { 'retry-after': '0', 'x-request-id': 'req_abc' }, body: errorBody(429, 'rate_limited', 'Too many streams for this key') })
    const error = await client.bots.list({}, { maxRetries: 0 }).catch((caught) => caught)
    assert.ok(error instanceof RateLimitError)
    assert.equal(error.status, 429)
    assert.equal(error.code, 'rate_limited')
    assert.equal(error.requestId, 'req_abc')
    assert.equal(error.message, '429 rate_limited: Too many streams for this key')
    assert.deepEqual(error.body, errorBody(429, 'rate_limited', 'Too many streams for this key'))
    assert.equal(error.headers?.get('retry-after'), '0')
  })
})

describe('streams', () => {
  const sseHeaders = { 'content-type': 'text/event-stream' }

  test('a reply stream is retried until its headers arrive, with one idempotency key', async () => {
    fake.queue(unavailable, { status: 200, headers: sseHeaders, body: 'data: {"type":"text-delta","textDelta":"ok"}\n\ndata: [DONE]\n\n' })
    const stream = await client.chats.threads.stream('chat_1', 'thread_1', { messages: [{ role: 'user', content: 'hi' }] })
    assert.equal(await stream.finalText(), 'ok')
    assert.equal(fake.requests.length, 2)
    assert.equal(fake.requests[0]!.headers['idempotency-key'], fake.requests[1]!.headers['idempotency-key'])
    assert.equal(fake.requests[0]!.headers.accept, 'text/event-stream')
  })

  test('the timeout covers the wait for the headers, not the length of the stream', async () => {
    fake.queue((_, response) => {
      response.writeHead(200, sseHeaders)
      let sent = 0
      const timer = setInterval(() => {
        response.write(`data: {"type":"text-delta","textDelta":"${sent}"}\n\n`)
        if (++sent === 5) {
          clearInterval(timer)
          response.end('data: [DONE]\n\n')
        }
      }, 60)
    })
    const started = performance.now()
    const stream = await client.chats.threads.stream('chat_1', 'thread_1', { messages: [{ role: 'user', content: 'hi' }] }, { timeout: 100 })
    assert.equal(await stream.finalText(), '01234')
    assert.ok(performance.now() - started > 250, 'the stream outlived its 100 ms timeout')

    fake.queue({ status: 200, headers: sseHeaders, body: 'data: [DONE]\n\n', delayMs: 300 })
    await assert.rejects(client.chats.threads.stream('chat_1', 'thread_1', { messages: [{ role: 'user', content: 'hi' }] }, { timeout: 100, maxRetries: 0 }), APIConnectionTimeoutError)
  })
})

describe('idempotency keys', () => {
  test('every POST carries worken-retry-<uuid>, the same on each of its retries', async () => {
    fake.queue(unavailable, { status: 503, headers: { 'retry-after-ms': '5' }, body: errorBody(503, 'unavailable') })
    await client.bots.create({ name: 'Bot' })
    const keys = fake.requests.map((request) => request.headers['idempotency-key'])
    assert.equal(keys.length, 3)
    assert.match(String(keys[0]), /^worken-retry-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(new Set(keys).size, 1)
    assert.deepEqual(fake.requests.map((request) => JSON.parse(request.body)), [{ name: 'Bot' }, { name: 'Bot' }, { name: 'Bot' }])
  })

  test('each POST gets its own key; a caller can pass one; GET, PUT and DELETE get none', async () => {
    await client.bots.create({ name: 'A' })
    await client.bots.create({ name: 'B' })
    await client.bots.create({ name: 'C' }, { idempotencyKey: 'order-42-create-bot' })
    await client.bots.retrieve('bot_1')
    await client.webhookEndpoints.update('whe_1', { status: 'active' })
    await client.chats.delete('chat_1')
    const [first, second, mine, ...others] = fake.requests.map((request) => request.headers['idempotency-key'])
    assert.notEqual(first, second)
    assert.equal(mine, 'order-42-create-bot')
    assert.deepEqual(others, [undefined, undefined, undefined])
  })
})

describe('request basics', () => {
  test('auth, JSON, accept and default headers; a header can be removed with null', async () => {
    const custom = new WorkenClient({ apiKey: 'sk-abc', baseURL: `${fake.url}/`, defaultHeaders: { 'x-team': 'support' } })
    await custom.bots.create({ name: 'Bot' }, { headers: { 'x-trace': 't1', 'x-team': null } })
    const [request] = fake.requests
    assert.equal(request!.path, '/bots')
    assert.equal(request!.headers.authorization, 'Bearer sk-abc')
    assert.equal(request!.headers['content-type'], 'application/json')
    assert.equal(request!.headers.accept, 'application/json')
    assert.equal(request!.headers['x-trace'], 't1')
    assert.equal(request!.headers['x-team'], undefined)
  })

  test('path parameters are escaped; query values are encoded, undefined ones left out', async () => {
    fake.otherwise({ status: 200, body: [] })
    await client.chats.threads.messages.list('chat/../x', 'thread ?#1', { limit: 5, offset: undefined })
    assert.equal(fake.requests[0]!.path, '/chats/chat%2F..%2Fx/threads/thread%20%3F%231/messages?limit=5')
    assert.throws(() => client.bots.retrieve(''), /non-empty string/)
  })

  test('withResponse() gives the body, the response and the request id', async () => {
    const { data, response, requestId } = await client.bots.retrieve('bot_1').withResponse()
    assert.equal(data.id, 'bot_1')
    assert.equal(response.status, 200)
    assert.equal(requestId, 'req_fake_1')
  })

  test('backoff and Retry-After arithmetic', () => {
    assert.equal(backoffMs(1, () => 0), 500)
    assert.equal(backoffMs(2, () => 0), 1000)
    assert.equal(backoffMs(5, () => 0), 8000)
    assert.equal(backoffMs(9, () => 0), 8000)
    assert.equal(backoffMs(1, () => 1), 375)
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2.5' })), 2500)
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '61' })), undefined)
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined)
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }), Date.parse('Wed, 21 Oct 2015 07:27:30 GMT')), 30_000)
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '-5' })), undefined)
  })
})
