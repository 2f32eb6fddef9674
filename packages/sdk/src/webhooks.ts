/**
 * Verifying the webhooks Worken sends (docs/webhooks.md), with WebCrypto so it
 * runs in Node, Bun, Deno, browsers and edge workers alike. Two signatures come
 * with every request:
 *
 * - `webhook-id`, `webhook-timestamp`, `webhook-signature`: Standard Webhooks,
 *   `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the
 *   base64 after `whsec_` for such secrets, else the secret's UTF-8 bytes. It
 *   covers the time, so old requests can be refused (replays).
 * - `x-worken-signature`: the spec's lowercase hex HMAC-SHA256 of the body,
 *   keyed with the secret as given. It does not cover the time.
 *
 * `verifyWebhook` checks the Standard Webhooks signature and its timestamp when
 * those headers are there, else the spec's signature.
 */
import { WorkenError } from './core/errors.ts'
import type { WebhookEvent } from './types.ts'

export type { WebhookEvent } from './types.ts'

/** The request's headers: a `Headers`, or Node's `IncomingHttpHeaders`-like record. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>

/** The raw request body, exactly as received: a re-serialized object would not match. */
export type WebhookPayload = string | Uint8Array | ArrayBuffer

export type VerifyOptions = {
  /** Seconds `webhook-timestamp` may differ from now; default 300. */
  tolerance?: number
  /** "Now", for tests: a Date or epoch milliseconds. */
  now?: Date | number
}

/** The signature does not match, a header is missing, or the timestamp is outside the tolerance. */
export class WebhookVerificationError extends WorkenError {
  override name = 'WebhookVerificationError'
}

const DEFAULT_TOLERANCE_SECONDS = 300
const encoder = new TextEncoder()

/** Bytes backed by a plain ArrayBuffer, as WebCrypto takes them. */
type Bytes = Uint8Array<ArrayBuffer>

/**
 * Verifies a webhook request and returns its event. Throws
 * {@link WebhookVerificationError} when it cannot be trusted.
 *
 * @example
 * import { verifyWebhook } from '@worken/sdk/webhooks'
 *
 * // in a handler that has the raw body as text
 * const event = await verifyWebhook(rawBody, request.headers, process.env.WORKEN_WEBHOOK_SECRET!)
 * if (event.type === 'thread.message.created') console.log(event.data)
 */
export async function verifyWebhook(payload: WebhookPayload, headers: WebhookHeaders, secret: string, options: VerifyOptions = {}): Promise<WebhookEvent> {
  if (typeof secret !== 'string' || secret === '') throw new WebhookVerificationError('No webhook secret given')
  const body = bytesOf(payload)
  const standard = header(headers, 'webhook-signature')
  if (standard !== undefined) {
    await verifyStandardWebhook(body, {
      id: header(headers, 'webhook-id'),
      timestamp: header(headers, 'webhook-timestamp'),
      signature: standard,
    }, secret, options)
  } else {
    const hex = header(headers, 'x-worken-signature')
    if (hex === undefined) throw new WebhookVerificationError('No signature: neither webhook-signature nor x-worken-signature is present')
    if (!(await verifySignature(body, hex, secret))) throw new WebhookVerificationError('x-worken-signature does not match the body')
  }
  let event: unknown
  try {
    event = JSON.parse(new TextDecoder().decode(body))
  } catch {
    throw new WebhookVerificationError('The signed body is not JSON')
  }
  return event as WebhookEvent
}

/**
 * The spec's check: `x-worken-signature` is the lowercase hex HMAC-SHA256 of
 * the raw body keyed with the secret. Constant-time.
 *
 * @example
 * const ok = await verifySignature(rawBody, request.headers['x-worken-signature'], secret)
 */
export async function verifySignature(payload: WebhookPayload, signature: string | undefined | null, secret: string): Promise<boolean> {
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature.trim())) return false
  const key = await hmacKey(encoder.encode(secret), 'verify')
  return crypto.subtle.verify('HMAC', key, hexBytes(signature.trim()), bytesOf(payload))
}

/**
 * The Standard Webhooks check: one of the `v1,` signatures matches
 * `<id>.<timestamp>.<body>`, and the timestamp is within the tolerance.
 *
 * @example
 * await verifyStandardWebhook(rawBody, { id, timestamp, signature }, secret)
 */
