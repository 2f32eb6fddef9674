import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** What a key must look like before we even hash it: `sk-` and hex. */
const KEY_SHAPE = /^sk-[0-9a-fA-F]{1,256}$/

export function generateApiKey(): string {
  return `sk-${randomBytes(32).toString('hex')}`
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_SHAPE.test(key)
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** Shown in listings so people can tell keys apart: `sk-1a2b3c4d…`. */
export function keyPrefix(key: string): string {
  return key.slice(0, 11)
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}
