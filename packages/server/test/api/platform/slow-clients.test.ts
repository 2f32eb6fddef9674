// Slow clients against a real listener, made as the server makes both of its own (serveHttp), with
// small timeouts: a client that stops sending, or sends too slowly, is answered 408 and cut within
// its timeout; a real client, a slow upload, a slow model and a long event stream are not.
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serveHttp, type RequestTimeouts } from '../../../src/platform/http/listener.ts'
import { SseClient } from '../../support/events-client.ts'
import { createTestContext, openaiAt, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

const TIMEOUTS: RequestTimeouts = { headersMs: 400, requestMs: 2000, bodyIdleMs: 400, keepAliveMs: 300 }

let llm: LlmServer
let ctx: TestContext
let owner: Seeded
let server: Server
let port: number

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, streamKeepaliveMs: 500 } })
  owner = await ctx.seed()
  server = await new Promise<Server>((resolve) => {
    const made = serveHttp(ctx.publicApp.fetch, { port: 0, hostname: '127.0.0.1', timeouts: TIMEOUTS }, () => resolve(made))
  })
  port = (server.address() as AddressInfo).port
})
after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await ctx.close()
  await llm.close()
})

/** Opens a raw connection, lets `talk` write to it, and reports what came back and when the server closed it. */
function rawConnection(talk: (socket: net.Socket) => void, options: { keepOpen?: boolean } = {}): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    // keepOpen: the client never closes its end, even when the server closes its own.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.keepOpen ?? false }, () => talk(socket))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', () => {}) // a reset after the answer is a close too
    // Keeping its end open, the client goes on writing: once the server has let go of the
    // connection, that is answered with a reset, which closes this end too.
    if (options.keepOpen) socket.on('end', () => {
      const timer = setInterval(() => (socket.writable ? socket.write('x') : clearInterval(timer)), 50)
      socket.on('close', () => clearInterval(timer))
    })
    socket.on('close', () => resolve({ text, closedAfterMs: performance.now() - started }))
    setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the connection open for 10 s; it sent: ${JSON.stringify(text)}`))
    }, 10_000).unref()
  })
}

function assertTimedOut(result: { text: string }) {
  assert.match(result.text, /^HTTP\/1\.1 408 Request Timeout\r\n/, result.text)
  assert.match(result.text, /\r\nconnection: close\r\n/i)
  assert.deepEqual(JSON.parse(result.text.slice(result.text.indexOf('\r\n\r\n') + 4)), {
    error: 'Request Timeout', code: 'request_timeout', message: 'The request was not received in time',
  })
}

const auth = () => `Authorization: Bearer ${owner.key}\r\n`

describe('slow clients are cut', () => {
  it('partial headers: 408 and closed within the headers timeout', async () => {
    const result = await rawConnection((socket) => socket.write(`POST /bots HTTP/1.1\r\nHost: worken.test\r\n${auth()}`))
    assertTimedOut(result)
    assert.ok(result.closedAfterMs < TIMEOUTS.headersMs + 600, `closed after ${result.closedAfterMs} ms`)
  })

  it('headers sent a line at a time, never finished: cut at the headers timeout', async () => {
    let timer: NodeJS.Timeout | undefined
    const result = await rawConnection((socket) => {
      socket.write('GET /bots HTTP/1.1\r\n')
      timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 50)
    })
    clearInterval(timer)
    assertTimedOut(result)
    assert.ok(result.closedAfterMs < TIMEOUTS.headersMs + 600, `closed after ${result.closedAfterMs} ms`)
  })

  it('a body that stops (Content-Length 100, 10 bytes sent): 408 and closed within the body idle timeout', async () => {
    const result = await rawConnection((socket) => socket.write(
      `POST /bots HTTP/1.1\r\nHost: worken.test\r\n${auth()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name": "`,
    ))
    assertTimedOut(result)
    assert.ok(result.closedAfterMs < TIMEOUTS.bodyIdleMs + 600, `closed after ${result.closedAfterMs} ms`)
    assert.ok(result.closedAfterMs < TIMEOUTS.requestMs, 'before the whole-request timeout')
  })

  it('a body that trickles (a byte every 100 ms): 408 and closed at the request timeout', async () => {
    let timer: NodeJS.Timeout | undefined
    const result = await rawConnection((socket) => {
      socket.write(`POST /bots HTTP/1.1\r\nHost: worken.test\r\n${auth()}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n`)
      timer = setInterval(() => socket.writable && socket.write(' '), 100)
    })
    clearInterval(timer)
    assertTimedOut(result)
    assert.ok(result.closedAfterMs >= TIMEOUTS.requestMs - 100 && result.closedAfterMs < TIMEOUTS.requestMs + 1200, `closed after ${result.closedAfterMs} ms`)
  })

  it('a connection that never sends a byte is closed at the headers timeout', async () => {
    const result = await rawConnection(() => {})
    assert.ok(result.closedAfterMs < TIMEOUTS.headersMs + 600, `closed after ${result.closedAfterMs} ms`)
  })

  it('a malformed request is answered and the connection closed, even if the client keeps it open', async () => {
    const result = await rawConnection((socket) => socket.write('NOT HTTP AT ALL\r\n\r\n'), { keepOpen: true })
    assert.match(result.text, /^HTTP\/1\.1 400 Bad Request\r\n/)
    assert.ok(result.closedAfterMs < 2000, `closed after ${result.closedAfterMs} ms`)
  })

  it('a timed-out client that keeps its end open is cut all the same', async () => {
    const result = await rawConnection((socket) => socket.write('GET /bots HTTP/1.1\r\n'), { keepOpen: true })
    assertTimedOut(result)
    assert.ok(result.closedAfterMs < TIMEOUTS.headersMs + 2000, `closed after ${result.closedAfterMs} ms`)
  })
})

describe('real clients are not', () => {
  it('a slow upload whose pauses stay under the idle timeout completes', async () => {
    const body = JSON.stringify({ name: 'Uploaded slowly', description: 'x'.repeat(200) })
    const parts = [body.slice(0, 60), body.slice(60, 120), body.slice(120, 180), body.slice(180)]
    const result = await rawConnection((socket) => {
      socket.write(`POST /bots HTTP/1.1\r\nHost: worken.test\r\n${auth()}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`)
      let i = 0
      const timer = setInterval(() => {
        socket.write(parts[i++]!)
        if (i === parts.length) clearInterval(timer)
      }, TIMEOUTS.bodyIdleMs / 2)
    })
    assert.match(result.text, /^HTTP\/1\.1 200 OK\r\n/, result.text)
    assert.equal(JSON.parse(result.text.slice(result.text.indexOf('\r\n\r\n') + 4)).name, 'Uploaded slowly')
  })

  it('a reply that takes longer than every timeout to start and to finish (a slow model) is not cut', async () => {
    const bot = (await ctx.asKey(owner.key)('POST', '/bots', { name: 'Slow' })).body
    await ctx.asKey(owner.key)('POST', `/bots/${bot.id}/settings`, { ai: { model: { id: 'openai/gpt-4o-mini' }, memory: { generateTitle: false } } })
    const chat = (await ctx.asKey(owner.key)('POST', '/chats', { bot_id: bot.id, name: 'Slow' })).body
    llm.replyWith({ text: ['Thanks ', 'for ', 'waiting.'], delayMs: TIMEOUTS.requestMs + 500 })
    const started = performance.now()
    const response = await fetch(`http://127.0.0.1:${port}/chats/${chat.id}/threads/t-slow/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Take your time' }] }),
    })
    const text = await response.text()
    assert.equal(response.status, 200, text)
    assert.ok(performance.now() - started >= TIMEOUTS.requestMs + 500)
    assert.match(text, /waiting\./)
  })

  it('an event stream outlives every timeout', async () => {
    const opened = await SseClient.open(`http://127.0.0.1:${port}/threads/events`, { authorization: `Bearer ${owner.key}` })
    assert.equal(opened.status, 200)
    const stream = opened.client!
    try {
      await sleep(TIMEOUTS.requestMs + 800)
      assert.equal(stream.closed, false, 'still open')
      assert.ok(stream.frames.filter((frame) => frame.comments.includes('keepalive')).length >= 3, 'keepalives kept coming')
    } finally {
      stream.close()
    }
  })

  it('a keep-alive connection carries requests; idle, it is closed after the keep-alive timeout', async () => {
    const result = await rawConnection((socket) => {
      socket.write(`GET /bots HTTP/1.1\r\nHost: worken.test\r\n${auth()}\r\n`)
      setTimeout(() => socket.writable && socket.write(`GET /bots HTTP/1.1\r\nHost: worken.test\r\n${auth()}\r\n`), TIMEOUTS.keepAliveMs / 2)
    })
    assert.equal(result.text.match(/HTTP\/1\.1 200 OK/g)?.length, 2, result.text)
    // Node adds a second of grace to the keep-alive timeout (keepAliveTimeoutBuffer).
    assert.ok(result.closedAfterMs < TIMEOUTS.keepAliveMs * 1.5 + 1000 + 600, `closed after ${result.closedAfterMs} ms`)
  })
})