export async function verifyStandardWebhook(
  payload: WebhookPayload,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  secret: string,
  options: VerifyOptions = {},
): Promise<void> {
  const { id, timestamp, signature } = headers
  if (!id || !timestamp || !signature) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature')
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError(`webhook-timestamp is not a number of seconds: '${timestamp}'`)
  const nowSeconds = Math.floor((options.now === undefined ? Date.now() : Number(options.now)) / 1000)
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE_SECONDS
  const skew = nowSeconds - Number(timestamp)
  if (skew > tolerance) throw new WebhookVerificationError(`webhook-timestamp is ${skew} s old, more than the ${tolerance} s tolerance`)
  if (-skew > tolerance) throw new WebhookVerificationError(`webhook-timestamp is ${-skew} s in the future, more than the ${tolerance} s tolerance`)
  const signed = concat(encoder.encode(`${id}.${timestamp}.`), bytesOf(payload))
  const key = await hmacKey(standardKey(secret), 'verify')
  for (const candidate of signature.split(' ')) {
    const [version, value] = candidate.split(',', 2)
    if (version !== 'v1' || !value) continue
    const bytes = base64Bytes(value)
    if (bytes && (await crypto.subtle.verify('HMAC', key, bytes, signed))) return
  }
  throw new WebhookVerificationError('webhook-signature does not match the body')
}

/**
 * The headers Worken would send with `payload`, both signatures: for testing
 * your own receiver.
 *
 * @example
 * const headers = await signWebhook(JSON.stringify(event), secret, { id: event.id })
 */
export async function signWebhook(payload: WebhookPayload, secret: string, options: { id: string; timestamp?: number }): Promise<Record<string, string>> {
  const body = bytesOf(payload)
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000))
  const hex = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(encoder.encode(secret), 'sign'), body))
  const standard = new Uint8Array(
    await crypto.subtle.sign('HMAC', await hmacKey(standardKey(secret), 'sign'), concat(encoder.encode(`${options.id}.${timestamp}.`), body)),
  )
  return {
    'x-worken-signature': [...hex].map((byte) => byte.toString(16).padStart(2, '0')).join(''),
    'webhook-id': options.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${btoa(String.fromCharCode(...standard))}`,
  }
}

/**
 * `client.webhooks`: the same checks with the client's `webhookSecret` as the default secret.
 *
 * @example
 * const client = new WorkenClient({ webhookSecret: process.env.WORKEN_WEBHOOK_SECRET })
 * const event = await client.webhooks.verify(rawBody, request.headers)
 */
export class Webhooks {
  readonly #secret: string | undefined

  constructor(secret?: string) {
    this.#secret = secret
  }

  verify(payload: WebhookPayload, headers: WebhookHeaders, secret?: string, options?: VerifyOptions): Promise<WebhookEvent> {
    const key = secret ?? this.#secret
    if (!key) return Promise.reject(new WebhookVerificationError('No webhook secret: pass one, or create the client with webhookSecret (or env WORKEN_WEBHOOK_SECRET)'))
    return verifyWebhook(payload, headers, key, options)
  }
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined
  const record = headers as Record<string, string | string[] | undefined>
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name)
  const value = key === undefined ? undefined : record[key]
  return Array.isArray(value) ? value[0] : value
}

function bytesOf(payload: WebhookPayload): Bytes {
  if (typeof payload === 'string') return encoder.encode(payload)
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload)
  // A copy: the caller's view may sit on a SharedArrayBuffer, which WebCrypto refuses.
  if (payload instanceof Uint8Array) return new Uint8Array(payload)
  throw new WebhookVerificationError('The payload must be the raw body: a string, Uint8Array or ArrayBuffer')
}

function standardKey(secret: string): Bytes {
  if (!secret.startsWith('whsec_')) return encoder.encode(secret)
  const bytes = base64Bytes(secret.slice('whsec_'.length))
  if (!bytes) throw new WebhookVerificationError('The whsec_ secret is not valid base64')
  return bytes
}

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

function hmacKey(bytes: Bytes, usage: 'sign' | 'verify'): Promise<HmacKey> {
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [usage])
}

function hexBytes(hex: string): Bytes {
  const bytes = new Uint8Array(hex.length / 2)
  for (let index = 0; index < bytes.length; index++) bytes[index] = Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16)
  return bytes
}

function base64Bytes(value: string): Bytes | null {
  try {
    const binary = atob(value)
    return Uint8Array.from(binary, (char) => char.charCodeAt(0))
  } catch {
    return null
  }
}

function concat(first: Bytes, second: Bytes): Bytes {
  const joined = new Uint8Array(first.length + second.length)
  joined.set(first, 0)
  joined.set(second, first.length)
  return joined
}
