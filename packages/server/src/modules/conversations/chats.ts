import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import { isForeignKeyViolation, isUniqueViolation } from '../../platform/db/errors.ts'
import { newId } from '../../platform/db/ids.ts'
import type { Outbox } from '../../platform/events/outbox.ts'
import { chats, threads } from './tables.ts'
import { bots } from '../bots/index.ts'
import { AppError } from '../../platform/errors.ts'
import type { OffsetPage, PageParams } from '../../platform/http/paging.ts'
import { mergeChatSettings, requireSettingsSize, type ChatSettings } from './chat-settings.ts'
import type { ChatSchema } from './schemas.ts'

/** The API object of a chat, typed once from its schema. */
export type Chat = z.infer<typeof ChatSchema>
export type ChatStatus = Chat['status']

type ChatRow = typeof chats.$inferSelect

/**
 * Message events of the chat in the last 24 hours, counted from the outbox
 * (explicit aliases: inside a correlated subquery an unqualified "id" would
 * mean the events' own column).
 */
const events24h = sql<number>`(
  select count(*)::int from events e
  where e.chat_id = "chats"."id"
    and e.type = 'thread.message.created'
    and e.created_at > now() - interval '24 hours'
)`

export function toChat(row: ChatRow, eventsLast24h: number): Chat {
  return {
    id: row.id,
    name: row.name,
    bot_id: row.botId,
    integration_id: row.integrationId,
    status: row.status as ChatStatus,
    project_id: row.projectId,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    events_24h: eventsLast24h,
    settings: row.settings,
  }
}

export class ChatService {
  private readonly outbox: Outbox
  private readonly db: Database

  constructor(handle: DatabaseHandle, outbox: Outbox) {
    this.outbox = outbox
    this.db = handle.db
  }

  /**
   * A page of the project's chats, oldest first, and how many it has. Counted apart: a
   * window count would compute `events_24h` of every chat, not of the page's.
   */
  async list(projectId: string, page: PageParams, integrationId?: string): Promise<OffsetPage<Chat>> {
    const where = and(eq(chats.projectId, projectId), integrationId === undefined ? undefined : eq(chats.integrationId, integrationId))
    const [rows, [counted]] = await Promise.all([
      this.db
        .select({ chat: chats, events24h })
        .from(chats)
        .where(where)
        .orderBy(asc(chats.createdAt), asc(chats.id))
        .limit(page.limit)
        .offset(page.offset),
      this.db.select({ total: count() }).from(chats).where(where),
    ])
    return { data: rows.map((row) => toChat(row.chat, row.events24h)), total: counted?.total ?? 0 }
  }

  /** `integrationId`: only a chat of that integration (the integration's chat routes); another is as unknown as a missing one. */
  async get(projectId: string, chatId: string, integrationId?: string): Promise<Chat> {
    const [row] = await this.db.select({ chat: chats, events24h }).from(chats).where(and(eq(chats.id, chatId), eq(chats.projectId, projectId), inIntegration(integrationId)))
    if (!row) throw AppError.notFound('Chat', chatId)
    return toChat(row.chat, row.events24h)
  }

  /** The chat row, for services that act on it. */
  async requireRow(projectId: string, chatId: string): Promise<ChatRow> {
    const [row] = await this.db.select().from(chats).where(and(eq(chats.id, chatId), eq(chats.projectId, projectId)))
    if (!row) throw AppError.notFound('Chat', chatId)
    return row
  }

  /**
   * The chat, its bot and (when `threadId` is given) the thread, for a turn:
   * 404 for an unknown chat, 409 when the chat or its bot is not active or the
   * thread id belongs to another chat.
   */
  async requireConversable(projectId: string, chatId: string, threadId?: string): Promise<{ chat: ChatRow; bot: typeof bots.$inferSelect; thread: typeof threads.$inferSelect | null }> {
    const [row] = await this.db
      .select({ chat: chats, bot: bots, thread: threads })
      .from(chats)
      .innerJoin(bots, eq(bots.id, chats.botId))
      // One round trip: the thread, if the id is taken in this project, comes along.
      .leftJoin(threads, and(eq(threads.projectId, chats.projectId), eq(threads.id, threadId ?? '')))
      .where(and(eq(chats.id, chatId), eq(chats.projectId, projectId)))
    if (!row) throw AppError.notFound('Chat', chatId)
    if (row.thread && row.thread.chatId !== row.chat.id) throw AppError.conflict(`Thread id '${threadId}' is already used by another chat of this project`, 'thread_id_taken')
    if (row.chat.status !== 'active') throw AppError.conflict(`Chat '${row.chat.id}' is ${row.chat.status}`, 'chat_disabled')
    if (row.bot.status !== 'active') throw AppError.conflict(`Bot '${row.bot.id}' is ${row.bot.status}`, 'bot_disabled')
    return row
  }

