import { createHash } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status'
import { AppError } from '../../errors.ts'
import type { AppEnv } from '../context.ts'
import type { IdempotencyStore } from './store.ts'

/** Printable ASCII, as Stripe accepts; a UUID or `worken-retry-<uuid>` fits easily. */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/

/**
 * Answers that mean the request was not carried out, or may succeed later: the key
 * is released so that a retry runs anew (a 402 `insufficient_credits` stored nothing, and
 * a top-up changes it). Everything else is final and replayed.
 */
const NOT_FINAL = new Set([402, 408, 409, 429])

/** Headers of the first answer that belong to that one exchange, not to its result. */
const NOT_REPLAYED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-request-id', 'set-cookie'])

/** A recording larger than this is not kept: the key is released instead. */
const MAX_RECORDED_BYTES = 4 * 1024 * 1024

/**
 * `Idempotency-Key` on POSTs: the first request with a key runs and its answer
 * is kept for the store's retention (24 h); the same request again gets that
 * answer back (`Idempotent-Replayed: true`) without running twice; another
 * request with the key is a 409 `idempotency_key_reused`; while the first still
 * runs, a 409 `idempotency_key_in_use` with `Retry-After`. Streamed replies are
 * recorded as they are sent and replayed whole. Keys are per project.
 * Mounted after authentication: the key belongs to the caller's project.
 */
export function idempotency(store: IdempotencyStore): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== 'POST') return next()
    const key = c.req.header('idempotency-key')
    if (key === undefined) return next()
    if (!VALID_KEY.test(key)) {
      throw AppError.validation([{ path: 'Idempotency-Key', message: 'Must be 1 to 255 printable ASCII characters' }])
    }
    const projectId = c.get('principal').projectId
    const body = new Uint8Array(await c.req.raw.arrayBuffer())
    // The route reads the body again: hand it a request whose body is still unread. Always
    // a body, even empty: a request whose (empty) stream was read cannot be copied without one.
    c.req.raw = new Request(c.req.raw, { body })
    const claim = await store.claim(projectId, key, fingerprint(c, body))
    switch (claim.kind) {
      case 'reused':
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used with another request (method, path or body); use a new key for a new request', {
          headers: { 'x-should-retry': 'false' },
        })
      case 'in-use':
        throw new AppError('idempotency_key_in_use', 'A request with this Idempotency-Key is still being processed; retry after it finishes', {
          headers: { 'retry-after': '1', 'x-should-retry': 'true' },
        })
      case 'replay': {
        const headers = { ...claim.headers, 'idempotent-replayed': 'true' }
        if (claim.body.byteLength === 0) return c.body(null, claim.status as StatusCode, headers)
        return c.body(new Uint8Array(claim.body), claim.status as ContentfulStatusCode, headers)
      }
    }
    await runAndRecord(c, next, store, projectId, key)
  }
}

async function runAndRecord(c: Context<AppEnv>, next: () => Promise<void>, store: IdempotencyStore, projectId: string, key: string): Promise<void> {
  const logger = c.get('logger')
  const renewal = setInterval(() => {
    store.renew(projectId, key).catch((err: unknown) => logger.warn({ err }, 'could not renew an idempotency key'))
  }, store.leaseMs / 3)
  renewal.unref()
  let settled = false
  const settle = async (recorded: { status: number; headers: Record<string, string>; body: Uint8Array } | null) => {
    if (settled) return
    settled = true
    clearInterval(renewal)
    try {
      if (recorded) await store.complete(projectId, key, recorded)
      else await store.release(projectId, key)
    } catch (err) {
      // The answer went out; a retry after this finds the key running until its claim lapses, then runs again.
      logger.warn({ err, requestId: c.get('requestId') }, 'could not store the answer of an idempotent request')
    }
  }
  try {
    await next()
  } catch (err) {
    await settle(null)
    throw err
  }
  const response = c.res
  if (response.status >= 500 || NOT_FINAL.has(response.status)) return settle(null)
  const headers = replayedHeaders(response.headers)
  if (!response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const body = new Uint8Array(await response.arrayBuffer())
    c.res = new Response(body, response)
    return settle(body.byteLength <= MAX_RECORDED_BYTES ? { status: response.status, headers, body } : null)
  }
  // A stream is recorded as it is sent. When the first client leaves part-way (its connection
  // dropped: the very case a retry is for), the reply carries on server-side, and the rest is
  // still read into the recording, so the retry's replay is the whole reply, not the part sent.
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body.getReader()
  const record = (chunk: Uint8Array) => {
    size += chunk.byteLength
    if (size <= MAX_RECORDED_BYTES) chunks.push(chunk)
  }
  const finish = () => settle(size <= MAX_RECORDED_BYTES ? { status: response.status, headers, body: concat(chunks, size) } : null)
  const drain = async () => {
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) record(read.value)
      await finish()
    } catch {
      void settle(null)
    }
  }
  c.res = new Response(new ReadableStream<Uint8Array>({
    async pull(controller) {
      let read: Awaited<ReturnType<typeof reader.read>>
      try {
        read = await reader.read()
      } catch (err) {
        void settle(null)
        throw err
      }
      if (read.done) {
        // Stored before the client sees the end: a retry sent the moment this one is read replays it,
        // rather than finding the key still running.
        await finish()
        controller.close()
        return
      }
      record(read.value)
      controller.enqueue(read.value)
    },
    cancel() {
      void drain()
    },
  }, { highWaterMark: 0 }), response)
}

/** What makes two requests "the same": method, path, query, content type and body. */
function fingerprint(c: Context<AppEnv>, body: Uint8Array): string {
  const url = new URL(c.req.url)
  const contentType = c.req.header('content-type') ?? ''
  const hash = createHash('sha256').update(`${c.req.method}\n${url.pathname}\n${url.search}\n${contentType.split(';')[0]!.trim().toLowerCase()}\n`)
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1]
  if (!boundary) return hash.update(body).digest('hex')
  // A client that retries re-encodes the form with a new random boundary: leave it out.
  const delimiter = Buffer.from(boundary)
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  let from = 0
  for (let at = bytes.indexOf(delimiter, from); at !== -1; at = bytes.indexOf(delimiter, from)) {
    hash.update(bytes.subarray(from, at))
    from = at + delimiter.length
  }
  return hash.update(bytes.subarray(from)).digest('hex')
}

function replayedHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {}
  headers.forEach((value, name) => {
    if (!NOT_REPLAYED.has(name) && !name.startsWith('ratelimit') && !name.startsWith('x-ratelimit')) kept[name] = value
  })
  return kept
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body
}
