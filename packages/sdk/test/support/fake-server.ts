import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeRequest = { method: string; path: string; headers: http.IncomingHttpHeaders; body: string; at: number }

/** What the fake answers one request with; `destroy` drops the connection without an answer. */
export type FakeReply =
  | { status?: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }
  | { destroy: true }
  | ((request: FakeRequest, response: http.ServerResponse) => void)

/**
 * A scriptable HTTP server on 127.0.0.1 for what the real server cannot be made
 * to do on cue (503 then 200, a 429 with a given Retry-After, a dropped
 * connection): replies are taken from the queue in order, then the default.
 */
export type FakeServer = {
  url: string
  requests: FakeRequest[]
  queue(...replies: FakeReply[]): void
  otherwise(reply: FakeReply): void
  close(): Promise<void>
}

export async function startFakeServer(): Promise<FakeServer> {
  const requests: FakeRequest[] = []
  const queued: FakeReply[] = []
  let fallback: FakeReply = { status: 200, body: {} }
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const entry: FakeRequest = { method: request.method ?? '', path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() }
      requests.push(entry)
      const reply = queued.shift() ?? fallback
      if (typeof reply === 'function') return reply(entry, response)
      if ('destroy' in reply) return void request.socket.destroy()
      const send = () => {
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
        response.writeHead(reply.status ?? 200, { 'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json', 'x-request-id': `req_fake_${requests.length}`, ...reply.headers })
        response.end(body)
      }
      if (reply.delayMs) setTimeout(send, reply.delayMs)
      else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    queue: (...replies) => void queued.push(...replies),
    otherwise: (reply) => void (fallback = reply),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The server's error body for a status, as `handleError` writes it. */
export function errorBody(status: number, code: string, message?: string): { error: string; code: string; message?: string } {
  return { error: http.STATUS_CODES[status] ?? 'Error', code, ...(message ? { message } : {}) }
}
