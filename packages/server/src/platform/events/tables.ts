import { bigserial, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt } from '../db/columns.ts'
import { projects } from '../db/tenancy.ts'

/**
 * The outbox: every domain event, written in the transaction that caused it,
 * in one global order (`seq`). SSE subscribers and webhooks read from here.
 */
export const events = pgTable('events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  chatId: text('chat_id'),
  threadId: text('thread_id'),
  data: jsonb('data').notNull(),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('events_id_key').on(t.id),
  index('events_project_idx').on(t.projectId, t.seq),
  index('events_chat_type_idx').on(t.chatId, t.type, t.createdAt),
])
