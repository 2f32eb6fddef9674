import { z } from '@hono/zod-openapi'
import { MessageSchema, ThreadMode, ThreadSchema } from './schemas.ts'
import { timestamp } from '../../platform/http/fields.ts'
import type { OutboxRow } from '../../platform/events/outbox.ts'

/** An outbox row as the event feeds read it (`events` in src/db/schema.ts). */
export type { OutboxRow }

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
} as const

export type ThreadEventType = (typeof THREAD_EVENT_TYPES)[keyof typeof THREAD_EVENT_TYPES]

/**
 * What one SSE frame of `/threads/events` carries: the spec's
 * `{ thread_id, type, pending_count?, mode? }`, plus, on every event,
 * `chat_id`, `event_id` and `created_at`, plus the payload of each type.
 */
export type ThreadEvent = {
  thread_id: string
  type: ThreadEventType
  [field: string]: unknown
  chat_id: string | null
  event_id: string
  created_at: string
}

type Data = Record<string, unknown>

/** Copies only the named fields, and only those present: a field added to the outbox later is not published by accident. */
function pick(data: Data, ...names: string[]): Data {
  const picked: Data = {}
  for (const name of names) if (data[name] !== undefined) picked[name] = data[name]
  return picked
}

const PAYLOAD: Record<ThreadEventType, (data: Data) => Data> = {
  pending_count: (data) => pick(data, 'pending_count'),
  mode_changed: (data) => pick(data, 'mode', 'previous_mode', 'by', 'reason'),
  message_created: (data) => pick(data, 'message'),
  thread_created: (data) => pick(data, 'thread'),
  title_changed: (data) => pick(data, 'title'),
  thread_deleted: () => ({}),
  approval_requested: (data) => pick(data, 'approval_id', 'tool_name', 'policy'),
  approval_decided: (data) => pick(data, 'approval_id', 'tool_name', 'status', 'decided_by'),
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

/** For the OpenAPI document: the JSON of each frame's `data:` line. */
export const ThreadEventSchema = z
  .object({
    thread_id: z.string(),
    type: z.enum(Object.values(THREAD_EVENT_TYPES) as [ThreadEventType, ...ThreadEventType[]]).openapi({
      description: "The spec's `pending_count`, `mode_changed`, `message_created`; the others are extensions.",
    }),
    pending_count: z.number().int().optional().openapi({ description: 'On `pending_count`.' }),
    mode: ThreadMode.optional().openapi({ description: 'On `mode_changed`: the new mode.' }),
    previous_mode: ThreadMode.optional().openapi({ description: 'Extension, on `mode_changed`.' }),
    by: z.string().optional().openapi({ description: 'Extension, on `mode_changed`: `bot` when the AI handed off.' }),
    reason: z.string().optional().openapi({ description: 'Extension, on `mode_changed` by the AI: why.' }),
    message: MessageSchema.optional().openapi({ description: 'Extension, on `message_created`: the stored message.' }),
    thread: ThreadSchema.optional().openapi({ description: 'Extension, on `thread_created`.' }),
    title: z.string().optional().openapi({ description: 'Extension, on `title_changed`.' }),
    approval_id: z.string().optional().openapi({ description: 'Extension, on `approval_requested` and `approval_decided`.' }),
    tool_name: z.string().optional(),
    policy: z.enum(['user_approve', 'operator_approve']).optional().openapi({ description: 'On `approval_requested`.' }),
    status: z.enum(['approved', 'denied']).optional().openapi({ description: 'On `approval_decided`.' }),
    decided_by: z.string().optional().openapi({ description: 'On `approval_decided`: the internal user id or the API key id.' }),
    chat_id: z.string().nullable().openapi({ description: 'Extension.' }),
    event_id: z.string().openapi({ description: 'Extension: the outbox event id (`evt_…`).', example: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    created_at: timestamp().openapi({ description: 'Extension: when the change was committed.' }),
  })
  .openapi('ThreadEvent', { example: { thread_id: 'support-42', type: 'pending_count', pending_count: 2, chat_id: 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4', event_id: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c4', created_at: '2026-11-22T12:00:00.000Z' } })
