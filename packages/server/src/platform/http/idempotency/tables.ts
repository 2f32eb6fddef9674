import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { bytea, createdAt } from '../../db/columns.ts'
import { projects } from '../../db/tenancy.ts'

/**
 * One row per `Idempotency-Key` a project used on a POST: the request's
 * fingerprint, and once the first attempt finished, its answer to replay.
 * While `status` is null the first attempt is still running, claimed until
 * `locked_until` (renewed while it runs), so a crashed attempt is taken over.
 */
export const idempotencyKeys = pgTable('idempotency_keys', {
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  key: text('key').notNull(),
  fingerprint: text('fingerprint').notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true, mode: 'date' }),
  status: integer('status'),
  headers: jsonb('headers').$type<Record<string, string>>(),
  body: bytea('body'),
  createdAt: createdAt(),
}, (t) => [
  primaryKey({ columns: [t.projectId, t.key] }),
  index('idempotency_keys_created_idx').on(t.createdAt),
])
