import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { after, afterEach, before, describe, it } from 'node:test'
import { serve } from '@hono/node-server'
import { EventSource } from 'eventsource'
import pino from 'pino'
import { createApp, type App } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config.ts'
import { EventTokens } from '../../../src/modules/conversations/event-tokens.ts'
import { SecretBox } from '../../../src/platform/crypto/secrets.ts'
import { CORS_MAX_AGE } from '../../../src/platform/http/cors.ts'
import type { Services } from '../../../src/services.ts'
import { SseClient } from '../../support/events-client.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'
import { startServerProcess } from '../../support/process.ts'

const ORIGIN = 'https://app.example.test'
const OTHER_ORIGIN = 'https://evil.example.test'

let llm: LlmServer
let ctx: TestContext
let baseUrl: string
const servers: http.Server[] = []
const clients: SseClient[] = []

type Project = Seeded & { api: Call; auth: Record<string, string> }

async function listen(app: App): Promise<string> {
  const server = await new Promise<http.Server>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started as http.Server)) as http.Server
  })
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function publicApp(options: { corsOrigins?: string[]; services?: Partial<Services>; logger?: pino.Logger } = {}): App {
  return createApp({ kind: 'public', services: { ...ctx.services, ...options.services }, logger: options.logger ?? silentLogger, corsOrigins: options.corsOrigins })
}

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0 } })
  baseUrl = await listen(ctx.publicApp)
})
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  llm.reset()
})
after(async () => {
  await ctx.services.events.stop()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
  await ctx.close()
  await llm.close()
})

async function project(): Promise<Project> {
  const seeded = await ctx.seed()
  return { ...seeded, api: ctx.asKey(seeded.key), auth: { authorization: `Bearer ${seeded.key}` } }
}

