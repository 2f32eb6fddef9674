import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq, ne, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { storableText } from '../../platform/db/storable.ts'
import { messages, persons, threads } from './tables.ts'
import type { Outbox, OutboxEvent } from '../../platform/events/outbox.ts'
import { AppError } from '../../platform/errors.ts'
import { toOffsetPage, totalCount, type OffsetPage, type PageParams } from '../../platform/http/paging.ts'
import { isForeignKeyViolation } from '../../platform/db/errors.ts'
import { toMessage, toThread, type Message, type Thread, type ThreadMode } from './objects.ts'
import type { PersonBody, PersonSchema, ThreadDetailSchema, WorkingMemorySchema } from './schemas.ts'
import type { ThreadActions } from '../agent/index.ts'
import { lockThread, type MessageWriter, type Tx } from './message-writer.ts'

export { toMessage, toThread, type Message, type Thread, type ThreadMode } from './objects.ts'

export type ThreadRow = typeof threads.$inferSelect

/** API objects of this module, typed once from their schemas. */
export type Person = z.infer<typeof PersonSchema>
export type ThreadDetail = z.infer<typeof ThreadDetailSchema>
export type WorkingMemory = z.infer<typeof WorkingMemorySchema>

/** What storing a user message did: the thread as it is now, whether this created it, the new messages' ids. */
export type Stored = { thread: ThreadRow; created: boolean; messageIds: string[] }

/** The end user, as the caller of the stream endpoint describes them (extension). */
export type PersonInput = z.infer<typeof PersonBody>

export class ThreadService {
  private readonly db: Database
  private readonly writer: MessageWriter
  private readonly outbox: Outbox

  constructor(handle: DatabaseHandle, writer: MessageWriter) {
    this.db = handle.db
    this.writer = writer
    this.outbox = writer.outbox
  }

  /** A page of the chat's threads, most recent activity first, and how many it has. */
  async listInChat(projectId: string, chatId: string, page: PageParams): Promise<OffsetPage<Thread>> {
    const where = and(eq(threads.projectId, projectId), eq(threads.chatId, chatId))
    const rows = await this.db
      .select({ thread: threads, total: totalCount() })
      .from(threads)
      .where(where)
      .orderBy(sql`${threads.activityAt} desc nulls last`, sql`${threads.id} desc nulls last`)
      .limit(page.limit)
      .offset(page.offset)
    return toOffsetPage(rows, page, (row) => toThread(row.thread), async () => (await this.db.select({ total: count() }).from(threads).where(where))[0]?.total ?? 0)
  }

  /**
   * The thread with its end user and message counts. Counts are of what people
   * wrote: user messages, and bot messages = AI replies + operator messages (the
   * latter also broken out); tool calls and results are not messages here.
   */
  async detail(projectId: string, threadId: string): Promise<ThreadDetail> {
    const [row] = await this.db
      .select({ thread: threads, person: persons })
      .from(threads)
      .leftJoin(persons, eq(persons.id, threads.personId))
      .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
    if (!row) throw AppError.notFound('Thread', threadId)
    const [counts] = await this.db
      .select({
        user: sql<number>`count(*) filter (where ${messages.role} = 'user')::int`,
        bot: sql<number>`count(*) filter (where ${messages.role} = 'assistant' and ${messages.content} <> '')::int`,
        operator: sql<number>`count(*) filter (where ${messages.role} = 'assistant' and ${messages.author} = 'operator')::int`,
      })
      .from(messages)
      .where(and(eq(messages.projectId, projectId), eq(messages.threadId, threadId)))
    const user = counts?.user ?? 0
    const bot = counts?.bot ?? 0
    return {
      ...toThread(row.thread),
      person: row.person ? { id: row.person.id, name: row.person.name, avatar_url: row.person.avatarUrl, external_id: row.person.externalId } : null,
      stats: { messages_total: user + bot, user_messages: user, bot_messages: bot, operator_messages: counts?.operator ?? 0 },
    }
  }

