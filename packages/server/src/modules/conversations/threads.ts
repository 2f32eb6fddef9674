import { and, asc, eq, ne, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { messages, persons, threads } from './tables.ts'
import { announceEvents, appendEvents, type OutboxEvent } from '../../platform/events/outbox.ts'
import { AppError } from '../../platform/errors.ts'

export type ThreadMode = 'auto' | 'manual' | 'operator' | 'blocked'

export type Thread = {
  id: string
  chat_id: string
  bot_id: string
  mode: ThreadMode
  title: string | null
  last_message_at: string | null
  pending_count: number
  created_at: string
}

export type Message = {
  id: string
  role: 'user' | 'assistant' | 'tool'
  content: string
  created_at: string
  author: 'user' | 'bot' | 'operator' | 'system'
  /** Who sent an operator message: a user id (internal API) or an API key id; null otherwise. */
  operator_id: string | null
  usage: { model: string; input_tokens: number | null; output_tokens: number | null } | null
}

export type ThreadRow = typeof threads.$inferSelect
type MessageRow = typeof messages.$inferSelect

export function toThread(row: ThreadRow): Thread {
  return {
    id: row.id,
    chat_id: row.chatId,
    bot_id: row.botId,
    mode: row.mode as ThreadMode,
    title: row.title,
    last_message_at: row.lastMessageAt?.toISOString() ?? null,
    pending_count: row.pendingCount,
    created_at: row.createdAt.toISOString(),
  }
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    role: row.role as Message['role'],
    content: row.content,
    created_at: row.createdAt.toISOString(),
    author: row.author as Message['author'],
    operator_id: row.operatorId,
    usage: row.model ? { model: row.model, input_tokens: row.inputTokens, output_tokens: row.outputTokens } : null,
  }
}

export type Person = { id: string; name: string | null; avatar_url: string | null; external_id: string | null }

export type ThreadDetail = Thread & {
  person: Person | null
  stats: { messages_total: number; user_messages: number; bot_messages: number; operator_messages: number }
}

/** The end user, as the caller of the stream endpoint describes them (extension). */
export type PersonInput = { external_id?: string | undefined; name?: string | undefined; avatar_url?: string | undefined }

/** What a new user message did to its thread, for the stream route to act on. */
export type Ingested = { thread: ThreadRow; created: boolean; messageIds: string[] }

export class ThreadService {
  private readonly handle: DatabaseHandle
  private readonly db: Database

  constructor(handle: DatabaseHandle) {
    this.handle = handle
    this.db = handle.db
  }

  async listInChat(projectId: string, chatId: string): Promise<Thread[]> {
    const rows = await this.db
      .select()
      .from(threads)
      .where(and(eq(threads.projectId, projectId), eq(threads.chatId, chatId)))
      .orderBy(sql`${threads.activityAt} desc nulls last`, sql`${threads.id} desc nulls last`)
    return rows.map(toThread)
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
   * The history, oldest first; all of it unless `limit` is given (the spec
   * calls it "the full message history"). System rows are left out in SQL, so
   * `offset` counts the messages the API shows. Writers append under the
   * thread's row lock, so `seq` order is commit order and offset pages walk
   * the history without gaps or repeats while messages arrive at its end.
   */
  async messages(projectId: string, chatId: string, threadId: string, page: { limit?: number | undefined; offset?: number | undefined } = {}): Promise<Message[]> {
    await this.requireInChat(projectId, chatId, threadId)
    const rows = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.projectId, projectId), eq(messages.threadId, threadId), ne(messages.role, 'system')))
      .orderBy(asc(messages.seq))
      .limit(page.limit ?? Number.MAX_SAFE_INTEGER)
      .offset(page.offset ?? 0)
    return rows.map(toMessage)
  }

  /**
   * Stores the user's messages: creates the thread on first use (in the chat,
   * with the chat's bot), counts them as pending when an operator must answer,
   * and writes the outbox events, all in one transaction.
   */
  async ingestUserMessages(projectId: string, chat: { id: string; botId: string }, threadId: string, texts: string[], person?: PersonInput): Promise<Ingested> {
    const result = await this.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(threads)
        .values({ projectId, id: threadId, chatId: chat.id, botId: chat.botId })
        .onConflictDoNothing()
        .returning()
      const created = inserted.length > 0
      const [current] = await tx
        .select()
        .from(threads)
        .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
        .for('update')
      if (!current) throw new Error('thread vanished inside its transaction')
      if (current.chatId !== chat.id) throw AppError.conflict(`Thread id '${threadId}' is already used by another chat of this project`, 'thread_id_taken')

      const outbox: OutboxEvent[] = []
      const scope = { chatId: chat.id, threadId }
      if (created) outbox.push({ type: 'thread.created', ...scope, data: { thread: toThread(current) } })
      const rows = await tx
        .insert(messages)
        .values(texts.map((content) => ({ id: newId('msg'), projectId, threadId, chatId: current.chatId, botId: current.botId, role: 'user', author: 'user', content })))
        .returning()
      for (const row of rows) outbox.push({ type: 'thread.message.created', ...scope, data: { message: toMessage(row) } })

      const waitsForOperator = current.mode === 'manual' || current.mode === 'operator'
      const personId = person ? await upsertPerson(tx, projectId, current.personId, person) : current.personId
      const [thread] = await tx
        .update(threads)
        .set({
          ...(personId !== current.personId ? { personId } : {}),
          lastMessageAt: sql`now()`,
          updatedAt: sql`now()`,
          ...(waitsForOperator ? { pendingCount: sql`${threads.pendingCount} + ${rows.length}` } : {}),
        })
        .where(and(eq(threads.projectId, projectId), eq(threads.id, threadId)))
        .returning()
      if (waitsForOperator) outbox.push({ type: 'thread.pending_count.changed', ...scope, data: { pending_count: thread!.pendingCount } })
      await appendEvents(tx, projectId, outbox)
      return { thread: thread!, created, messageIds: rows.map((row) => row.id) }
    })
    announceEvents(this.handle, projectId)
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
      await appendEvents(tx, projectId, outbox)
      return updated!
    })
    announceEvents(this.handle, projectId)
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
      await appendEvents(tx, projectId, [{ type: 'thread.deleted', chatId, threadId, data: {} }])
    })
    announceEvents(this.handle, projectId)
  }

  async workingMemory(projectId: string, threadId: string): Promise<{ content: string | null }> {
    return { content: (await this.require(projectId, threadId)).workingMemory }
  }

}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0]

/**
 * The thread's person: the one with this `external_id` in the project (created
 * or updated), else the thread's own (updated), else a new one. Fields left out
 * keep their stored values.
 */
async function upsertPerson(tx: Tx, projectId: string, currentId: string | null, input: PersonInput): Promise<string> {
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
