import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt } from '../../../platform/db/columns.ts'
import { integrations } from '../tables.ts'

/**
 * Which external conversation a thread is: the vendor's chat id on one integration. Written when
 * the first update of a conversation arrives; the outbound writer joins it to know where a bot's or
 * an operator's message goes. `blocked_at`: the user blocked the bot (sends stop, not retried).
 */
export const channelThreads = pgTable('channel_threads', {
  projectId: text('project_id').notNull(),
  threadId: text('thread_id').notNull(),
  integrationId: text('integration_id').notNull().references(() => integrations.id, { onDelete: 'cascade' }),
  externalChatId: text('external_chat_id').notNull(),
  blockedAt: timestamp('blocked_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
}, (t) => [
  primaryKey({ columns: [t.projectId, t.threadId] }),
  uniqueIndex('channel_threads_external_key').on(t.integrationId, t.externalChatId),
])

/**
 * Every inbound update, recorded before it is acknowledged to the vendor, under the vendor's own
 * unique key (Telegram's `update_id`): a re-delivered update is a no-op. `processed_at` is set in
 * the transaction that stores its message (so it is never stored twice), or when it is done with
 * for another reason; a sweep retries the ones a crash left unprocessed.
 */
export const channelUpdates = pgTable('channel_updates', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  integrationId: text('integration_id').notNull().references(() => integrations.id, { onDelete: 'cascade' }),
  updateKey: text('update_key').notNull(),
  payload: jsonb('payload').notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  processedAt: timestamp('processed_at', { withTimezone: true, mode: 'date' }),
  attempts: integer('attempts').notNull().default(0),
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  lastError: text('last_error'),
}, (t) => [
  uniqueIndex('channel_updates_key').on(t.integrationId, t.updateKey),
  index('channel_updates_unprocessed_idx').on(t.receivedAt).where(sql`${t.processedAt} is null`),
])

/**
 * A bot's or an operator's message to send out through its thread's channel: written by the outbox
 * (in the message's own transaction, so none is lost), one per message (its id is derived from the
 * message's), claimed and sent by the channel sender, retried by the vendor's delay.
 */
export const channelDeliveries = pgTable('channel_deliveries', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  integrationId: text('integration_id').notNull().references(() => integrations.id, { onDelete: 'cascade' }),
  threadId: text('thread_id').notNull(),
  messageId: text('message_id').notNull(),
  externalChatId: text('external_chat_id').notNull(),
  status: text('status').notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  /** The vendor's ids of the parts already sent: a retry after a crash sends only the rest. */
  sentParts: jsonb('sent_parts').$type<string[]>().notNull().default([]),
  error: text('error'),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('channel_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
  check('channel_deliveries_status_check', sql`${t.status} in ('pending', 'sent', 'failed')`),
])

/** One poller per integration across processes (Telegram `getUpdates` without a public URL): the lease and the offset. */
export const channelPollers = pgTable('channel_pollers', {
  integrationId: text('integration_id').primaryKey().references(() => integrations.id, { onDelete: 'cascade' }),
  owner: text('owner'),
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  /** The next update to ask for (Telegram's `offset`): advanced only after the updates are recorded. */
  cursor: text('cursor'),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
})
