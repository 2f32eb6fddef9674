import { sql } from 'drizzle-orm'
import { check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { createdAt } from '../../platform/db/columns.ts'
import { projects } from '../projects/index.ts'
import type { BotSettings } from './settings.ts'

export const bots = pgTable('bots', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  description: text('description'),
  status: text('status').notNull().default('active'),
  settings: jsonb('settings').$type<BotSettings>().notNull(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('bots_project_idx').on(t.projectId, t.createdAt, t.id),
  check('bots_status_check', sql`${t.status} in ('active', 'disabled', 'error')`),
])
