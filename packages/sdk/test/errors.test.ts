import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import {
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InsufficientCreditsError,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  RequestTimeoutError,
  UnprocessableEntityError,
  WorkenClient,
  WorkenError,
} from '@worken/sdk'
import { errorBody, startFakeServer, type FakeServer } from './support/fake-server.ts'
import { startWorken, type Worken } from './support/worken.ts'

let worken: Worken
let client: WorkenClient
let fake: FakeServer

/** A loopback port with nothing listening: the "vendor" that cannot be reached. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

before(async () => {
  worken = await startWorken({
    // Small limits so that 408, 413 and 429 can be provoked.
    WORKEN_BODY_LIMIT: '2048',
    WORKEN_BODY_IDLE_TIMEOUT_MS: '200',
    WORKEN_EVENTS_MAX_STREAMS_PER_KEY: '1',
    WORKEN_TELEGRAM_API_URL: `http://127.0.0.1:${await closedPort()}`,
  })
  // No retries: each call shows the first answer's error.
  client = worken.client({ maxRetries: 0 })
  fake = await startFakeServer()
})

after(async () => {
  await worken?.stop()
  await fake?.close()
})

/** The error a call rejects with. */
async function failure(call: () => Promise<unknown>): Promise<APIError> {
  try {
    await call()
  } catch (error) {
    assert.ok(error instanceof APIError, `expected an APIError, got ${error}`)
    return error
  }
  assert.fail('the call succeeded')
}

describe('every error status the real server produces maps to its class', () => {
  test('400 malformed_request → BadRequestError', async () => {
    const error = await failure(() => client.request({ method: 'POST', path: '/bots', body: '{"name": ', headers: { 'content-type': 'application/json' } }))
    assert.ok(error instanceof BadRequestError)
    assert.equal(error.status, 400)
    assert.equal(error.code, 'malformed_request')
  })

  test('401 unauthorized → AuthenticationError, with the exact spec body', async () => {
    const stranger = new WorkenClient({ apiKey: `sk-${'0'.repeat(64)}`, baseURL: worken.url, maxRetries: 0 })
    const error = await failure(() => stranger.bots.list())
    assert.ok(error instanceof AuthenticationError)
    assert.equal(error.code, 'unauthorized')
    assert.deepEqual(error.body, { error: 'Unauthorized', code: 'unauthorized' })
    assert.match(error.requestId ?? '', /\S/)
  })

  test('403 forbidden → PermissionDeniedError', async () => {
    const error = await failure(() => client.projects.create({ name: 'Elsewhere', organization_id: 'org_someone_else' }))
    assert.ok(error instanceof PermissionDeniedError)
    assert.equal(error.code, 'forbidden')
  })

  test('404 not_found → NotFoundError', async () => {
    const error = await failure(() => client.bots.retrieve('bot_missing'))
    assert.ok(error instanceof NotFoundError)
    assert.equal(error.code, 'not_found')
    assert.match(error.message, /^404 not_found: .*bot_missing/)
  })

  test('405 method_not_allowed → the generic APIError', async () => {
    const error = await failure(() => client.request({ method: 'PUT', path: '/bots' }))
    assert.equal(error.constructor, APIError)
    assert.equal(error.status, 405)
    assert.equal(error.code, 'method_not_allowed')
    assert.match(error.headers?.get('allow') ?? '', /GET/)
  })

  test('408 request_timeout → RequestTimeoutError (a body that stops arriving)', async () => {
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"name": "Sl'))
      },
    })
    const error = await failure(() => client.request({ method: 'POST', path: '/bots', body: stalled, headers: { 'content-type': 'application/json' } }))
    assert.ok(error instanceof RequestTimeoutError)
    assert.equal(error.code, 'request_timeout')
  })

  test('409 name_taken → ConflictError', async () => {
    const bot = await client.bots.create({ name: 'Conflicted' })
    await client.chats.create({ bot_id: bot.id, name: 'Website' })
    const error = await failure(() => client.chats.create({ bot_id: bot.id, name: 'website' }))
    assert.ok(error instanceof ConflictError)
    assert.equal(error.code, 'name_taken')
  })

  test('413 payload_too_large → PayloadTooLargeError', async () => {
    const error = await failure(() => client.bots.create({ name: 'x', description: 'y'.repeat(4096) }))
    assert.ok(error instanceof PayloadTooLargeError)
    assert.equal(error.code, 'payload_too_large')
  })

  test('422 invalid_request → UnprocessableEntityError, with details', async () => {
    const error = await failure(() => client.bots.create({ name: '' }))
    assert.ok(error instanceof UnprocessableEntityError)
    assert.equal(error.code, 'invalid_request')
    assert.ok(error.details?.some((detail) => detail.path === 'name'), JSON.stringify(error.details))
  })

  test('429 rate_limited → RateLimitError, with Retry-After', async () => {
    // The server's cap is one event stream per key here: hold one open, ask for another.
    const held = new AbortController()
    const first = await fetch(`${worken.url}/threads/events`, { headers: { authorization: `Bearer ${worken.apiKey}` }, signal: held.signal })
    assert.equal(first.status, 200)
    try {
      const error = await failure(() => client.request({ method: 'GET', path: '/threads/events' }))
      assert.ok(error instanceof RateLimitError)
      assert.equal(error.code, 'rate_limited')
      assert.equal(error.headers?.get('retry-after'), '5')
    } finally {
      held.abort()
    }
  })

  test('502 vendor_unavailable → InternalServerError', async () => {
    const integration = await client.integrations.create({ name: 'Unreachable', vendor: 'telegram', auth_data: { token: '123456789:AAH-test-token' } })
    try {
      const error = await failure(() => client.integrations.profile.retrieve(integration.id))
      assert.ok(error instanceof InternalServerError)
      assert.equal(error.status, 502)
      assert.equal(error.code, 'vendor_unavailable')
    } finally {
      await client.integrations.delete(integration.id)
    }
  })
})

