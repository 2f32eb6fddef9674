import { randomBytes } from 'node:crypto'
import { and, asc, eq, isNull, lt, lte, notLike, or, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import type { Outbox } from '../../platform/events/outbox.ts'
import type { Tx } from './message-writer.ts'
import { owedReplies } from './tables.ts'

export type OwedReplyRow = typeof owedReplies.$inferSelect

/** The right to answer one owed reply: its row, and the lease token that must still be on it when the reply is stored. */
export type OwedReplyClaim = { id: string; owner: string }

export type OwedReplyOptions = {
  /** How long a claim holds without renewal; a reply renews it while the model runs. Default 30 s. */
  leaseMs?: number
  /** How often due and abandoned replies are looked for. Default 5 s. */
  sweepMs?: number
  /** Claims of one owed reply (the first answer included) before it is given up with `thread.reply.failed`. Default 3. */
  maxAttempts?: number
}

/** The reply's lease was taken by another process (ours lapsed): storing it now would answer twice. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError'
  constructor() {
    super('This reply was taken over by another process')
  }
}

/** One token per process and claim: a claim names who holds it, and a lapsed one is recognised. */
const processToken = randomBytes(6).toString('hex')
export const newLeaseOwner = () => `${processToken}:${randomBytes(6).toString('hex')}`

/**
 * The debt of a reply, made durable. A batch of user messages accepted for an `auto`
 * reply writes an owed-reply row in the messages' own transaction, held by the
 * process that starts answering (a lease, renewed while the model runs). The reply
 * is stored in the same transaction that deletes the row, and only while the lease
 * is still its own; a failure deletes it with a `thread.reply.failed` event. So:
 *
 * - a crash (kill -9, power loss) between storing the messages and storing the reply
 *   leaves the row behind with a lease that lapses; a sweep in any process claims it
 *   and answers (after a restart on PGlite, at once: one process owns that database);
 * - a reply is stored at most once, because storing requires deleting the row under
 *   the caller's lease, and a claim requires the lease to have lapsed;
 * - scheduled replies (`scheduledAt`) are the same rows with a later `due_at`.
 */
export class OwedReplies {
  private readonly database: DatabaseHandle
  private readonly outbox: Outbox
  readonly leaseMs: number
  readonly sweepMs: number
  readonly maxAttempts: number

  constructor(database: DatabaseHandle, outbox: Outbox, options: OwedReplyOptions = {}) {
    this.database = database
    this.outbox = outbox
    this.leaseMs = options.leaseMs ?? 30_000
    this.sweepMs = options.sweepMs ?? 5000
    this.maxAttempts = options.maxAttempts ?? 3
  }

  /**
   * In the transaction that stores the user's messages: records the reply they are owed.
   * With `owner`, the caller answers now and holds the lease; without, a sweep or the
   * scheduled job claims it once `dueAt` comes.
   */
  async owe(tx: Tx, debt: { id: string; projectId: string; threadId: string; chatId: string; newMessages: number; dueAt?: Date | null; owner?: string | undefined }): Promise<void> {
    const id = debt.id
    const leased = debt.owner !== undefined
    await tx.insert(owedReplies).values({
      id,
      projectId: debt.projectId,
      threadId: debt.threadId,
      chatId: debt.chatId,
      newMessages: debt.newMessages,
      ...(debt.dueAt ? { dueAt: debt.dueAt } : {}),
      leaseOwner: debt.owner ?? null,
      leaseUntil: leased ? sql`now() + ${`${this.leaseMs} milliseconds`}::interval` : null,
      attempts: leased ? 1 : 0,
    })
  }

  /**
   * Keeps the lease while the reply runs. `onLost` is called if the row is no longer
   * ours (our lease lapsed and another process claimed it, or the thread was deleted).
   * Returns the function that stops renewing.
   */
  hold(claim: OwedReplyClaim, onLost: () => void, logger: Logger): () => void {
    const timer = setInterval(() => {
      this.database.db
        .update(owedReplies)
        .set({ leaseUntil: sql`now() + ${`${this.leaseMs} milliseconds`}::interval` })
        .where(and(eq(owedReplies.id, claim.id), eq(owedReplies.leaseOwner, claim.owner)))
        .returning({ id: owedReplies.id })
        .then(
          (rows) => {
            if (rows.length === 0) onLost()
          },
          // The next renewal tries again; the lease has two more intervals to run.
          (error: unknown) => logger.warn({ err: error, owedReplyId: claim.id }, 'renewing a reply lease failed'),
        )
    }, Math.max(100, Math.floor(this.leaseMs / 3)))
    timer.unref()
    return () => clearInterval(timer)
  }

  /** In the reply's transaction: the debt is paid. Throws `LeaseLostError` when it is no longer the caller's to pay. */
  async settle(tx: Tx, claim: OwedReplyClaim): Promise<void> {
    const deleted = await tx
      .delete(owedReplies)
      .where(and(eq(owedReplies.id, claim.id), eq(owedReplies.leaseOwner, claim.owner)))
      .returning({ id: owedReplies.id })
    if (deleted.length === 0) throw new LeaseLostError()
  }

  /**
   * The reply failed. With `retry` and attempts left, the row is released to be claimed
   * again after a backoff; otherwise it is deleted with a `thread.reply.failed` event, so
   * the project (events, webhooks) learns that a message went unanswered.
   */
  async fail(claim: OwedReplyClaim, error: string, options: { retry: boolean }): Promise<'retrying' | 'given_up' | 'not_ours'> {
    const outcome = await this.database.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(owedReplies)
        .where(and(eq(owedReplies.id, claim.id), eq(owedReplies.leaseOwner, claim.owner)))
        .for('update')
      if (!row) return { status: 'not_ours' as const }
      if (options.retry && row.attempts < this.maxAttempts) {
        const backoffSeconds = 5 * 2 ** (row.attempts - 1)
        await tx
          .update(owedReplies)
          .set({ leaseOwner: null, leaseUntil: null, dueAt: sql`now() + ${`${backoffSeconds} seconds`}::interval` })
          .where(eq(owedReplies.id, row.id))
        return { status: 'retrying' as const }
      }
      await tx.delete(owedReplies).where(eq(owedReplies.id, row.id))
      await this.outbox.append(tx, row.projectId, [{
        type: 'thread.reply.failed',
        chatId: row.chatId,
        threadId: row.threadId,
        data: { error, attempts: row.attempts },
      }])
      return { status: 'given_up' as const, projectId: row.projectId }
    })
    if (outcome.status === 'given_up') this.outbox.announce(outcome.projectId)
    return outcome.status
  }

  /** Nothing is owed any more (the thread left `auto`, its chat or bot is off): forget it, silently. */
  async drop(claim: OwedReplyClaim): Promise<void> {
    await this.database.db.delete(owedReplies).where(and(eq(owedReplies.id, claim.id), eq(owedReplies.leaseOwner, claim.owner)))
  }

  /**
   * Claims due replies that nobody holds: never leased (scheduled), released after a
   * failure, or leased by a process whose lease lapsed. `takeOver` also claims live
   * leases of other processes: for a database only this process can open (PGlite),
   * where any such lease found at start-up belongs to a process that is gone.
   */
  async claimDue(options: { limit: number; takeOver?: boolean; id?: string }): Promise<Array<OwedReplyRow & { owner: string }>> {
    const owner = newLeaseOwner()
    // A take-over spares this process's own live leases: the job queue starts before the sweep, so a
    // scheduled reply's job may be answering already.
    const free = or(isNull(owedReplies.leaseUntil), lt(owedReplies.leaseUntil, sql`now()`), options.takeOver ? notLike(owedReplies.leaseOwner, `${processToken}:%`) : undefined)
    const candidates = this.database.db
      .select({ id: owedReplies.id })
      .from(owedReplies)
      .where(and(lte(owedReplies.dueAt, sql`now()`), free, options.id ? eq(owedReplies.id, options.id) : undefined))
      .orderBy(asc(owedReplies.dueAt))
      .limit(options.limit)
      .for('update', { skipLocked: true })
    const rows = await this.database.db
      .update(owedReplies)
      .set({ leaseOwner: owner, leaseUntil: sql`now() + ${`${this.leaseMs} milliseconds`}::interval`, attempts: sql`${owedReplies.attempts} + 1` })
      .where(sql`${owedReplies.id} in (${candidates})`)
      .returning()
    return rows.map((row) => ({ ...row, owner }))
  }

  /** Owed replies of a thread (tests, and the thread's own checks). */
  async ofThread(projectId: string, threadId: string): Promise<OwedReplyRow[]> {
    return this.database.db.select().from(owedReplies).where(and(eq(owedReplies.projectId, projectId), eq(owedReplies.threadId, threadId)))
  }
}
