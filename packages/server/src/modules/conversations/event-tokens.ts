import { z } from 'zod'
import { ID_PATTERN } from '../../platform/db/ids.ts'
import { AppError } from '../../platform/errors.ts'
import type { Principal } from '../../platform/http/context.ts'
import type { ThreadService } from './threads.ts'
import { EVENT_TOKEN_DEFAULT_SECONDS, type EventTokenSchema } from './schemas.ts'

/** The HMAC purpose: a signature made for anything else never verifies as a token. */
const PURPOSE = 'event-stream-token'
const PREFIX = 'est_'
/** `est_<payload>.<key id>.<mac>`; the cap keeps a forged giant from costing a parse. */
const TOKEN_SHAPE = /^est_([A-Za-z0-9_-]{1,1024})\.([0-9a-f]{8}\.[A-Za-z0-9_-]{43})$/

/** What a token says, short names to keep URLs short: project, issuing key, thread or null, expiry (Unix seconds). */
const Payload = z.object({
  p: z.string().regex(ID_PATTERN),
  k: z.string().regex(ID_PATTERN),
  t: z.string().regex(ID_PATTERN).nullable(),
  x: z.number().int().positive(),
})

/** The API object a token is handed out as, typed once from its schema. */
export type EventToken = z.infer<typeof EventTokenSchema>

type Signer = { sign(message: string, purpose: string): string; verify(message: string, signature: string, purpose: string): boolean }
type KeyLookup = { principalOfKey(keyId: string): Promise<Principal | null> }

/**
 * Short-lived credentials for `GET /threads/events[/:thread_id]?token=`, for browsers, whose
 * EventSource cannot send the `Authorization` header (and an `sk-` key must never be in a URL).
 *
 * Stateless: the token is its claims, signed with an HMAC key derived from the server's
 * encryption key (SecretBox), so it cannot be forged or altered, every process sharing
 * WORKEN_ENCRYPTION_KEY accepts it, and nothing is written per token (no table to clean up).
 * It cannot be revoked on its own, which is why it is short-lived; it names the key that
 * issued it, and every check asks whether that key is still live, so deleting the key kills its
 * tokens and the streams they opened.
 */
export class EventTokens {
  private readonly signer: Signer
  private readonly keys: KeyLookup
  private readonly threads: Pick<ThreadService, 'require'>
  private readonly now: () => number

  constructor(signer: Signer, keys: KeyLookup, threads: Pick<ThreadService, 'require'>, now: () => number = Date.now) {
    this.signer = signer
    this.keys = keys
    this.threads = threads
    this.now = now
  }

  /** A token for the caller's key, for the project's stream or one of its threads (404 for a thread it cannot see). */
  async issue(principal: Principal, request: { thread_id?: string; expires_in?: number }): Promise<EventToken> {
    // Tokens stand in for a key and die with it; the internal API's callers have none.
    if (principal.apiKeyId === null) throw AppError.forbidden('Event-stream tokens are issued to API keys, on the public API')
    const threadId = request.thread_id ?? null
    if (threadId !== null) await this.threads.require(principal.projectId, threadId)
    const expires = Math.floor(this.now() / 1000) + (request.expires_in ?? EVENT_TOKEN_DEFAULT_SECONDS)
    return { token: this.sign({ p: principal.projectId, k: principal.apiKeyId, t: threadId, x: expires }), expires_at: new Date(expires * 1000).toISOString(), thread_id: threadId }
  }

  /** The principal a token stands for, or null: malformed, forged, expired, or its key deleted or moved. */
  async verify(token: string): Promise<Principal | null> {
    const match = TOKEN_SHAPE.exec(token)
    if (!match || !this.signer.verify(match[1]!, match[2]!, PURPOSE)) return null
    let claims: z.infer<typeof Payload>
    try {
      claims = Payload.parse(JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')))
    } catch {
      return null
    }
    if (claims.x * 1000 <= this.now()) return null
    const key = await this.keys.principalOfKey(claims.k)
    // A token never reaches further than its key does today.
    if (!key || key.projectId !== claims.p) return null
    return { ...key, streamToken: { threadId: claims.t } }
  }

  /** Signs claims as a token; public so that tests can mint validly signed tokens with claims `issue` never makes. */
  sign(claims: z.infer<typeof Payload>): string {
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')
    return `${PREFIX}${payload}.${this.signer.sign(payload, PURPOSE)}`
  }
}
