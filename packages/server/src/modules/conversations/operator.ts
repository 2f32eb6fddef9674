import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { scheduledMessages } from './tables.ts'
import { AppError } from '../../platform/errors.ts'
import { toOffsetPage, totalCount, type OffsetPage, type PageParams } from '../../platform/http/paging.ts'
import type { JobQueue } from '../../platform/jobs/queue.ts'
import { toMessage, toThread, type Message, type Thread } from './objects.ts'
import type { ThreadService } from './threads.ts'
import type { ScheduledMessageSchema } from './schemas.ts'
import { lockThread, type MessageWriter, type MessageRow, type ThreadRow, type Tx } from './message-writer.ts'

export const JOB_SCHEDULED_SEND = 'thread.scheduled-send'

/** Who an operator is: the internal API's `Worken-User`, or the API key that called. */
export type OperatorId = string

/** The API object of a scheduled operator message, typed once from its schema. */
export type ScheduledMessage = z.infer<typeof ScheduledMessageSchema>

type ScheduledRow = typeof scheduledMessages.$inferSelect

export function toScheduledMessage(row: ScheduledRow): ScheduledMessage {
  return {
    id: row.id,
    thread_id: row.threadId,
    text: row.text,
    operator_id: row.operatorId,
    scheduled_at: row.scheduledAt.toISOString(),
    status: row.status as ScheduledMessage['status'],
    message_id: row.messageId,
    reason: row.reason,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}


/**
 * Operators answering in person: immediate sends, sends scheduled for later
 * (a durable job per message), and cancelling those.
 */
export class OperatorService {
  private readonly handle: DatabaseHandle
  private readonly threads: ThreadService
  /** Absent in apps built without workers: then scheduling is refused. */
  private readonly jobs: JobQueue | undefined

  private readonly writer: MessageWriter

  constructor(handle: DatabaseHandle, threads: ThreadService, writer: MessageWriter, jobs?: JobQueue) {
    this.handle = handle
    this.threads = threads
    this.writer = writer
    this.jobs = jobs
  }

  /**
   * Stores an operator message in a `manual` thread: role `assistant`, author
   * `operator`, who sent it; clears `pending_count` (the operator has answered);
   * the bot reads it as its own earlier turn from then on.
   */
  async send(projectId: string, threadId: string, text: string, operatorId: OperatorId): Promise<{ message: Message; thread: Thread }> {
    const result = await this.handle.db.transaction(async (tx) => {
      return storeOperatorMessage(this.writer, tx, projectId, threadId, text, operatorId, requireManual)
    })
    return result
  }

  /** Stores the message to be sent at `at` and queues its delivery; the thread must be in `manual` mode now. */
  async schedule(projectId: string, threadId: string, text: string, operatorId: OperatorId, at: Date): Promise<ScheduledMessage> {
    const jobs = this.jobs
    if (!jobs) throw new AppError('invalid_request', 'scheduledAt: this server runs without background workers')
    const row = await this.handle.db.transaction(async (tx) => {
      const thread = await lockedThread(tx, projectId, threadId)
      requireManual(thread)
      const [inserted] = await tx
        .insert(scheduledMessages)
        .values({ id: newId('sch'), projectId, threadId, text, operatorId, scheduledAt: at })
        .returning()
      return inserted!
    })
    // Queued after the commit: a job never looks for a row that is not there yet. If the
    // process dies in between, the row stays `scheduled`; recoverOverdue() sends it on start.
    const jobId = await jobs.send(JOB_SCHEDULED_SEND, { projectId, scheduledId: row.id }, { startAfter: at })
    const [updated] = await this.handle.db
      .update(scheduledMessages)
      .set({ jobId })
      .where(and(eq(scheduledMessages.id, row.id), eq(scheduledMessages.projectId, projectId)))
      .returning()
    return toScheduledMessage(updated ?? row)
  }

  /** A page of the thread's scheduled messages, in delivery order, and how many it has. */
  async listScheduled(projectId: string, threadId: string, page: PageParams): Promise<OffsetPage<ScheduledMessage>> {
    await this.threads.require(projectId, threadId)
    const where = and(eq(scheduledMessages.projectId, projectId), eq(scheduledMessages.threadId, threadId))
    const rows = await this.handle.db
      .select({ message: scheduledMessages, total: totalCount() })
      .from(scheduledMessages)
      .where(where)
      .orderBy(asc(scheduledMessages.scheduledAt), asc(scheduledMessages.id))
      .limit(page.limit)
      .offset(page.offset)
    return toOffsetPage(rows, page, (row) => toScheduledMessage(row.message), async () => (await this.handle.db.select({ total: count() }).from(scheduledMessages).where(where))[0]?.total ?? 0)
  }

  /** Cancels a message that is still waiting; 409 once it was sent (or cancelled or skipped). */
  async cancel(projectId: string, threadId: string, scheduledId: string): Promise<ScheduledMessage> {
    const { row, jobId } = await this.handle.db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(scheduledMessages)
        .where(and(eq(scheduledMessages.projectId, projectId), eq(scheduledMessages.threadId, threadId), eq(scheduledMessages.id, scheduledId)))
        .for('update')
      if (!current) throw AppError.notFound('Scheduled message', scheduledId)
      if (current.status !== 'scheduled') throw AppError.conflict(`Scheduled message '${scheduledId}' is already ${current.status}`)
      const [cancelled] = await tx
        .update(scheduledMessages)
        .set({ status: 'cancelled', updatedAt: sql`now()` })
        .where(eq(scheduledMessages.id, scheduledId))
        .returning()
      return { row: cancelled!, jobId: current.jobId }
    })
    // The row decides; cancelling the job only saves it a wake-up.
    if (jobId && this.jobs) await this.jobs.cancel(JOB_SCHEDULED_SEND, jobId).catch(() => {})
    return toScheduledMessage(row)
  }

  /**
   * Delivers a scheduled message when its job comes due. The row moves from
   * `scheduled` exactly once, under a lock, so a concurrent cancel or a repeated
   * job cannot send it twice. A thread that is `blocked` by then gets nothing
   * (`skipped`); in any other mode the operator's message goes out as planned.
   */
  async deliver(projectId: string, scheduledId: string): Promise<void> {
    await this.handle.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(scheduledMessages)
        .where(and(eq(scheduledMessages.projectId, projectId), eq(scheduledMessages.id, scheduledId)))
        .for('update')
      if (!row || row.status !== 'scheduled') return
      const thread = await lockedThread(tx, projectId, row.threadId)
      if (thread.mode === 'blocked') {
        await tx
          .update(scheduledMessages)
          .set({ status: 'skipped', reason: 'The thread was blocked at delivery time', updatedAt: sql`now()` })
          .where(eq(scheduledMessages.id, row.id))
        return
      }
      await storeOperatorMessage(this.writer, tx, projectId, thread.id, row.text, row.operatorId, () => {}, async (message) => {
        await tx.update(scheduledMessages).set({ status: 'sent', messageId: message.id, updatedAt: sql`now()` }).where(eq(scheduledMessages.id, row.id))
      })
    })
  }

  /** Scheduled messages whose time has passed but that are still waiting (their job was never queued): queue them now. */
  async recoverOverdue(logger: Logger): Promise<number> {
    if (!this.jobs) return 0
    const rows = await this.handle.db
      .select({ id: scheduledMessages.id, projectId: scheduledMessages.projectId })
      .from(scheduledMessages)
      .where(and(eq(scheduledMessages.status, 'scheduled'), sql`${scheduledMessages.jobId} is null`, sql`${scheduledMessages.scheduledAt} < now() - interval '1 minute'`))
    for (const row of rows) {
      const jobId = await this.jobs.send(JOB_SCHEDULED_SEND, { projectId: row.projectId, scheduledId: row.id })
      await this.handle.db.update(scheduledMessages).set({ jobId }).where(eq(scheduledMessages.id, row.id))
    }
    if (rows.length > 0) logger.warn({ count: rows.length }, 'queued overdue scheduled operator messages that had no job')
    return rows.length
  }
}

