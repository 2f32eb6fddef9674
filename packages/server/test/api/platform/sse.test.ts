// The SSE writer (src/platform/http/sse.ts) both ways it is served: through the Node listener the
// server makes (serveHttp), where an unpaced stream's frames go straight to the socket once every
// middleware has set its headers, and through `app.request()`, where the Response body is read.
import assert from 'node:assert/strict'
import http, { type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Hono } from 'hono'
import { serveHttp } from '../../../src/platform/http/listener.ts'
import { sseResponse, type SseChannel } from '../../../src/platform/http/sse.ts'
import { createTestContext, openaiAt, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

/** What the producer of the last stream saw, for the assertions. */
let producer: { channel?: SseChannel; goneSeen?: Promise<boolean> } = {}
const release = { next: () => {} }

const app = new Hono()
// Like the rate limit and request id: headers set on the way back, after the handler answered.
app.use(async (c, next) => {
  await next()
  c.res.headers.set('x-set-after', 'yes')
})
app.get('/frames', () =>
  sseResponse(60_000, async (channel) => {
    producer = { channel }
    channel.send({ n: 1 })
    await new Promise<void>((resolve) => { release.next = resolve })
    channel.send({ n: 2 })
    channel.send({ n: 3 })
    channel.done()
  }))
app.get('/until-gone', () =>
  sseResponse(60_000, async (channel) => {
    producer = { channel }
    producer.goneSeen = (async () => {
      for (let i = 0; i < 200 && !channel.clientGone; i++) {
        channel.send({ tick: i })
        await sleep(10)
      }
      return channel.clientGone
    })()
    await producer.goneSeen
  }))

let server: Server
let base: string
before(async () => {
  server = await new Promise<Server>((resolve) => {
    const made = serveHttp(app.fetch, { port: 0, hostname: '127.0.0.1', timeouts: { headersMs: 5000, requestMs: 0, bodyIdleMs: 5000, keepAliveMs: 1000 } }, () => resolve(made))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('SSE through the Node listener (frames straight to the socket)', () => {
  it('sends the final headers, each frame as it is written, then [DONE], and frames of one turn in one write', async () => {
    const writes: string[] = []
    const original = http.ServerResponse.prototype.write
    http.ServerResponse.prototype.write = function (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
      writes.push(String(chunk))
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
    } as typeof original
    try {
      const response = await fetch(`${base}/frames`)
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8')
      assert.equal(response.headers.get('x-set-after'), 'yes', 'a header set after the handler reaches the client')
      const reader = response.body!.getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      assert.equal(first, 'data: {"n":1}\n\n', 'the first frame arrives while the producer waits')
      release.next()
      let rest = ''
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value)
      assert.equal(rest, 'data: {"n":2}\n\ndata: {"n":3}\n\ndata: [DONE]\n\n')
      assert.deepEqual(writes, ['data: {"n":1}\n\n', 'data: {"n":2}\n\ndata: {"n":3}\n\ndata: [DONE]\n\n'], 'one write per turn of the event loop')
    } finally {
      http.ServerResponse.prototype.write = original
    }
  })

  it('tells the producer when the client leaves', async () => {
    const controller = new AbortController()
    const response = await fetch(`${base}/until-gone`, { signal: controller.signal })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    assert.equal(await producer.goneSeen, true)
  })
})

/** Counts what the listener writes to sockets: strings are frames written straight; anything else came through a body. */
async function spyingOnWrites<T>(port: number, run: () => Promise<T>): Promise<{ result: T; writes: unknown[] }> {
  const writes: unknown[] = []
  const original = http.ServerResponse.prototype.write
  http.ServerResponse.prototype.write = function (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (this.socket?.localPort === port) writes.push(chunk)
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof original
  try {
    return { result: await run(), writes }
  } finally {
    http.ServerResponse.prototype.write = original
  }
}

describe('a reply stream through the whole public app and its listener', () => {
  let llm: LlmServer
  let ctx: TestContext
  let appServer: Server
  before(async () => {
    llm = await startLlmServer()
    ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0 } })
    appServer = await new Promise<Server>((resolve) => {
      const made = serveHttp(ctx.publicApp.fetch, { port: 0, hostname: '127.0.0.1', timeouts: { headersMs: 5000, requestMs: 0, bodyIdleMs: 5000, keepAliveMs: 1000 } }, () => resolve(made))
    })
  })
  after(async () => {
    appServer.closeAllConnections()
    await new Promise((resolve) => appServer.close(resolve))
    await ctx.close()
    await llm.close()
  })

  it('goes straight to the socket, with every middleware\'s headers', async () => {
    const owner = await ctx.seed()
    const api = ctx.asKey(owner.key)
    const bot = (await api('POST', '/bots', { name: 'b' })).body
    const chat = (await api('POST', '/chats', { bot_id: bot.id, name: 'c' })).body
    llm.replyWith({ text: ['one ', 'two ', 'three'], chunkDelayMs: 5 })
    const port = (appServer.address() as AddressInfo).port
    const url = `http://127.0.0.1:${port}/chats/${chat.id}/threads/t/stream`
    const { result, writes } = await spyingOnWrites(port, async () => {
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) })
      return { response, text: await response.text() }
    })
    assert.equal(result.response.status, 200)
    assert.ok(result.response.headers.get('x-request-id'), 'the request id header')
    assert.match(result.text, /"textDelta":"one "[\s\S]*"textDelta":"three"[\s\S]*"type":"finish"[\s\S]*data: \[DONE\]\n\n$/)
    assert.ok(writes.length > 0 && writes.every((chunk) => typeof chunk === 'string'), 'frames were written as text, not read from a body')
    assert.equal(writes.join(''), result.text)
  })
})

describe('SSE through app.request (the Response body)', () => {
  it('streams the same frames, headers included', async () => {
    const response = await app.request('/frames')
    assert.equal(response.headers.get('x-set-after'), 'yes')
    const reader = response.body!.getReader()
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: {"n":1}\n\n')
    release.next()
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value)
    assert.equal(rest, 'data: {"n":2}\n\ndata: {"n":3}\n\ndata: [DONE]\n\n')
  })

  it('tells the producer when the reader cancels', async () => {
    const response = await app.request('/until-gone')
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    assert.equal(await producer.goneSeen, true)
  })
})
