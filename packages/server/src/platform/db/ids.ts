import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lowercase

export type IdPrefix = 'org' | 'usr' | 'prj' | 'key' | 'bot' | 'chat' | 'msg' | 'evt' | 'per' | 'apr' | 'thr' | 'sch' | 'whe' | 'whd' | 'file' | 'vs' | 'vsfb' | 'owe' | 'int' | 'chu' | 'txn' | 'inv'

/**
 * A prefixed, time-ordered id such as `bot_01jdq3v5k7m9p2r4t6w8y0a2c4`:
 * 10 characters of millisecond time then 16 random characters (80 bits),
 * so ids sort by creation and never collide in practice.
 */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  const random = randomBytes(16)
  let tail = ''
  for (const byte of random) tail += ALPHABET[byte % 32]
  return `${prefix}_${time}${tail}`
}

/** Shape every id we mint, and every client-chosen id we accept, must have. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/