describe('statuses the server produces only on faults, from a loopback stand-in with its bodies', () => {
  const faults: Array<[number, string]> = [
    [500, 'internal_error'],
    [503, 'unavailable'],
  ]
  for (const [status, code] of faults) {
    test(`${status} ${code} → InternalServerError`, async () => {
      fake.queue({ status, body: errorBody(status, code) })
      const error = await failure(() => new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 }).bots.list())
      assert.ok(error instanceof InternalServerError)
      assert.equal(error.status, status)
      assert.equal(error.code, code)
    })
  }

  test('a body that is not JSON is kept as text', async () => {
    fake.queue({ status: 502, body: 'Bad gateway (from a proxy)' })
    const error = await failure(() => new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url, maxRetries: 0 }).bots.list())
    assert.ok(error instanceof InternalServerError)
    assert.equal(error.code, null)
    assert.equal(error.body, 'Bad gateway (from a proxy)')
    assert.equal(error.message, '502: Bad gateway (from a proxy)')
  })
})

describe('the class table', () => {
  test('APIError.generate picks the class of every status of docs/design.md', () => {
    const table: Array<[number, typeof APIError]> = [
      [400, BadRequestError],
      [401, AuthenticationError],
      [403, PermissionDeniedError],
      [404, NotFoundError],
      [405, APIError],
      [402, InsufficientCreditsError],
      [408, RequestTimeoutError],
      [409, ConflictError],
      [413, PayloadTooLargeError],
      [422, UnprocessableEntityError],
      [429, RateLimitError],
      [500, InternalServerError],
      [502, InternalServerError],
      [503, InternalServerError],
      [418, APIError],
    ]
    for (const [status, Class] of table) {
      const error = APIError.generate(status, { error: 'x', code: 'c' }, undefined, new Headers())
      assert.equal(error.constructor, Class, `status ${status}`)
      assert.ok(error instanceof WorkenError)
      assert.ok(error instanceof Error)
    }
  })
})
