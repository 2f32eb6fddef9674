import assert from 'node:assert/strict'
import fs from 'node:fs'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { serve } from '@hono/node-server'
import pino from 'pino'
import { createApp, type App } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { CORS_MAX_AGE } from '../src/platform/http/cors.ts'
import type { Services } from '../src/services.ts'
import { SseClient } from './events-client.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from './harness.ts'
import { startLlmServer, type LlmServer } from './llm-server.ts'
import { startServerProcess } from './process.ts'

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
      for (const header of ['x-request-id', 'retry-after', 'allow']) assert.ok(exposed.includes(header), header)
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
