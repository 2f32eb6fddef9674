// What every part of the security review shares: HTTP calls that never throw, a seeded
// random generator, waiting, and the figures each part reports.
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { seededRandom } from '../common.ts'

/** One row of a backend's summary table. `expected` is shown as written; `ok` null = information only. */
export type Figure = { figure: string; value: string | number; expected: string; ok: boolean | null; note?: string }

/** A finding to print in full under the table: what was sent, what came back, how to reproduce. */
export type Finding = { part: string; summary: string; request?: string; response?: string }

/** What a part returns: its rows, and the findings behind any FAIL. */
export type PartResult = { figures: Figure[]; findings: Finding[] }

export type Reply = {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  /** Parsed JSON body, or undefined when it is not JSON. */
  json: any
  contentType: string
  ms: number
}

/** A request that did not get an answer: the connection failed, was reset, or timed out. */
export type Failure = { status: 0; error: string; ms: number }

/**
 * One keep-alive agent per review, with generous socket counts: 200 load clients must not
 * queue behind a small pool (that would measure the pool, not the server).
 */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 })

export type RawRequest = {
  method: string
  /** Sent as is: already percent-encoded where it must be (invalid bytes are the point of some cases). */
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  timeoutMs?: number
  /**
   * For requests that may open an event stream (which never ends by itself): an event
   * stream's answer is read this long, then the connection is closed. Unset: read to the end.
   */
  streamReadMs?: number
}

/**
 * One HTTP request with node:http, not fetch: fetch normalises URLs and refuses some header
 * and body combinations, and the review sends exactly what it means to (raw percent escapes,
 * a wrong content-type, a body on a GET). Never throws: a failure is `{ status: 0 }`.
 */
export function send(base: string, request: RawRequest): Promise<Reply | Failure> {
  const started = performance.now()
  const url = new URL(base)
  return new Promise((resolve) => {
    let settled = false
    const done = (value: Reply | Failure) => {
      if (settled) return
      settled = true
      resolve(value)
    }
    const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body)
    const headers: Record<string, string> = { ...request.headers }
    if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) headers['content-length'] = String(body.length)
    let req: http.ClientRequest
    try {
      req = http.request({ host: url.hostname, port: url.port, method: request.method, path: request.path, headers, agent })
    } catch (error) {
      // node:http refuses some paths and header values itself; that request never left.
      done({ status: 0, error: `not sent: ${(error as Error).message}`, ms: 0 })
      return
    }
    req.setTimeout(request.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer within ${request.timeoutMs ?? 30_000} ms`)))
    req.on('error', (error) => done({ status: 0, error: (error as NodeJS.ErrnoException).code ?? error.message, ms: performance.now() - started }))
    req.on('response', (response) => {
      const chunks: Buffer[] = []
      const contentType = String(response.headers['content-type'] ?? '')
      const finish = () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try {
          json = JSON.parse(text)
        } catch {
          json = undefined
        }
        done({ status: response.statusCode ?? 0, headers: response.headers, text, json, contentType, ms: performance.now() - started })
      }
      if (request.streamReadMs !== undefined && contentType.startsWith('text/event-stream')) {
        // Read a little of the stream (what a leak would show first), then hang up.
        const timer = setTimeout(() => {
          finish()
          req.destroy()
        }, request.streamReadMs)
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          clearTimeout(timer)
          finish()
        })
        response.on('error', () => {
          clearTimeout(timer)
          finish()
        })
        return
      }
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', finish)
      response.on('error', (error) => done({ status: 0, error: `answer cut: ${(error as NodeJS.ErrnoException).code ?? error.message}`, ms: performance.now() - started }))
    })
    req.end(body)
  })
}

/** JSON call with an API key (or other headers); the common case. */
export function api(base: string, key: string | Record<string, string>, method: string, path: string, body?: unknown): Promise<Reply | Failure> {
  const auth = typeof key === 'string' ? { authorization: `Bearer ${key}` } : key
  return send(base, {
    method,
    path,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** Like `api`, but a non-2xx or a failure throws: for setting up what the review attacks. */
export async function must(base: string, key: string | Record<string, string>, method: string, path: string, body?: unknown): Promise<any> {
  const reply = await api(base, key, method, path, body)
  if (reply.status < 200 || reply.status > 299) {
    throw new Error(`setup: ${method} ${path} answered ${reply.status}: ${'error' in reply ? reply.error : reply.text.slice(0, 300)}`)
  }
  return (reply as Reply).json
}

/** Uploads a text file through `POST /files` (multipart), as a client would. */
export async function uploadFile(base: string, key: string, filename: string, content: string): Promise<any> {
  const form = new FormData()
  form.set('purpose', 'assistants')
  form.set('file', new Blob([content], { type: 'text/plain' }), filename)
  const response = await fetch(`${base}/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`setup: POST /files answered ${response.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text)
}

/** Streams a user message into a thread and reads the whole answer; the status, or 0 on a failure. */
export async function streamMessage(base: string, key: string, chatId: string, threadId: string, content: string, timeoutMs = 60_000): Promise<Reply | Failure> {
  return send(base, {
    method: 'POST',
    path: `/chats/${encodeURIComponent(chatId)}/threads/${encodeURIComponent(threadId)}/stream`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content }] }),
    timeoutMs,
  })
}

/** Polls `check` every `everyMs` until it holds or `timeoutMs` passes; whether it held. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(everyMs)
  }
}

/** A seeded generator with the helpers the fuzz and the load use. */
export function prng(seed: number) {
  const next = seededRandom(seed)
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  return { next, int, pick }
}
export type Prng = ReturnType<typeof prng>

/** A short text of a request for a finding. */
export function describe(request: RawRequest, max = 300): string {
  const body = request.body === undefined ? '' : ` body=${String(Buffer.isBuffer(request.body) ? request.body.toString('latin1') : request.body).slice(0, max)}`
  const headers = Object.entries(request.headers ?? {}).filter(([name]) => name !== 'authorization').map(([name, value]) => `${name}: ${value}`).join('; ')
  return `${request.method} ${request.path}${headers ? ` [${headers}]` : ''}${body}`
}

/** A short text of a reply for a finding. */
export function outcome(reply: Reply | Failure, max = 300): string {
  return 'error' in reply ? `no answer (${reply.error})` : `${reply.status} ${reply.contentType} ${reply.text.slice(0, max)}`
}

/** Nearest-rank percentile of unsorted values. */
export function pct(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** A multipart/form-data body built by hand (the review sends it over node:http): its bytes and content type. */
export function multipart(fields: Record<string, string>, file?: { field: string; name: string; content: string | Buffer; type?: string }): { body: Buffer; contentType: string } {
  const boundary = `----review${Math.random().toString(16).slice(2)}`
  const parts: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n'))
  }
  if (file) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.name}"\r\nContent-Type: ${file.type ?? 'text/plain'}\r\n\r\n`))
    parts.push(Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content), Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}
