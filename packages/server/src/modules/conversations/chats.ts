import { and, asc, eq, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { chats, threads } from './tables.ts'
import { bots } from '../bots/index.ts'
import { AppError } from '../../platform/errors.ts'

export type ChatStatus = 'active' | 'disabled' | 'error'

export type Chat = {
  id: string
  name: string
  bot_id: string
  integration_id: string | null
  status: ChatStatus
  project_id: string
  created_at: string
  updated_at: string
  events_24h: number
}

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
  }
}

export class ChatService {
  private readonly db: Database

  constructor(db: Database) {
    this.db = db
  }

  async list(projectId: string, page: { limit?: number; offset?: number }): Promise<Chat[]> {
    const rows = await this.db
      .select({ chat: chats, events24h })
      .from(chats)
      .where(eq(chats.projectId, projectId))
      .orderBy(asc(chats.createdAt), asc(chats.id))
      .limit(page.limit ?? Number.MAX_SAFE_INTEGER)
      .offset(page.offset ?? 0)
    return rows.map((row) => toChat(row.chat, row.events24h))
  }

  async get(projectId: string, chatId: string): Promise<Chat> {
    const [row] = await this.db.select({ chat: chats, events24h }).from(chats).where(and(eq(chats.id, chatId), eq(chats.projectId, projectId)))
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

  /** An API chat (no integration): the way a conversation exists before channels are connected. */
  async create(projectId: string, input: { bot_id: string; name: string }): Promise<Chat> {
    const [bot] = await this.db.select({ id: bots.id }).from(bots).where(and(eq(bots.id, input.bot_id), eq(bots.projectId, projectId)))
    if (!bot) throw AppError.validation([{ path: 'bot_id', message: `no bot '${input.bot_id}' in this project` }])
    const [row] = await this.db.insert(chats).values({ id: newId('chat'), projectId, botId: bot.id, name: input.name }).returning()
    return toChat(row!, 0)
  }
}