/** A bot, a chat and a thread with one exchange, then put in `manual`, so `say` stores messages without a model call. */
async function newThread(p: Project, threadId: string, chatId?: string): Promise<string> {
  if (!chatId) {
    const bot = (await p.api('POST', '/bots', { name: 'Assistant' })).body
    chatId = (await p.api('POST', '/chats', { bot_id: bot.id, name: 'Website' })).body.id as string
  }
  llm.replyWith({ text: 'Hello!' })
  const first = await p.api('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content: 'hi' }] })
  assert.equal(first.status, 200, first.text)
  assert.equal((await p.api('POST', `/chats/${chatId}/threads/${threadId}/mode`, { mode: 'manual' })).status, 200)
  return chatId
}

async function say(p: Project, chatId: string, threadId: string, text: string): Promise<void> {
  const response = await p.api('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content: text }] })
  assert.equal(response.status, 202, response.text)
}

async function mint(p: Project, body?: unknown): Promise<{ token: string; expires_at: string; thread_id: string | null }> {
  const response = await p.api('POST', '/threads/events/tokens', body)
  assert.equal(response.status, 200, response.text)
  return response.body
}

/** Opens a stream over real HTTP; a non-200 answer comes back as its status and body. */
async function open(route: string, headers: Record<string, string> = {}, base = baseUrl): Promise<{ status: number; body?: any; client?: SseClient; headers: http.IncomingHttpHeaders }> {
  const opened = await SseClient.open(base + route, headers)
  if (opened.client) {
    clients.push(opened.client)
    await opened.client.waitFor((client) => client.frames.length > 0, 'the first frame')
  }
  return opened
}

async function until(predicate: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 800 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
  assert.ok(predicate(), `timed out waiting for ${label}`)
}

describe('CORS', () => {
  it('is off by default: no CORS headers, and a preflight is just an unauthenticated request', async () => {
    const p = await project()
    const get = await ctx.publicApp.request('/bots', { headers: { ...p.auth, origin: ORIGIN } })
    assert.equal(get.status, 200)
    const preflight = await ctx.publicApp.request('/bots', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } })
    assert.equal(preflight.status, 401)
    for (const response of [get, preflight]) {
      for (const name of response.headers.keys()) assert.doesNotMatch(name, /^access-control-/, `${name} sent without WORKEN_CORS_ORIGINS`)
    }
  })

  it('answers a preflight from an allowed origin before auth, with methods, headers and max-age', async () => {
    const app = publicApp({ corsOrigins: [ORIGIN, 'http://localhost:5173'] })
    const preflight = await app.request('/threads/events/tokens', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-origin'), ORIGIN)
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null, 'bearer keys, never cookies')
    const methods = preflight.headers.get('access-control-allow-methods')!.split(',')
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) assert.ok(methods.includes(method), method)
    const allowed = preflight.headers.get('access-control-allow-headers')!.toLowerCase().split(',')
    for (const header of ['authorization', 'content-type', 'last-event-id', 'idempotency-key', 'x-stainless-os']) assert.ok(allowed.includes(header), header)
    assert.equal(preflight.headers.get('access-control-max-age'), String(CORS_MAX_AGE))
    assert.match(preflight.headers.get('vary') ?? '', /Origin/)
  })

  it('gives a disallowed origin no Access-Control-Allow-Origin, on a preflight or a request', async () => {
    const p = await project()
    const app = publicApp({ corsOrigins: [ORIGIN] })
    const preflight = await app.request('/bots', { method: 'OPTIONS', headers: { origin: OTHER_ORIGIN, 'access-control-request-method': 'GET' } })
    assert.equal(preflight.headers.get('access-control-allow-origin'), null)
    // Origins are compared exactly: not by prefix, not by suffix.
    for (const origin of [OTHER_ORIGIN, `${ORIGIN}.evil.test`, 'http://app.example.test', 'null']) {
      const response = await app.request('/bots', { headers: { ...p.auth, origin } })
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('access-control-allow-origin'), null, origin)
    }
  })

  it('puts the headers on answers and on errors (401, 404, 405), so the page can read them', async () => {
    const p = await project()
    const app = publicApp({ corsOrigins: [ORIGIN] })
    const answers = [
      await app.request('/bots', { headers: { ...p.auth, origin: ORIGIN } }),
      await app.request('/bots', { headers: { origin: ORIGIN } }),
      await app.request('/bots/bot_missing', { headers: { ...p.auth, origin: ORIGIN } }),
      await app.request('/healthz', { method: 'DELETE', headers: { ...p.auth, origin: ORIGIN } }),
    ]
    assert.deepEqual(answers.map((response) => response.status), [200, 401, 404, 405])
    for (const response of answers) {
      assert.equal(response.headers.get('access-control-allow-origin'), ORIGIN, String(response.status))
      const exposed = response.headers.get('access-control-expose-headers')!.toLowerCase().split(',')
      for (const header of ['x-request-id', 'retry-after', 'allow', 'x-total-count']) assert.ok(exposed.includes(header), header)
      assert.match(response.headers.get('vary') ?? '', /Origin/)
    }
    assert.deepEqual(await answers[1]!.json(), { error: 'Unauthorized', code: 'unauthorized' })
  })

  it("'*' allows any origin", async () => {
    const app = publicApp({ corsOrigins: ['*'] })
    const preflight = await app.request('/bots', { method: 'OPTIONS', headers: { origin: OTHER_ORIGIN, 'access-control-request-method': 'GET' } })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*')
    assert.equal((await app.request('/bots', { headers: { origin: OTHER_ORIGIN } })).headers.get('access-control-allow-origin'), '*')
  })

  it('is never on the internal API', async () => {
    const p = await project()
    const internal = createApp({ kind: 'internal', services: ctx.services, logger: silentLogger, corsOrigins: ['*'] })
    const member = { 'worken-organization': p.organizationId, 'worken-project': p.projectId, 'worken-user': p.userId }
    const response = await internal.request('/bots', { headers: { ...member, origin: ORIGIN } })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('access-control-allow-origin'), null)
    const preflight = await internal.request('/bots', { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } })
    assert.equal(preflight.headers.get('access-control-allow-origin'), null)
  })

  it('covers the event stream, which a page opens cross-origin', async () => {
    const p = await project()
    const base = await listen(publicApp({ corsOrigins: [ORIGIN] }))
    const { token } = await mint(p)
    const opened = await open(`/threads/events?token=${token}`, { origin: ORIGIN }, base)
    assert.equal(opened.status, 200)
    assert.equal(opened.headers['access-control-allow-origin'], ORIGIN)
    assert.match(String(opened.headers['content-type']), /^text\/event-stream/)
  })
})

