import { and, eq, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { storableJson, storableText } from '../../platform/db/storable.ts'
import type { Outbox, OutboxEvent } from '../../platform/events/outbox.ts'
import { AppError } from '../../platform/errors.ts'
import { toMessage, toThread } from './objects.ts'
import { messages, threads } from './tables.ts'

export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0]
export type ThreadRow = typeof threads.$inferSelect
export type MessageRow = typeof messages.$inferSelect

/** A message to store, whoever wrote it. */
export type NewMessage = {
  role: 'user' | 'assistant' | 'tool'
  author: 'user' | 'bot' | 'operator' | 'system'
  content: string
  /** The AI SDK message content when it is more than text (tool calls, tool results, approval responses). */
  parts?: unknown
  operatorId?: string
  usage?: { model: string; inputTokens: number | null; outputTokens: number | null }
  /**
   * Plumbing the model needs in its history but a reader of the thread does not
   * (a person's approval decision): stored, not announced as a message.
   */
  silent?: boolean
}

export type PendingEffect = 'add' | 'clear' | 'keep'

export type WriteRequest = {
  /**
   * Runs under the thread's lock before anything is written: throw to refuse
   * (a mode that forbids this message). Answers the messages to store.
   */
  compose(thread: ThreadRow): NewMessage[]
  /** What the messages do to the operator's pending count (decided from the locked thread when a function). */
  pending?: PendingEffect | ((thread: ThreadRow) => PendingEffect)
  /** Whether the messages count as the thread's activity (`last_message_at`); plumbing does not. */
  activity?: boolean
  /** The thread's end user, when this write sets or changes it. */
  personId?: string
  /** Events before and after the messages' own (`thread.created` first; approvals requested after). */
  eventsBefore?: OutboxEvent[]
  eventsAfter?: (rows: MessageRow[], thread: ThreadRow) => OutboxEvent[]
  /**
   * The thread as the caller already locked it in this transaction (`lockThread`, or the row it
   * just inserted): the writer then skips its own lock, one round trip fewer.
   */
  locked?: ThreadRow
  /** Other writes of the same transaction, after the messages and before the outbox (which must come last). */
  alongside?: (rows: MessageRow[], thread: ThreadRow) => Promise<void>
}

export type Written = { thread: ThreadRow; before: ThreadRow; rows: MessageRow[] }

/**
 * Runs in the transaction that stores model replies (messages with `usage`), after
 * they are inserted and before the outbox: billing charges them here, so a reply and
 * its charge commit together or not at all. Answers more events for the outbox.
 */
export type OnReplyStored = (tx: Tx, projectId: string, replies: MessageRow[]) => Promise<OutboxEvent[]>

/**
 * Locks a thread of the project for the rest of the transaction; every writer
 * of a thread takes this lock first, so writers of one thread run one at a time.
 */
export async function lockThread(tx: Tx, projectId: string, threadId: string): Promise<ThreadRow | undefined> {
  const [thread] = await tx
    .select()
    .from(threads)
    .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
    .for('update')
  return thread
}

/**
 * The one writer of messages: every message — the user's, the bot's, a tool's,
 * an operator's — is inserted through `write`. Built once per process with the
 * outbox its events go to.
 */
export class MessageWriter {
  readonly outbox: Outbox
  private readonly onReplyStored: OnReplyStored | undefined

  constructor(outbox: Outbox, options: { onReplyStored?: OnReplyStored } = {}) {
    this.outbox = outbox
    this.onReplyStored = options.onReplyStored
  }

  /**
   * Inside the caller's transaction: locks the
   * thread, inserts, updates the thread's activity, pending count and person, and
   * appends the outbox events (`thread.message.created`, `thread.pending_count.changed`),
   * so a message exists exactly when its events do. A model reply (a message with
   * `usage`) is charged here too (`onReplyStored`). Throws `not_found` when the thread does not exist.
   */
  async write(tx: Tx, projectId: string, threadId: string, request: WriteRequest): Promise<Written> {
    const before = request.locked ?? (await lockThread(tx, projectId, threadId))
    if (!before) throw AppError.notFound('Thread', threadId)
    const list = request.compose(before)
    const rows = list.length === 0
      ? []
      : await tx
          .insert(messages)
          .values(list.map((message) => ({
            id: newId('msg'),
            projectId,
            threadId,
            chatId: before.chatId,
            botId: before.botId,
            role: message.role,
            author: message.author,
            // Model output and tool results are not validated anywhere else: a stray NUL must not lose the reply.
            content: storableText(message.content),
            parts: message.parts === undefined ? null : storableJson(message.parts),
            operatorId: message.operatorId ?? null,
            ...(message.usage ? { model: message.usage.model, inputTokens: message.usage.inputTokens, outputTokens: message.usage.outputTokens } : {}),
          })))
          .returning()

    const pending = typeof request.pending === 'function' ? request.pending(before) : (request.pending ?? 'keep')
    const pendingCount = pending === 'add' ? before.pendingCount + rows.length : pending === 'clear' ? 0 : before.pendingCount
    const [thread] = await tx
      .update(threads)
      .set({
        updatedAt: sql`now()`,
        ...(request.activity !== false && rows.length > 0 ? { lastMessageAt: sql`now()` } : {}),
        ...(pendingCount !== before.pendingCount ? { pendingCount } : {}),
        ...(request.personId !== undefined && request.personId !== before.personId ? { personId: request.personId } : {}),
      })
      .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
      .returning()
    await request.alongside?.(rows, thread!)
    const replies = rows.filter((_row, index) => list[index]!.usage !== undefined)
    const charged = replies.length > 0 && this.onReplyStored ? await this.onReplyStored(tx, projectId, replies) : []

    const scope = { chatId: before.chatId, threadId }
    const outbox: OutboxEvent[] = [...(request.eventsBefore ?? [])]
    rows.forEach((row, index) => {
      if (!list[index]!.silent) outbox.push({ type: 'thread.message.created', ...scope, data: { message: toMessage(row) } })
    })
    if (pendingCount !== before.pendingCount) outbox.push({ type: 'thread.pending_count.changed', ...scope, data: { pending_count: pendingCount } })
    outbox.push(...(request.eventsAfter?.(rows, thread!) ?? []), ...charged)
    await this.outbox.append(tx, projectId, outbox)
    return { thread: thread!, before, rows }
  }
}

export { toThread }
