import { sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../db/client.ts'
import { newId } from '../db/ids.ts'

/** Event types written to the outbox. The first three are the spec's webhook events. */
export type EventType =
  | 'thread.created'
  | 'thread.message.created'
  | 'thread.mode.changed'
  | 'thread.pending_count.changed'
  | 'thread.title.changed'
  | 'thread.deleted'
  | 'thread.approval.requested'
  | 'thread.approval.decided'
  | 'chat.deleted'

export type OutboxEvent = {
  type: EventType
  chatId?: string | null
  threadId?: string | null
  data: Record<string, unknown>
}

/** An outbox row as the live feeds read it. */
export type OutboxRow = {
  seq: number
  id: string
  type: string
  chatId: string | null
  threadId: string | null
  data: unknown
  createdAt: Date
}

/** NOTIFY channel announcing new outbox rows (payload: the project id). */
export const EVENTS_CHANNEL = 'worken_events'

/** First key of the outbox's advisory locks (the second is the project's hash); 'Wout'. */
const OUTBOX_LOCK_CLASS = 0x576f7574

/**
 * Appends events inside the caller's transaction, so they exist exactly when
 * the change that caused them does. Call `announceEvents` after the commit.
 *
 * Within a project, `seq` order is commit order: the transaction takes the
 * project's outbox lock before its rows get their `seq` and keeps it until it
 * commits. Without it a reader could see seq 11 committed while seq 10 is still
 * in flight, move its cursor past 10 and never deliver it (SSE resume, webhooks).
 * Call this last in the transaction: the lock serialises the rest of it.
 */
export async function appendEvents(tx: Database, projectId: string, list: OutboxEvent[]): Promise<void> {
  if (list.length === 0) return
  await tx.execute(sql`select pg_advisory_xact_lock(${OUTBOX_LOCK_CLASS}, hashtext(${projectId}))`)
  const rows = list.map((event) => sql`(${newId('evt')}, ${projectId}, ${event.type}, ${event.chatId ?? null}, ${event.threadId ?? null}, ${JSON.stringify(event.data)}::jsonb)`)
  // One statement: the events, and a webhook delivery for each active endpoint of the project
  // that wants the type (none when the project has no endpoints: one index probe).
  await tx.execute(sql`
    with appended as (
      insert into events (id, project_id, type, chat_id, thread_id, data)
      values ${sql.join(rows, sql`, `)}
      returning id, type, chat_id, thread_id, data, created_at
    )
    insert into webhook_deliveries (id, project_id, endpoint_id, event_id, event_type, payload)
    select 'whd_' || substr(md5(endpoint.id || ':' || appended.id), 1, 26), ${projectId}, endpoint.id, appended.id, appended.type,
      ${webhookPayloadSql}
    from appended
    join webhook_endpoints endpoint
      on endpoint.project_id = ${projectId} and endpoint.status = 'active'
      and (endpoint.event_types is null or appended.type = any(endpoint.event_types))`)
}

/**
 * The spec's WebhookEvent, `{ id, type, created_at, data }`, built where the
 * event is appended; `data` is the outbox data plus its `chat_id` and `thread_id`.
 */
const webhookPayloadSql = sql.raw(`jsonb_build_object(
        'id', appended.id,
        'type', appended.type,
        'created_at', to_char(appended.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'data', jsonb_build_object('chat_id', appended.chat_id, 'thread_id', appended.thread_id) || appended.data)`)

/** Tells listeners (SSE subscribers, other processes) that a project has new events; best effort. */
export function announceEvents(handle: DatabaseHandle, projectId: string): void {
  handle.notify(EVENTS_CHANNEL, projectId).catch(() => {})
}
