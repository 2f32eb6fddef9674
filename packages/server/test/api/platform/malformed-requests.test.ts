// Requests broken below the API's level (found by `npm run security:review`): they get an answer
// in the error shape, and none of them is logged as the server's own failure.
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { createApp } from '../../../src/app.ts'
import { serveHttp } from '../../../src/platform/http/listener.ts'
import { createTestContext, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let server: Server
let port: number
const logLines: any[] = []

before(async () => {
  ctx = await createTestContext()
  const sink = new Writable({ write(chunk, _encoding, done) { logLines.push(JSON.parse(String(chunk))); done() } })
  const app = createApp({ kind: 'public', services: ctx.services, logger: pino({ level: 'info' }, sink) })
  server = await new Promise<Server>((resolve) => {
    const made = serveHttp(app.fetch, { port: 0, hostname: '127.0.0.1', timeouts: { headersMs: 2000, requestMs: 5000, bodyIdleMs: 2000, keepAliveMs: 1000 } }, () => resolve(made))
  })
  port = (server.address() as AddressInfo).port
})
after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await ctx.close()
})

/** Sends raw bytes and keeps its end open until the server answers and closes (Node drops a half-closed client's request). */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(bytes))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', () => {})
    socket.on('close', () => resolve(text))
    setTimeout(() => socket.destroy(), 3000).unref()
  })
}

const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
const errorsLogged = () => logLines.filter((line) => line.level >= 50)

it('a malformed chunked body is a 400 in the error shape, and not logged as an error of the server', async () => {
  const text = await raw('POST /bots HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')
  assert.match(text, /^HTTP\/1\.1 400 /, text)
  assert.equal(bodyOf(text).code, 'malformed_request')
  await sleep(200)
  assert.deepEqual(errorsLogged(), [])
  assert.ok(!logLines.some((line) => line.status === 500), JSON.stringify(logLines))
})

it('OPTIONS * (asterisk form) is answered 204 with Allow; another method with * is a 400 in the error shape', async () => {
  const options = await raw('OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(options, /^HTTP\/1\.1 204 /, options)
  assert.match(options, /\r\nallow: [A-Z, ]*GET[A-Z, ]*\r\n/i)
  const get = await raw('GET * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(get, /^HTTP\/1\.1 400 /, get)
  assert.equal(bodyOf(get).code, 'malformed_request')
  assert.deepEqual(errorsLogged(), [])
})

it('the absolute form (a proxy-style target, which RFC 9112 says a server must accept) reaches the route', async () => {
  const text = await raw('GET http://a.test/healthz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  assert.match(text, /^HTTP\/1\.1 200 /, text)
  assert.deepEqual(bodyOf(text), { status: 'ok' })
})