  async requireInChat(projectId: string, chatId: string, threadId: string): Promise<ThreadRow> {
    const [row] = await this.db
      .select()
      .from(threads)
      .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId), eq(threads.chatId, chatId)))
    if (!row) throw AppError.notFound('Thread', threadId)
    return row
  }

  async require(projectId: string, threadId: string): Promise<ThreadRow> {
    const [row] = await this.db.select().from(threads).where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
    if (!row) throw AppError.notFound('Thread', threadId)
    return row
  }

  /**
   * A page of the history, oldest first, and how many messages it has (the spec's "full
   * message history" comes a page at a time: see `Page`). System rows are left out in SQL,
   * so `offset` counts the messages the API shows. Writers append under the thread's row
   * lock, so `seq` order is commit order and offset pages walk the history without gaps or
   * repeats while messages arrive at its end. Counted apart: messages are wide rows, which a
   * window count would read in full.
   */
  async messages(projectId: string, chatId: string, threadId: string, page: PageParams): Promise<OffsetPage<Message>> {
    await this.requireInChat(projectId, chatId, threadId)
    const where = and(eq(messages.projectId, projectId), eq(messages.threadId, threadId), ne(messages.role, 'system'))
    const [rows, [counted]] = await Promise.all([
      this.db.select().from(messages).where(where).orderBy(asc(messages.seq)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(messages).where(where),
    ])
    return { data: rows.map(toMessage), total: counted?.total ?? 0 }
  }

  /**
   * The user's messages through the message writer: the thread on first use (in
   * the chat, with the chat's bot) and its person, pending for an operator when
   * one must answer; one transaction.
   */
  /** `alongside` writes in the same transaction, given the thread as stored (the owed reply, in `auto`). */
  async storeUserMessages(projectId: string, chat: { id: string; botId: string }, threadId: string, texts: string[], person?: PersonInput, alongside?: (tx: Tx, thread: ThreadRow) => Promise<void>, options: { greeting?: string; events?: OutboxEvent[] } = {}): Promise<Stored> {
    const result = await this.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(threads)
        .values({ projectId, id: threadId, chatId: chat.id, botId: chat.botId })
        .onConflictDoNothing()
        .returning()
        .catch((error: unknown) => {
          // The chat was deleted after the caller checked it: the message has nowhere to go.
          if (isForeignKeyViolation(error, 'threads_chat_id_chats_id_fk')) throw AppError.notFound('Chat', chat.id)
          throw error
        })
      const created = inserted.length > 0
      // Locked before the person is chosen, so two first messages of one thread agree on it. A row
      // this transaction just inserted is locked already: nobody else sees it before the commit.
      const current = created ? inserted[0] : await lockThread(tx, projectId, threadId)
      if (current && current.chatId !== chat.id) throw AppError.conflict(`Thread id '${threadId}' is already used by another chat of this project`, 'thread_id_taken')
      const personId = person ? await upsertPerson(tx, projectId, current?.personId ?? null, person) : undefined
      const written = await this.writer.write(tx, projectId, threadId, {
        compose: (thread) => [
          ...texts.map((content) => ({ role: 'user' as const, author: 'user' as const, content })),
          // A fixed greeting answers at once, in `auto` only (an operator answers in the other modes).
          ...(options.greeting !== undefined && thread.mode === 'auto' ? [{ role: 'assistant' as const, author: 'bot' as const, content: options.greeting }] : []),
        ],
        // A person owes an answer in `manual` and `operator` mode; the AI answers in `auto`, nobody in `blocked`.
        pending: (thread) => (thread.mode === 'manual' || thread.mode === 'operator' ? 'add' : 'keep'),
        ...(personId !== undefined ? { personId } : {}),
        ...(current ? { locked: current } : {}),
        eventsBefore: created ? [{ type: 'thread.created', chatId: chat.id, threadId, data: { thread: toThread(inserted[0]!) } }] : [],
        ...(alongside ? { alongside: (_rows: unknown, thread: ThreadRow) => alongside(tx, thread) } : {}),
        ...(options.events ? { eventsAfter: () => options.events! } : {}),
      })
      return { thread: written.thread, created, messageIds: written.rows.map((row) => row.id) }
    })
    return result
  }

  async setMode(projectId: string, chatId: string, threadId: string, mode: ThreadMode): Promise<Thread> {
    const row = await this.db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(threads)
        .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId), eq(threads.chatId, chatId)))
        .for('update')
      if (!current) throw AppError.notFound('Thread', threadId)
      if (current.mode === mode) return current
      // Pending counts what an operator owes; it means nothing once the AI or nobody answers.
      const clearsPending = (mode === 'auto' || mode === 'blocked') && current.pendingCount > 0
      const [updated] = await tx
        .update(threads)
        .set({ mode, updatedAt: sql`now()`, ...(clearsPending ? { pendingCount: 0 } : {}) })
        .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
        .returning()
      const scope = { chatId, threadId }
      const outbox: OutboxEvent[] = [{ type: 'thread.mode.changed', ...scope, data: { mode, previous_mode: current.mode } }]
      if (clearsPending) outbox.push({ type: 'thread.pending_count.changed', ...scope, data: { pending_count: 0 } })
      await this.outbox.append(tx, projectId, outbox)
      return updated!
    })
    return toThread(row)
  }

  /** Removes the thread with its messages, embeddings, approvals and working memory. */
  async delete(projectId: string, chatId: string, threadId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const deleted = await tx
        .delete(threads)
        .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId), eq(threads.chatId, chatId)))
        .returning({ id: threads.id })
      if (deleted.length === 0) throw AppError.notFound('Thread', threadId)
      await this.outbox.append(tx, projectId, [{ type: 'thread.deleted', chatId, threadId, data: {} }])
    })
  }

  /**
   * What a turn's tools may do to this thread, each one transaction with its
   * events. `ready` resolves once the user's message (and the thread) is stored:
   * a tool that runs while it is still being written waits for it.
   */
  actions(projectId: string, threadId: string, ready?: Promise<unknown>): ThreadActions {
    return {
      handOff: async (reason) => {
        await ready
        await this.db.transaction(async (tx) => {
          const before = await lockThread(tx, projectId, threadId)
          if (!before || before.mode === 'manual') return
          await tx.update(threads).set({ mode: 'manual', updatedAt: sql`now()` }).where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
          await this.outbox.append(tx, projectId, [
            { type: 'thread.mode.changed', chatId: before.chatId, threadId, data: { mode: 'manual', previous_mode: before.mode, reason: storableText(reason), by: 'bot' } },
          ])
        })
      },
      updateWorkingMemory: async (markdown) => {
        await ready
        await this.db
          .update(threads)
          .set({ workingMemory: storableText(markdown), updatedAt: sql`now()` })
          .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
      },
    }
  }

  async workingMemory(projectId: string, threadId: string): Promise<WorkingMemory> {
    return { content: (await this.require(projectId, threadId)).workingMemory }
  }

}


/**
 * The thread's person: the one with this `external_id` in the project (created
 * or updated), else the thread's own (updated), else a new one. Fields left out
 * keep their stored values.
 */
export async function upsertPerson(tx: Tx, projectId: string, currentId: string | null, input: PersonInput): Promise<string> {
  const changes = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.avatar_url !== undefined ? { avatarUrl: input.avatar_url } : {}),
  }
  if (input.external_id !== undefined) {
    const [row] = await tx
      .insert(persons)
      .values({ id: newId('per'), projectId, externalId: input.external_id, ...changes })
      .onConflictDoUpdate({ target: [persons.projectId, persons.externalId], set: Object.keys(changes).length > 0 ? changes : { externalId: input.external_id } })
      .returning({ id: persons.id })
    return row!.id
  }
  if (currentId) {
    if (Object.keys(changes).length > 0) await tx.update(persons).set(changes).where(and(eq(persons.projectId, projectId), eq(persons.id, currentId)))
    return currentId
  }
  const [row] = await tx.insert(persons).values({ id: newId('per'), projectId, ...changes }).returning({ id: persons.id })
  return row!.id
}
