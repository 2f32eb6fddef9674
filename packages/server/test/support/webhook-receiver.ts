import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type ReceivedWebhook = { path: string; headers: http.IncomingHttpHeaders; body: string; at: number }

export type ReceiverReply = { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number }

/** A real HTTP server that records the webhooks it gets and answers as scripted (200 by default). */
export type WebhookReceiver = {
  url: string
  received: ReceivedWebhook[]
  /** Every request from now on gets this answer (or what the function returns). */
  answer(reply: ReceiverReply | ((request: ReceivedWebhook) => ReceiverReply)): void
  /** Resolves when `count` requests have arrived in total. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>
  close(): Promise<void>
}

export async function startReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = []
  let reply: ReceiverReply | ((request: ReceivedWebhook) => ReceiverReply) = { status: 200 }
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const entry = { path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.timeOrigin + performance.now() }
      received.push(entry)
      for (const waiter of waiters.filter((w) => received.length >= w.count)) waiter.resolve()
      const answer = typeof reply === 'function' ? reply(entry) : reply
      const send = () => {
        if (response.destroyed) return
        response.writeHead(answer.status ?? 200, { 'content-type': 'text/plain', ...answer.headers })
        response.end(answer.body ?? 'ok')
      }
      if (answer.delayMs) setTimeout(send, answer.delayMs)
      else send()
    })
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answer(next) {
      reply = next
    },
    waitFor(count, timeoutMs = 10_000) {
      if (received.length >= count) return Promise.resolve(received)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited for ${count} webhooks, got ${received.length}`)), timeoutMs)
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(received) } })
      })
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
