import type { ModelMessage } from 'ai'
import { and, desc, eq, gte, max, count } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { messages } from './tables.ts'

type StoredMessage = typeof messages.$inferSelect

/**
 * The last `lastMessages` messages before the new ones, plus the new ones, as
 * model messages. A window never starts with a tool result whose call it cut off.
 */
export async function loadHistory(db: Database, projectId: string, threadId: string, lastMessages: number, newMessages: number): Promise<{ history: ModelMessage[]; oldestSeq: number | null }> {
  const rows = await db
    .select()
    .from(messages)
    .where(and(eq(messages.projectId, projectId), eq(messages.threadId, threadId)))
    .orderBy(desc(messages.seq))
    .limit(lastMessages + newMessages)
  rows.reverse()
  while (rows.length > newMessages && rows[0]!.role === 'tool') rows.shift()
  return { history: rows.flatMap(toModelMessage), oldestSeq: rows[0]?.seq ?? null }
}

export function toModelMessage(row: StoredMessage): ModelMessage[] {
  switch (row.role) {
    case 'user':
      return [{ role: 'user', content: row.content }]
    case 'assistant':
      return [{ role: 'assistant', content: (row.parts as never) ?? row.content }]
    case 'tool':
      return row.parts ? [{ role: 'tool', content: row.parts as never }] : []
    default:
      return []
  }
}

/** How many messages the turn in progress has: the last user message and everything after it. */
export async function countCurrentTurnMessages(db: Database, projectId: string, threadId: string): Promise<number> {
  const inThread = and(eq(messages.projectId, projectId), eq(messages.threadId, threadId))
  const [last] = await db.select({ seq: max(messages.seq) }).from(messages).where(and(inThread, eq(messages.role, 'user')))
  if (last?.seq == null) return 0
  const [row] = await db.select({ n: count() }).from(messages).where(and(inThread, gte(messages.seq, Number(last.seq))))
  return row?.n ?? 0
}
