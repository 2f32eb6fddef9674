import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * Encryption at rest for secrets we must be able to read back (webhook signing
 * secrets; integrations' credentials later): AES-256-GCM with a random 96-bit
 * nonce per value. Ciphertext format, one string:
 *
 *   v1.<key id>.<nonce>.<tag>.<ciphertext>     (base64url parts)
 *
 * The key id (the first 8 hex characters of SHA-256 of the key) says which key
 * decrypts it, so keys can be rotated: the first configured key encrypts, every
 * configured key decrypts. The value's purpose is bound in as associated data
 * (`webhook-secret:<id>`), so a ciphertext copied to another row or column does
 * not decrypt there.
 */
export class SecretBox {
  private readonly keys: Array<{ id: string; key: Buffer }>
  private readonly signingKeys = new Map<string, Buffer>()

  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key')
    for (const key of keys) if (key.length !== 32) throw new Error('encryption keys must be 32 bytes')
    this.keys = keys.map((key) => ({ id: keyId(key), key }))
  }

  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.keys[0]!
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, nonce)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return ['v1', id, nonce.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
  }

  decrypt(ciphertext: string, context: string): string {
    const [version, id, nonce, tag, body] = ciphertext.split('.')
    if (version !== 'v1' || !id || nonce === undefined || tag === undefined || body === undefined) throw new Error('not a v1 ciphertext')
    const entry = this.keys.find((candidate) => candidate.id === id)
    if (!entry) throw new Error(`no configured encryption key has id ${id} (was WORKEN_ENCRYPTION_KEY changed without keeping the old key?)`)
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(nonce, 'base64url'))
    decipher.setAAD(Buffer.from(context, 'utf8'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
  }

  /**
   * A MAC of `message` for one purpose, `<key id>.<HMAC-SHA256, base64url>`, for values the
   * server hands out and must later recognise as its own (event-stream tokens). Any process
   * with the same WORKEN_ENCRYPTION_KEY verifies it; the first key signs, every key verifies,
   * as for encryption. The HMAC key is derived (HKDF) from the encryption key and the purpose,
   * so the AES key is never used for anything else and a MAC for one purpose proves nothing
   * for another.
   */
  sign(message: string, purpose: string): string {
    const { id } = this.keys[0]!
    return `${id}.${this.mac(id, message, purpose).toString('base64url')}`
  }

  /** Whether `signature` is `sign(message, purpose)` under one of the configured keys. */
  verify(message: string, signature: string, purpose: string): boolean {
    const match = /^([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/.exec(signature)
    if (!match || !this.keys.some((entry) => entry.id === match[1])) return false
    const given = Buffer.from(match[2]!, 'base64url')
    const expected = this.mac(match[1]!, message, purpose)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  private mac(id: string, message: string, purpose: string): Buffer {
    const cacheKey = `${id}:${purpose}`
    let key = this.signingKeys.get(cacheKey)
    if (!key) {
      const entry = this.keys.find((candidate) => candidate.id === id)!
      key = Buffer.from(hkdfSync('sha256', entry.key, Buffer.alloc(0), `worken-sign:${purpose}`, 32))
      this.signingKeys.set(cacheKey, key)
    }
    return createHmac('sha256', key).update(message, 'utf8').digest()
  }
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

/**
 * Keys from `WORKEN_ENCRYPTION_KEY`: one or more comma-separated 32-byte keys,
 * base64 (44 characters) or hex (64); the first encrypts. Returns a reason
 * when the value is not that.
 */
export function parseEncryptionKeys(value: string): { keys: Buffer[] } | { problem: string } {
  const keys: Buffer[] = []
  for (const part of value.split(',').map((item) => item.trim()).filter(Boolean)) {
    const key = /^[0-9a-fA-F]{64}$/.test(part) ? Buffer.from(part, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(part) ? Buffer.from(part, 'base64') : null
    if (!key || key.length !== 32) return { problem: 'must be 32-byte keys, base64 or hex, comma-separated (generate one with: openssl rand -base64 32)' }
    keys.push(key)
  }
  if (keys.length === 0) return { problem: 'is empty' }
  return { keys }
}

/**
 * The embedded default's key: `<data dir>/encryption.key`, created (mode 0600)
 * on first start. It sits next to the database it protects, so it guards
 * against leaked database dumps and backups, not against someone who can read
 * the data directory; production sets WORKEN_ENCRYPTION_KEY.
 */
export function dataDirKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'encryption.key')
  fs.mkdirSync(dataDir, { recursive: true })
  try {
    fs.writeFileSync(file, randomBytes(32).toString('base64') + '\n', { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const parsed = parseEncryptionKeys(fs.readFileSync(file, 'utf8'))
  if ('problem' in parsed) throw new Error(`${file}: ${parsed.problem}`)
  return parsed.keys[0]!
}
