import { randomFillSync } from 'node:crypto'

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
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  let tail = ''
  for (let i = poolOffset; i < poolOffset + 16; i++) tail += ALPHABET[pool[i]! % 32]
  poolOffset += 16
  return `${prefix}_${time}${tail}`
}

// Random bytes drawn 4 KiB at a time (256 ids): one call into the CSPRNG per 256 ids rather
// than one each, which cost ~30 µs apiece on the hot path. Each byte is used once.
const pool = new Uint8Array(4096)
let poolOffset = pool.length

/** Shape every id we mint, and every client-chosen id we accept, must have. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/
