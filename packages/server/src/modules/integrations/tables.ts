import { sql } from 'drizzle-orm'
import { check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { createdAt } from '../../platform/db/columns.ts'
import { projects } from '../projects/index.ts'

/**
 * A project's connection to an external platform (the spec's `Integration`). `auth_data` is the
 * vendor's credentials as JSON, encrypted with the secret store (never returned by the API);
 * `status_reason` says why an integration is in `error` (the vendor refused its credentials).
 * `token_expires_at` is the `expires_at` of the credentials, kept beside them in the clear (a time
 * is no secret) so that the OAuth refresh sweep finds the tokens due without decrypting every row.
 * Chats reference it (`chats.integration_id`, migration 0008; deleting it deletes its chats).
 */
export const integrations = pgTable('integrations', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  vendor: text('vendor').notNull(),
  status: text('status').notNull().default('active'),
  statusReason: text('status_reason'),
  authCiphertext: text('auth_ciphertext').notNull(),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  tokenExpiresAt: timestamp('token_expires_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('integrations_project_idx').on(t.projectId, t.createdAt, t.id),
  index('integrations_token_expiry_idx').on(t.tokenExpiresAt).where(sql`${t.tokenExpiresAt} is not null`),
  check('integrations_status_check', sql`${t.status} in ('active', 'disabled', 'error')`),
  check('integrations_vendor_check', sql`${t.vendor} in ('telegram', 'whatsapp', 'vk', 'ok', 'max', 'github', 'google', 'yandex', 'amocrm', 'bitrix', 'avito', 'sber', 'worken')`),
])