  /** An API chat (no integration), or with `integrationId` a chat of that integration (its channel's conversations). */
  async create(projectId: string, input: { bot_id: string; name: string; settings?: ChatSettings | undefined }, integrationId?: string): Promise<Chat> {
    const [bot] = await this.db.select({ id: bots.id }).from(bots).where(and(eq(bots.id, input.bot_id), eq(bots.projectId, projectId)))
    if (!bot) throw AppError.validation([{ path: 'bot_id', message: `no bot '${input.bot_id}' in this project` }])
    const settings = mergeChatSettings({}, input.settings ?? {})
    requireSettingsSize(settings)
    const [row] = await this.db
      .insert(chats)
      .values({ id: newId('chat'), projectId, botId: bot.id, name: input.name, settings, integrationId: integrationId ?? null })
      .returning()
      .catch((error: unknown) => {
        // Deleted since the caller checked it (the foreign key of migration 0008).
        if (integrationId !== undefined && isForeignKeyViolation(error, 'chats_integration_id_fkey')) throw AppError.notFound('Integration', integrationId)
        return nameTaken(input.name, bot.id)(error)
      })
    return toChat(row!, 0)
  }

  /**
   * `POST /chats/:chat_id`: a new name and/or settings merged into the stored
   * ones (RFC 7386). The row is locked for the read-merge-write, so concurrent
   * patches to different keys both survive.
   */
  async update(projectId: string, chatId: string, input: { name?: string | undefined; settings?: ChatSettings | undefined }, integrationId?: string): Promise<Chat> {
    return this.change(projectId, chatId, integrationId, (row) => {
      const settings = input.settings === undefined ? undefined : mergeChatSettings(row.settings, input.settings)
      if (settings) requireSettingsSize(settings)
      return {
        ...(input.name !== undefined && input.name !== row.name ? { name: input.name } : {}),
        ...(settings && JSON.stringify(settings) !== JSON.stringify(row.settings) ? { settings } : {}),
      }
    }).catch(nameTaken(input.name ?? '', null))
  }

  /**
   * `POST /chats/:chat_id/status`. A disabled chat refuses new messages
   * (`requireConversable`: 409 `chat_disabled`); its threads and history stay
   * readable and operators can still answer in them.
   */
  async setStatus(projectId: string, chatId: string, status: 'active' | 'disabled', integrationId?: string): Promise<Chat> {
    return this.change(projectId, chatId, integrationId, (row) => (row.status === status ? {} : { status }))
  }

  /**
   * Removes the chat; its threads go with it (foreign-key cascade), and with
   * them their messages, embeddings, approvals, scheduled operator messages
   * and working memory. Persons are the project's and stay. One `chat.deleted`
   * event is written in the same transaction, whatever the number of threads.
   */
  async delete(projectId: string, chatId: string, integrationId?: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [deleted] = await tx
        .delete(chats)
        .where(and(eq(chats.id, chatId), eq(chats.projectId, projectId), inIntegration(integrationId)))
        .returning({ id: chats.id, name: chats.name, botId: chats.botId, integrationId: chats.integrationId })
      if (!deleted) throw AppError.notFound('Chat', chatId)
      await this.outbox.append(tx, projectId, [
        { type: 'chat.deleted', chatId, threadId: null, data: { bot_id: deleted.botId, integration_id: deleted.integrationId, name: deleted.name } },
      ])
    })
  }

  /**
   * Locks the chat row, applies the changes `decide` returns (none: the chat
   * is answered as it is, `updated_at` untouched) and answers the chat.
   */
  private async change(projectId: string, chatId: string, integrationId: string | undefined, decide: (row: ChatRow) => Partial<Pick<ChatRow, 'name' | 'status' | 'settings'>>): Promise<Chat> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(chats).where(and(eq(chats.id, chatId), eq(chats.projectId, projectId), inIntegration(integrationId))).for('update')
      if (!row) throw AppError.notFound('Chat', chatId)
      const changes = decide(row)
      if (Object.keys(changes).length > 0) await tx.update(chats).set({ ...changes, updatedAt: sql`now()` }).where(eq(chats.id, row.id))
      const [current] = await tx.select({ chat: chats, events24h }).from(chats).where(eq(chats.id, row.id))
      return toChat(current!.chat, current!.events24h)
    })
  }
}

/** Restricts to one integration's chats when one is given. */
function inIntegration(integrationId: string | undefined) {
  return integrationId === undefined ? undefined : eq(chats.integrationId, integrationId)
}

/** The unique index on a bot's chat names, turned from a database error into the API's 409. */
function nameTaken(name: string, botId: string | null) {
  return (error: unknown): never => {
    if (isUniqueViolation(error, 'chats_bot_name_key')) {
      throw AppError.conflict(`A chat named '${name}' already exists for ${botId ? `bot '${botId}'` : 'this bot'} (names are compared case-insensitively)`, 'name_taken')
    }
    throw error
  }
}