describe('WORKEN_CORS_ORIGINS', () => {
  it('takes exact origins or *, and refuses anything a browser would never send as Origin', () => {
    assert.deepEqual(loadConfig({}).corsOrigins, [])
    assert.deepEqual(loadConfig({ WORKEN_CORS_ORIGINS: `${ORIGIN}, http://localhost:5173,https://[::1]:8443` }).corsOrigins, [ORIGIN, 'http://localhost:5173', 'https://[::1]:8443'])
    assert.deepEqual(loadConfig({ WORKEN_CORS_ORIGINS: ' * ' }).corsOrigins, ['*'])
    for (const [value, problem] of [
      [`${ORIGIN}/`, /'https:\/\/app\.example\.test\/' is not an origin.*did you mean 'https:\/\/app\.example\.test'/],
      [`${ORIGIN}/app`, /is not an origin/],
      ['https://APP.example.test', /did you mean 'https:\/\/app\.example\.test'/],
      ['https://app.example.test:443', /did you mean 'https:\/\/app\.example\.test'/],
      ['app.example.test', /'app\.example\.test' is not an origin/],
      ['ftp://files.example.test', /is not an origin/],
      ['null', /is not an origin/],
      [`*,${ORIGIN}`, /cannot be combined/],
    ] as const) {
      assert.throws(() => loadConfig({ WORKEN_CORS_ORIGINS: value }), (error: Error) => {
        assert.match(error.message, /WORKEN_CORS_ORIGINS: /, value)
        assert.match(error.message, problem, value)
        return true
      })
    }
  })

  it('reaches the public listener of a started server', { timeout: 90_000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-cors-'))
    const server = await startServerProcess({ WORKEN_DATA_DIR: dataDir, WORKEN_CORS_ORIGINS: ORIGIN })
    try {
      const init = { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } }
      const preflight = await fetch(`${server.publicUrl}/bots`, init)
      assert.equal(preflight.status, 204)
      assert.equal(preflight.headers.get('access-control-allow-origin'), ORIGIN)
      assert.equal((await fetch(`${server.internalUrl}/bots`, init)).headers.get('access-control-allow-origin'), null)
    } finally {
      await server.stop()
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('event-stream tokens', () => {
  it('let a real EventSource, which cannot send headers, subscribe with ?token=', { timeout: 60_000 }, async () => {
    const p = await project()
    const chatId = await newThread(p, 't-browser')
    const started = Date.now()
    const response = await p.api('POST', '/threads/events/tokens')
    assert.equal(response.status, 200, response.text)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    const { token, expires_at, thread_id } = response.body
    assert.match(token, /^est_[A-Za-z0-9_-]+\.[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/)
    assert.equal(thread_id, null)
    const lifetime = Date.parse(expires_at) - started
    assert.ok(lifetime > 295_000 && lifetime <= 301_000, `five minutes by default, got ${lifetime} ms`)

    const received: any[] = []
    let opened = 0
    const source = new EventSource(`${baseUrl}/threads/events?token=${encodeURIComponent(token)}`)
    source.onopen = () => void opened++
    source.onmessage = (message) => void received.push(JSON.parse(message.data))
    try {
      await until(() => opened === 1, 'the connection')
      await say(p, chatId, 't-browser', 'from the page')
      await until(() => received.some((event) => event.message?.content === 'from the page'), 'the message')
      assert.equal(received[0].thread_id, 't-browser')
      assert.equal(received[0].type, 'message_created')
    } finally {
      source.close()
    }
  })

  it('limited to a thread: opens that thread only, and sees only its events', async () => {
    const p = await project()
    const chatId = await newThread(p, 't-mine')
    await newThread(p, 't-other', chatId)
    const scoped = await mint(p, { thread_id: 't-mine', expires_in: 60 })
    assert.equal(scoped.thread_id, 't-mine')
    const lifetime = Date.parse(scoped.expires_at) - Date.now()
    assert.ok(lifetime > 55_000 && lifetime <= 61_000, String(lifetime))

    const stream = await open(`/threads/events/t-mine?token=${scoped.token}`)
    assert.equal(stream.status, 200)
    for (const route of ['/threads/events', '/threads/events/t-other', '/threads/events/t-missing']) {
      const refused = await open(`${route}?token=${scoped.token}`)
      assert.equal(refused.status, 401, route)
      assert.deepEqual(refused.body, { error: 'Unauthorized', code: 'unauthorized' })
    }
    await say(p, chatId, 't-other', 'not for this page')
    await say(p, chatId, 't-mine', 'for this page')
    await stream.client!.waitForMessage('for this page')
    assert.ok(stream.client!.events.every((e) => e.event.thread_id === 't-mine'))
  })

  it('refuse expired, forged, tampered and foreign tokens with 401', async () => {
    const p = await project()
    const other = await project()
    const { token } = await mint(p)
    const [, payload, signature] = /^est_([^.]+)\.(.+)$/.exec(token)!
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const garbage = Buffer.from('not json').toString('base64url')
    // Signed with another server's key: what a token from elsewhere, or one made up, looks like.
    const elsewhere = new EventTokens(new SecretBox([randomBytes(32)]), ctx.services.apiKeys, ctx.services.threads)
    const refused = {
      expired: ctx.services.eventTokens.sign({ ...claims, x: now - 1 }),
      'another project in a validly signed token': ctx.services.eventTokens.sign({ ...claims, p: other.projectId }),
      "another project's key in a validly signed token": ctx.services.eventTokens.sign({ ...claims, k: other.keyId }),
      'a key that does not exist': ctx.services.eventTokens.sign({ ...claims, k: 'key_missing' }),
      'claims altered, signature kept': `est_${encode({ ...claims, p: other.projectId, k: other.keyId })}.${signature}`,
      'expiry extended, signature kept': `est_${encode({ ...claims, x: now + 86_400 })}.${signature}`,
      'signed by another server': elsewhere.sign(claims),
      'signature truncated': token.slice(0, -1),
      'signature of another token': `est_${payload}.${/^est_[^.]+\.(.+)$/.exec((await mint(other)).token)![1]}`,
      'not JSON inside': `est_${garbage}.${ctx.services.secrets.sign(garbage, 'event-stream-token')}`,
      'signed for another purpose': `est_${payload}.${ctx.services.secrets.sign(payload!, 'webhook')}`,
      empty: '',
      'the API key itself': p.key,
    }
    for (const [name, value] of Object.entries(refused)) {
      const response = await ctx.publicApp.request(`/threads/events?token=${encodeURIComponent(value)}`)
      assert.equal(response.status, 401, name)
      assert.deepEqual(await response.json(), { error: 'Unauthorized', code: 'unauthorized' }, name)
    }
    // The untouched token still works (the refusals were not for some other reason).
    assert.equal((await open(`/threads/events?token=${token}`)).status, 200)
  })

  it('expire: a token that worked stops opening streams after its lifetime', async () => {
    const p = await project()
    let now = Date.now()
    const clocked = new EventTokens(ctx.services.secrets, ctx.services.apiKeys, ctx.services.threads, () => now)
    const app = publicApp({ services: { eventTokens: clocked } })
    const response = await app.request('/threads/events/tokens', { method: 'POST', headers: { ...p.auth, 'content-type': 'application/json' }, body: JSON.stringify({ expires_in: 10 }) })
    const { token } = (await response.json()) as { token: string }
    const head = () => app.request(`/threads/events?token=${token}`, { method: 'HEAD' })
    assert.equal((await head()).status, 200)
    now += 9_000
    assert.equal((await head()).status, 200)
    now += 1_000
    assert.equal((await head()).status, 401)
  })

  it('are accepted by the event streams only', async () => {
    const p = await project()
    await newThread(p, 't-only')
    const { token } = await mint(p)
    const q = `token=${encodeURIComponent(token)}`
    for (const [method, route] of [
      ['GET', '/bots'],
      ['GET', '/threads'],
      ['GET', '/threads/t-only'],
      ['GET', '/chats'],
      ['GET', `/projects/${p.projectId}/api-keys`],
      ['GET', '/files'],
      ['POST', '/threads/events/tokens'],
      ['POST', '/threads/t-only/messages'],
      ['GET', '/threads/events/'],
      ['GET', '/threads/events/t-only/extra'],
    ]) {
      const response = await ctx.publicApp.request(`${route}?${q}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined })
      assert.equal(response.status, 401, `${method} ${route}`)
    }
    // The internal API knows nothing of tokens: its trusted headers are its only way in.
    const internal = await ctx.internalApp.request(`/threads/events?${q}`)
    assert.equal(internal.status, 401)
  })

  it('never read an sk- key from the URL', async () => {
    const p = await project()
    for (const query of [`token=${p.key}`, `api_key=${p.key}`, `key=${p.key}`, `authorization=Bearer%20${p.key}`, `access_token=${p.key}`]) {
      assert.equal((await ctx.publicApp.request(`/threads/events?${query}`)).status, 401, query)
      assert.equal((await ctx.publicApp.request(`/bots?${query}`)).status, 401, query)
    }
  })

  it('a key in the Authorization header wins over a token in the URL', async () => {
    const p = await project()
    const opened = await open('/threads/events?token=est_bogus', p.auth)
    assert.equal(opened.status, 200)
  })

  it('issuance: a thread of another project or none is 404; bad input is 400/422; no key is 401', async () => {
    const p = await project()
    const other = await project()
    await newThread(other, 't-theirs')
    const theirs = await p.api('POST', '/threads/events/tokens', { thread_id: 't-theirs' })
    assert.equal(theirs.status, 404)
    assert.equal(theirs.body.code, 'not_found')
    assert.equal((await p.api('POST', '/threads/events/tokens', { thread_id: 't-nowhere' })).status, 404)
    for (const [body, field] of [
      [{ expires_in: 3601 }, 'expires_in'],
      [{ expires_in: 5 }, 'expires_in'],
      [{ expires_in: 1.5 }, 'expires_in'],
      [{ expires_in: '60' }, 'expires_in'],
      [{ thread_id: 'no spaces' }, 'thread_id'],
      [{ scope: 'all' }, 'scope'],
    ] as const) {
      const response = await p.api('POST', '/threads/events/tokens', body)
      assert.equal(response.status, 422, JSON.stringify(body))
      assert.equal(response.body.details[0].path, field)
    }
    assert.equal((await p.api('POST', '/threads/events/tokens', '{not json')).status, 400)
    const longest = await mint(p, { expires_in: 3600 })
    assert.ok(Date.parse(longest.expires_at) - Date.now() > 3_595_000)
    assert.equal((await ctx.asKey()('POST', '/threads/events/tokens')).status, 401)
    // Minted with a key only: the internal API does not serve the route at all.
    const member = ctx.asMember(p)
    assert.equal((await member('POST', '/threads/events/tokens', {})).status, 405)
  })

  it('die with the key that issued them: refused at once, and their open streams end', { timeout: 60_000 }, async () => {
    const p = await project()
    const chatId = await newThread(p, 't-revoked')
    const second = (await p.api('POST', `/projects/${p.projectId}/api-keys`, { name: 'backend' })).body
    const api = ctx.asKey(second.key)
    const { token } = (await api('POST', '/threads/events/tokens')).body
    // The default re-check (a minute): the revocation itself must end the stream.
    const base = await listen(publicApp({ services: {} }))
    const received: any[] = []
    let opened = 0
    const source = new EventSource(`${base}/threads/events?token=${token}`)
    source.onopen = () => void opened++
    source.onmessage = (message) => void received.push(JSON.parse(message.data))
    const untouched = await open(`/threads/events?token=${(await mint(p)).token}`, {}, base)
    try {
      await until(() => opened === 1, 'the connection')
      await say(p, chatId, 't-revoked', 'before')
      await until(() => received.some((event) => event.message?.content === 'before'), 'the message')
      const deleted = Date.now()
      assert.equal((await p.api('DELETE', `/projects/${p.projectId}/api-keys/${second.id}`)).status, 200)
      // Refused at once (the key's cached verdict goes with it), not after a cache expiry.
      assert.equal((await ctx.publicApp.request(`/threads/events?token=${token}`, { method: 'HEAD' })).status, 401)
      // The stream ends; EventSource reconnects, gets 401, and stops for good.
      await until(() => source.readyState === EventSource.CLOSED, 'the EventSource to stop')
      assert.ok(Date.now() - deleted < 10_000, 'ended by the revocation (then the retry hint of 1–5 s), not by the minute re-check')
      assert.equal(opened, 1)
      assert.equal(untouched.client!.ended, false, "another key's token keeps its stream")
    } finally {
      source.close()
    }
  })

  it('stay out of the logs: the request log has the path, never the query string', async () => {
    const p = await project()
    const lines: string[] = []
    const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) }))
    const app = publicApp({ logger })
    const { token } = await mint(p)
    assert.equal((await app.request(`/threads/events?token=${token}`, { method: 'HEAD' })).status, 200)
    assert.equal((await app.request(`/threads/events?token=${token}x`, { method: 'HEAD' })).status, 401)
    assert.equal((await app.request(`/bots?token=${token}`)).status, 401)
    const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request')
    assert.deepEqual(requests.map((entry) => [entry.path, entry.status]), [['/threads/events', 200], ['/threads/events', 401], ['/bots', 401]])
    assert.ok(!lines.join('').includes(token.slice(4, 24)), 'no part of the token in any log line')
  })
})

describe('signing (SecretBox)', () => {
  it('verifies across key rotation, and only for its purpose', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)]
    const signed = new SecretBox([oldKey]).sign('payload', 'purpose')
    const rotated = new SecretBox([newKey, oldKey])
    assert.equal(rotated.verify('payload', signed, 'purpose'), true)
    assert.equal(rotated.verify('payload', signed, 'other purpose'), false)
    assert.equal(rotated.verify('payload!', signed, 'purpose'), false)
    assert.equal(new SecretBox([newKey]).verify('payload', signed, 'purpose'), false, 'the old key removed')
    assert.notEqual(rotated.sign('payload', 'purpose'), signed, 'the first key signs')
  })
})
