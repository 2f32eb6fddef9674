import { sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../db/client.ts'
import { newId } from '../db/ids.ts'
import { events } from '../db/schema.ts'

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

export type OutboxEvent = {
  type: EventType
  chatId?: string | null
  threadId?: string | null
  data: Record<string, unknown>
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
  await tx.insert(events).values(
    list.map((event) => ({
      id: newId('evt'),
      projectId,
      type: event.type,
      chatId: event.chatId ?? null,
      threadId: event.threadId ?? null,
      data: event.data,
    })),
  )
}

/** Tells listeners (SSE subscribers, other processes) that a project has new events; best effort. */
export function announceEvents(handle: DatabaseHandle, projectId: string): void {
  handle.notify(EVENTS_CHANNEL, projectId).catch(() => {})
}
