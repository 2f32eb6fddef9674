/** A random UUID v4: `crypto.randomUUID` where it exists (it needs a secure context in browsers), else from `getRandomValues`. */
export function uuid(): string {
  const crypto = globalThis.crypto
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The `Idempotency-Key` the SDK gives a POST: the same on every retry of it, so the server can replay the first result. */
export function idempotencyKey(): string {
  return `worken-retry-${uuid()}`
}
