import { and, eq, sql } from 'drizzle-orm'
import type { Database } from '../../db/client.ts'
import { idempotencyKeys } from './tables.ts'

/** What the first attempt with a key decides for a later one. */
export type Claim =
  | { kind: 'run' }
  | { kind: 'replay'; status: number; headers: Record<string, string>; body: Uint8Array }
  /** The key was used for another request: another body, path or method. */
  | { kind: 'reused' }
  /** The first attempt is still running. */
  | { kind: 'in-use' }

export type IdempotencyStoreOptions = {
  /** How long a key is remembered: 24 hours, as Stripe keeps them. */
  retentionMs?: number
  /** How long a running attempt's claim holds without renewal. */
  leaseMs?: number
}

/** One in so many claims also deletes expired keys, so no job is needed to keep the table small. */
const PRUNE_ONE_IN = 200

/**
 * The keys a project's clients sent with POSTs, in Postgres so that every
 * server process sees them: a retry may reach another process than the first attempt.
 */
export class IdempotencyStore {
  readonly retentionMs: number
  readonly leaseMs: number
  private readonly db: Database

  constructor(db: Database, options: IdempotencyStoreOptions = {}) {
    this.db = db
    this.retentionMs = options.retentionMs ?? 24 * 60 * 60 * 1000
    this.leaseMs = options.leaseMs ?? 60_000
  }

  /**
   * Takes the key for this request, or says why not. A key seen before is
   * taken anew when it has expired, or when its first attempt (the same
   * request) stopped renewing its claim: the process running it died.
   */
  async claim(projectId: string, key: string, fingerprint: string): Promise<Claim> {
    if (Math.floor(Math.random() * PRUNE_ONE_IN) === 0) await this.prune()
    for (let attempt = 0; attempt < 3; attempt++) {
      const lockedUntil = new Date(Date.now() + this.leaseMs)
      const expiredBefore = new Date(Date.now() - this.retentionMs)
      const taken = await this.db
        .insert(idempotencyKeys)
        .values({ projectId, key, fingerprint, lockedUntil })
        .onConflictDoUpdate({
          target: [idempotencyKeys.projectId, idempotencyKeys.key],
          set: { fingerprint, lockedUntil, status: null, headers: null, body: null, createdAt: sql`now()` },
          setWhere: sql`${idempotencyKeys.createdAt} < ${expiredBefore.toISOString()}::timestamptz
            or (${idempotencyKeys.status} is null and ${idempotencyKeys.lockedUntil} < now() and ${idempotencyKeys.fingerprint} = ${fingerprint})`,
        })
        .returning({ key: idempotencyKeys.key })
      if (taken.length > 0) return { kind: 'run' }
      const [row] = await this.db
        .select({ fingerprint: idempotencyKeys.fingerprint, status: idempotencyKeys.status, headers: idempotencyKeys.headers, body: idempotencyKeys.body })
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.projectId, projectId), eq(idempotencyKeys.key, key)))
      // Gone between the two statements (released by its attempt, or pruned): claim again.
      if (!row) continue
      if (row.fingerprint !== fingerprint) return { kind: 'reused' }
      if (row.status === null) return { kind: 'in-use' }
      return { kind: 'replay', status: row.status, headers: row.headers ?? {}, body: row.body ?? new Uint8Array() }
    }
    return { kind: 'in-use' }
  }

  /** Keeps a long attempt's claim (a streamed reply) from lapsing while it runs. */
  async renew(projectId: string, key: string): Promise<void> {
    await this.db
      .update(idempotencyKeys)
      .set({ lockedUntil: new Date(Date.now() + this.leaseMs) })
      .where(and(eq(idempotencyKeys.projectId, projectId), eq(idempotencyKeys.key, key), sql`${idempotencyKeys.status} is null`))
  }

  /** Stores the first attempt's answer: from now on, the same request with this key gets it back. */
  async complete(projectId: string, key: string, answer: { status: number; headers: Record<string, string>; body: Uint8Array }): Promise<void> {
    await this.db
      .update(idempotencyKeys)
      .set({ status: answer.status, headers: answer.headers, body: answer.body, lockedUntil: null })
      .where(and(eq(idempotencyKeys.projectId, projectId), eq(idempotencyKeys.key, key)))
  }

  /** Forgets the key: the attempt did nothing a retry must not repeat (a 5xx, a 429, …). */
  async release(projectId: string, key: string): Promise<void> {
    await this.db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.projectId, projectId), eq(idempotencyKeys.key, key), sql`${idempotencyKeys.status} is null`))
  }

  /** Deletes up to 1,000 expired keys. */
  async prune(): Promise<void> {
    const expiredBefore = new Date(Date.now() - this.retentionMs)
    await this.db.execute(sql`delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where created_at < ${expiredBefore.toISOString()}::timestamptz limit 1000)`)
  }
}