export function registerScheduledSends(queue: JobQueue, operators: OperatorService): void {
  queue.define<{ projectId: string; scheduledId: string }>(JOB_SCHEDULED_SEND, async ({ projectId, scheduledId }) => {
    await operators.deliver(projectId, scheduledId)
  }, { retryLimit: 5, retryDelaySeconds: 5, retryBackoff: true })
}

async function lockedThread(tx: Tx, projectId: string, threadId: string) {
  const thread = await lockThread(tx, projectId, threadId)
  if (!thread) throw AppError.notFound('Thread', threadId)
  return thread
}

function requireManual(thread: ThreadRow): void {
  if (thread.mode !== 'manual') {
    throw AppError.conflict(`Thread '${thread.id}' is in ${thread.mode} mode; operators send messages only in manual mode (POST /chats/${thread.chatId}/threads/${thread.id}/mode with {"mode":"manual"})`, 'mode_forbids_reply')
  }
}

/** An operator's message through the message writer: it answers what was pending. */
async function storeOperatorMessage(
  writer: MessageWriter,
  tx: Tx,
  projectId: string,
  threadId: string,
  text: string,
  operatorId: OperatorId,
  check: (thread: ThreadRow) => void,
  /** Other writes of the same transaction, before the outbox lock is taken. */
  alongside?: (message: Message) => Promise<void>,
): Promise<{ message: Message; thread: Thread }> {
  const written = await writer.write(tx, projectId, threadId, {
    compose: (thread) => {
      check(thread)
      return [{ role: 'assistant', author: 'operator', operatorId, content: text }]
    },
    pending: 'clear',
    ...(alongside ? { alongside: (rows: MessageRow[]) => alongside(toMessage(rows[0]!)) } : {}),
  })
  return { message: toMessage(written.rows[0]!), thread: toThread(written.thread) }
}
