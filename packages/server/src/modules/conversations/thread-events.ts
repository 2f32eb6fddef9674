import type { z } from '@hono/zod-openapi'
import type { ThreadEventSchema, ThreadEventTypeSchema } from './schemas.ts'
import type { OutboxRow } from '../../platform/events/outbox.ts'

/** An outbox row as the event feeds read it (`events` in src/db/schema.ts). */
export type { OutboxRow }

/** What one SSE frame carries (the API object `ThreadEvent`), typed once from its schema. */
export type ThreadEvent = z.infer<typeof ThreadEventSchema>
export type ThreadEventType = z.infer<typeof ThreadEventTypeSchema>

/**
 * The spec's `ThreadEvent` types, then ours. Every outbox type about a thread
 * has exactly one; `THREAD_EVENT_TYPES` is the whole mapping in one place.
 */
export const THREAD_EVENT_TYPES = {
  'thread.pending_count.changed': 'pending_count',
  'thread.mode.changed': 'mode_changed',
  'thread.message.created': 'message_created',
  'thread.created': 'thread_created',
  'thread.title.changed': 'title_changed',
  'thread.deleted': 'thread_deleted',
  'thread.approval.requested': 'approval_requested',
  'thread.approval.decided': 'approval_decided',
  'thread.reply.failed': 'reply_failed',
  'thread.message.delivery.changed': 'message_delivery',
} as const satisfies Record<string, ThreadEventType>

/** And every type the schema documents is sent for some outbox type: the compiler names one that is not. */
type Unmapped = Exclude<ThreadEventType, (typeof THREAD_EVENT_TYPES)[keyof typeof THREAD_EVENT_TYPES]>
null satisfies ([Unmapped] extends [never] ? null : Unmapped)

type Data = Record<string, unknown>

/** The fields of an event that depend on its type. */
type Payload = Omit<ThreadEvent, 'thread_id' | 'type' | 'chat_id' | 'event_id' | 'created_at'>

/**
 * Copies only the named fields, and only those present: a field added to the outbox later is not published by accident.
 * The names are the schema's; the values are what this server's writers put in the outbox.
 */
function pick<K extends keyof Payload>(data: Data, ...names: K[]): Pick<Payload, K> {
  const picked: Data = {}
  for (const name of names) if (data[name] !== undefined) picked[name] = data[name]
  return picked as Pick<Payload, K>
}

const PAYLOAD: Record<ThreadEventType, (data: Data) => Payload> = {
  pending_count: (data) => pick(data, 'pending_count'),
  mode_changed: (data) => pick(data, 'mode', 'previous_mode', 'by', 'reason'),
  message_created: (data) => pick(data, 'message'),
  thread_created: (data) => pick(data, 'thread'),
  title_changed: (data) => pick(data, 'title'),
  thread_deleted: () => ({}),
  approval_requested: (data) => pick(data, 'approval_id', 'tool_name', 'policy'),
  approval_decided: (data) => pick(data, 'approval_id', 'tool_name', 'status', 'decided_by'),
  reply_failed: (data) => pick(data, 'error', 'attempts'),
  message_delivery: (data) => pick(data, 'message_id', 'delivery'),
}

/** The client-facing event of an outbox row; null for rows that are not about a thread. */
export function toThreadEvent(row: OutboxRow): ThreadEvent | null {
  const type = THREAD_EVENT_TYPES[row.type as keyof typeof THREAD_EVENT_TYPES]
  if (!type || row.threadId === null) return null
  const data = (row.data ?? {}) as Data
  return {
    thread_id: row.threadId,
    type,
    ...PAYLOAD[type](data),
    chat_id: row.chatId,
    event_id: row.id,
    created_at: row.createdAt.toISOString(),
  }
}

const encoder = new TextEncoder()
const frames = new WeakMap<OutboxRow, Uint8Array | null>()

/**
 * The SSE frame of a row, `id: <seq>\ndata: <JSON>\n\n`, or null when the row
 * is no thread event. No `event:` line, so `EventSource.onmessage` gets it.
 * Encoded once per row, however many subscribers receive it.
 */
export function frameOf(row: OutboxRow): Uint8Array | null {
  let frame = frames.get(row)
  if (frame === undefined) {
    const event = toThreadEvent(row)
    frame = event ? encoder.encode(`id: ${row.seq}\ndata: ${JSON.stringify(event)}\n\n`) : null
    frames.set(row, frame)
  }
  return frame
}
