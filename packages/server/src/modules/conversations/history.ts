import type { ModelMessage } from 'ai'
import { and, desc, eq, gte, max, count } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { messages } from './tables.ts'

/** Mastra's default working-memory template: what the model fills in and keeps up to date. */
export const WORKING_MEMORY_TEMPLATE = `# User Information
- **First Name**:
- **Last Name**:
- **Location**:
- **Occupation**:
- **Interests**:
- **Goals**:
- **Events**:
- **Facts**:
- **Projects**:
`

export function workingMemoryInstruction(current: string | null): string {
  return [
    'WORKING MEMORY: a Markdown document you keep about this user and conversation across turns.',
    'When you learn something worth remembering (name, preferences, goals, facts), call the updateWorkingMemory tool with the WHOLE updated document; it replaces the old one.',
    'Do not mention the working memory to the user.',
    '<working_memory>',
    current ?? WORKING_MEMORY_TEMPLATE,
    '</working_memory>',
  ].join('\n')
}

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
