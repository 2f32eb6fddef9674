import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt } from '../../platform/db/columns.ts'
import { projects } from '../projects/index.ts'

/**
 * Where a project's events are POSTed. The signing secret is stored encrypted
 * (AES-256-GCM, see crypto/secrets.ts) and never returned after creation.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  url: text('url').notNull(),
  secretCiphertext: text('secret_ciphertext').notNull(),
  status: text('status').notNull().default('active'),
  /** Null: every event type. */
  eventTypes: text('event_types').array(),
  description: text('description'),
  disabledReason: text('disabled_reason'),
  /** Since when every attempt has failed (null after a success); five days of it disables the endpoint. */
  failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('webhook_endpoints_project_idx').on(t.projectId, t.status),
  check('webhook_endpoints_status_check', sql`${t.status} in ('active', 'disabled')`),
])

/**
 * One event for one endpoint: created in the event's own transaction (see
 * events/outbox.ts), so none is lost, and itself the queue entry the sender
 * claims (`for update skip locked`) when `next_attempt_at` comes.
 */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
  eventId: text('event_id').notNull(),
  eventType: text('event_type').notNull(),
  /** The WebhookEvent as sent: `{ id, type, created_at, data }`. */
  payload: jsonb('payload').notNull(),
  status: text('status').notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** While `delivering`: until when the claim holds; a sender that died lets it lapse and another retries. */
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
  responseStatus: integer('response_status'),
  responseBody: text('response_body'),
  latencyMs: integer('latency_ms'),
  lastError: text('last_error'),
  deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('webhook_deliveries_endpoint_event_key').on(t.endpointId, t.eventId),
  index('webhook_deliveries_log_idx').on(t.endpointId, t.createdAt.desc(), t.id.desc()),
  index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} in ('pending', 'delivering')`),
  check('webhook_deliveries_status_check', sql`${t.status} in ('pending', 'delivering', 'succeeded', 'failed', 'cancelled')`),
])
