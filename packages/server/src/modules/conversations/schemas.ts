import { z } from '@hono/zod-openapi'
import { idField, idParam, nameField, safeText, timestamp, urlField } from '../../platform/http/fields.ts'
import { ChatSettingsField } from './chat-settings.ts'

export const ChatSchema = z
  .object({
    id: z.string().openapi({ example: 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    name: z.string(),
    bot_id: z.string(),
    integration_id: z.string().nullable(),
    status: z.enum(['active', 'disabled', 'error']),
    project_id: z.string(),
    created_at: timestamp(),
    updated_at: timestamp(),
    events_24h: z.number().int().openapi({ description: 'Message events in the last 24 hours.' }),
    settings: z.record(z.string(), z.unknown()).openapi({ description: 'Extension: your settings for this chat, as stored.' }),
  })
  .openapi('Chat', {
    example: {
      id: 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4',
      name: 'Website support',
      bot_id: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4',
      integration_id: null,
      status: 'active',
      project_id: 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4',
      created_at: '2026-11-22T12:00:00.000Z',
      updated_at: '2026-11-22T12:00:00.000Z',
      events_24h: 37,
      settings: { locale: 'en' },
    },
  })

const chatName = () => nameField().openapi({ description: "Unique among the bot's chats, compared case-insensitively (409 `name_taken`).", example: 'Website' })

export const CreateChatBody = z
  .strictObject({ bot_id: idField('a bot id'), name: chatName(), settings: ChatSettingsField().optional() })
  .openapi('CreateChatBody', { example: { bot_id: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4', name: 'Website', settings: { locale: 'en' } } })

/** `POST /chats/:chat_id`: fields left out keep their values. */
export const UpdateChatBody = z
  .strictObject({ name: chatName().optional(), settings: ChatSettingsField().optional() })
  .openapi('UpdateChatBody', { example: { name: 'Website (EU)', settings: { locale: 'de', greeting: null } } })

/** `error` is the server's to set (a channel that stopped working), so a client can only switch between these two. */
export const UpdateChatStatusBody = z
  .strictObject({ status: z.enum(['active', 'disabled']) })
  .openapi('UpdateChatStatusBody', { example: { status: 'disabled' } })

export const ThreadMode = z.enum(['auto', 'manual', 'operator', 'blocked']).openapi('ThreadMode')

/** A thread, as every example that shows one gives it. */
export const THREAD_EXAMPLE = {
  id: 'support-42',
  chat_id: 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4',
  bot_id: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4',
  mode: 'auto',
  title: 'Return policy',
  last_message_at: '2026-11-22T12:05:00.000Z',
  pending_count: 0,
  created_at: '2026-11-22T12:00:00.000Z',
} as const

export const ThreadSchema = z
  .object({
    id: z.string().openapi({ example: 'support-42' }),
    chat_id: z.string(),
    bot_id: z.string(),
    mode: ThreadMode,
    title: z.string().nullable(),
    last_message_at: timestamp().nullable(),
    pending_count: z.number().int(),
    created_at: timestamp(),
  })
  .openapi('Thread', { example: THREAD_EXAMPLE })

export const MessageSchema = z
  .object({
    id: z.string(),
    role: z.enum(['user', 'assistant', 'tool']),
    content: z.string(),
    created_at: timestamp(),
    author: z.enum(['user', 'bot', 'operator', 'system']).openapi({ description: 'Extension: who wrote it.' }),
    operator_id: z.string().nullable().openapi({ description: 'Extension: on operator messages, who sent it (a user id from the internal API, or an API key id).' }),
    usage: z
      .object({ model: z.string(), input_tokens: z.number().int().nullable(), output_tokens: z.number().int().nullable() })
      .nullable()
      .openapi({ description: "Extension: the model's token usage, on AI replies." }),
    tool_calls: z
      .array(z.object({ id: z.string(), name: z.string(), args: z.unknown() }))
      .nullable()
      .openapi({ description: 'Extension: on an assistant message, the tools it called (its `content` is whatever text came with them, often none).' }),
    tool_results: z
      .array(z.object({ tool_call_id: z.string(), name: z.string(), result: z.unknown() }))
      .nullable()
      .openapi({ description: 'Extension: on a tool message, what each called tool answered.' }),
    delivery: z
      .object({ status: z.enum(['pending', 'sent', 'failed']), external_id: z.string().nullable(), error: z.string().nullable() })
      .nullable()
      .optional()
      .openapi({ description: "Extension: for a bot's or an operator's message in a channel's conversation (Telegram, …), whether it reached the channel: `sent` with the vendor's message id, `failed` with the vendor's error. Absent or null elsewhere." }),
  })
  .openapi('Message', {
    example: {
      id: 'msg_01jdq3v5k7m9p2r4t6w8y0a2c4',
      role: 'assistant',
      content: 'You can return any item within 30 days of delivery. Shall I start a return for your order?',
      created_at: '2026-11-22T12:05:00.000Z',
      author: 'bot',
      operator_id: null,
      usage: { model: 'openai/gpt-4o-mini', input_tokens: 412, output_tokens: 23 },
      tool_calls: null,
      tool_results: null,
    },
  })

export const ChatParams = z.object({ chat_id: idParam('chat_id', 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4') })
export const ThreadParams = ChatParams.extend({ thread_id: idParam('thread_id', 'support-42') })

/** Extension: who the end user is, for API threads (channels fill it in themselves). */
export const PersonBody = z
  .strictObject({
    external_id: safeText().min(1).max(256).optional().openapi({ description: 'Your id for this person; the same id is the same person across threads.' }),
    name: safeText().max(200).optional(),
    avatar_url: urlField().optional(),
  })
  .openapi('PersonInput', {
    description: "Extension: the end user. With `external_id` the project's person with that id is used (and updated); otherwise the thread's own person.",
    example: { external_id: 'customer-1187', name: 'Anna Petrova' },
  })

export const StreamBody = z
  .strictObject({
    messages: z
      .array(z.strictObject({ role: z.literal('user'), content: safeText().min(1, 'must not be empty').max(100_000) }))
      .min(1, 'at least one message')
      .max(20, 'at most 20 messages at once'),
    scheduledAt: z.string().optional().openapi({ description: 'ISO 8601, in the future: store now, reply then.', format: 'date-time' }),
    person: PersonBody.optional(),
  })
  .openapi('StreamBody', { example: { messages: [{ role: 'user', content: 'What is your return policy?' }] } })

/**
 * The body `useChat` (AI SDK UI) sends: its whole message list. The server keeps
 * the history itself, so only the last message, a user message, is new.
 */
export const UiChatBody = z
  .looseObject({
    id: safeText().optional(),
    trigger: safeText().optional(),
    messageId: safeText().optional(),
    messages: z
      .array(
        z.looseObject({
          id: safeText().optional(),
          role: z.enum(['user', 'assistant', 'system']),
          parts: z.array(z.looseObject({ type: safeText(), text: safeText().optional() })),
        }),
      )
      .min(1, 'at least one message'),
  })
  .openapi('UiChatBody', {
    example: {
      id: 'support-42',
      trigger: 'submit-message',
      messages: [{ id: 'ui-msg-1', role: 'user', parts: [{ type: 'text', text: 'What is your return policy?' }] }],
    },
  })

export const StreamQuery = z.object({
  format: z.enum(['data', 'ui-message-stream']).optional().openapi({
    description: '`ui-message-stream`: answer in the AI SDK UI message stream protocol and accept `useChat` bodies.',
  }),
})

export const SetModeBody = z.strictObject({ mode: ThreadMode }).openapi('SetThreadModeBody', { example: { mode: 'manual' } })

/** `POST …/stream` when nothing streams: what was stored, and why no reply follows. */
export const StreamAcceptedSchema = z
  .object({
    status: z.enum(['pending_operator', 'stored', 'scheduled']),
    mode: z.enum(['auto', 'manual', 'operator', 'blocked']),
    thread_id: z.string(),
    message_ids: z.array(z.string()),
    pending_count: z.number().int(),
    scheduled_at: z.string().nullable(),
  })
  .openapi('StreamAccepted', {
    example: { status: 'pending_operator', mode: 'manual', thread_id: 'support-42', message_ids: ['msg_01jdq3v5k7m9p2r4t6w8y0a2c4'], pending_count: 1, scheduled_at: null },
  })

// ── threads across chats (/threads) ──────────────────────────────────────────

export const ThreadIdParams = z.object({ thread_id: idParam('thread_id', 'support-42') })

const filterId = (what: string) =>
  idField(`a ${what} id`).optional().openapi({ description: `Only threads of this ${what} (none when it is not in your project).` })

export const ListThreadsQuery = z.object({
  chat_id: filterId('chat'),
  bot_id: filterId('bot'),
  search: safeText()
    .max(500)
    .transform((value) => value.trim() || undefined)
    .optional()
    .openapi({
      description:
        'Full-text search over the threads\' messages, Russian and English stemming ("заказа" finds "заказ", "orders" finds "order"); web-search syntax: `"a phrase"`, `or`, `-word`. Best match first.',
      example: 'заказ',
    }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: 'Max results, 1–100 (default 20).' }),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).openapi({ description: 'Skip this many rows, from the top or from the cursor.' }),
  cursor: z.string().max(2048).optional().openapi({ description: 'The `next_cursor` of the previous page. Pages stay stable while messages arrive.' }),
})

export const ThreadListSchema = z
  .object({ data: z.array(ThreadSchema), next_cursor: z.string().nullable() })
  .openapi('ThreadList', {
    example: {
      data: [THREAD_EXAMPLE],
      next_cursor: 'eyJ2IjoxLCJzbmFwc2hvdCI6IjIwMjYtMTEtMjJUMTI6MTA6MDAuMDAwMDAwWiIsImtleSI6WzE3OTUzNDkxMDAwMDAsInN1cHBvcnQtNDIiXSwiZmlsdGVycyI6e319',
    },
  })

export const PersonSchema = z
  .object({ id: z.string(), name: z.string().nullable(), avatar_url: z.string().nullable(), external_id: z.string().nullable() })
  .openapi('Person', { example: { id: 'per_01jdq3v5k7m9p2r4t6w8y0a2c4', name: 'Anna Petrova', avatar_url: null, external_id: 'customer-1187' } })

export const ThreadDetailSchema = ThreadSchema.extend({
  person: PersonSchema.nullable(),
  stats: z.object({
    messages_total: z.number().int().openapi({ description: 'user_messages + bot_messages.' }),
    user_messages: z.number().int(),
    bot_messages: z.number().int().openapi({ description: 'Replies with text: the AI\'s and the operators\'.' }),
    operator_messages: z.number().int().openapi({ description: 'Extension: the operators\' part of bot_messages.' }),
  }),
}).openapi('ThreadDetail', {
  example: {
    id: 'support-42',
    chat_id: 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4',
    bot_id: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4',
    mode: 'manual',
    title: 'Return policy',
    last_message_at: '2026-11-22T12:05:00.000Z',
    pending_count: 1,
    created_at: '2026-11-22T12:00:00.000Z',
    person: { id: 'per_01jdq3v5k7m9p2r4t6w8y0a2c4', name: 'Anna Petrova', avatar_url: null, external_id: 'customer-1187' },
    stats: { messages_total: 5, user_messages: 3, bot_messages: 2, operator_messages: 0 },
  },
})

export const SendMessageBody = z
  .strictObject({
    text: safeText().trim().min(1, 'must not be empty').max(100_000),
    scheduledAt: z.string().optional().openapi({ description: 'ISO 8601, in the future: deliver then (extension endpoints list and cancel it).', format: 'date-time' }),
  })
  .openapi('SendMessageBody', { example: { text: 'Hi Anna, I have checked your order: it ships tomorrow.' } })

export const ScheduledMessageSchema = z
  .object({
    id: z.string().openapi({ example: 'sch_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    thread_id: z.string(),
    text: z.string(),
    operator_id: z.string(),
    scheduled_at: timestamp(),
    status: z.enum(['scheduled', 'sent', 'cancelled', 'skipped']),
    message_id: z.string().nullable().openapi({ description: 'The message, once sent.' }),
    reason: z.string().nullable().openapi({ description: 'Why it was skipped.' }),
    created_at: timestamp(),
    updated_at: timestamp(),
  })
  .openapi('ScheduledMessage', {
    example: {
      id: 'sch_01jdq3v5k7m9p2r4t6w8y0a2c4',
      thread_id: 'support-42',
      text: 'Good morning! Your order has shipped.',
      operator_id: 'usr_01jdq3v5k7m9p2r4t6w8y0a2c4',
      scheduled_at: '2026-11-23T09:00:00.000Z',
      status: 'scheduled',
      message_id: null,
      reason: null,
      created_at: '2026-11-22T12:10:00.000Z',
      updated_at: '2026-11-22T12:10:00.000Z',
    },
  })

export const ScheduledParams = ThreadIdParams.extend({ scheduled_id: idParam('scheduled_id', 'sch_01jdq3v5k7m9p2r4t6w8y0a2c4') })

export const WorkingMemorySchema = z
  .object({ content: z.string().nullable() })
  .openapi('WorkingMemory', { example: { content: '# Customer\n- Name: Anna Petrova\n- Order: #1187, ships tomorrow\n- Prefers email' } })

export const ApprovalParams = ThreadIdParams.extend({ approval_id: idParam('approval_id', 'aitxt-abc123') })

export const ApprovalBody = z
  .strictObject({ approved: z.boolean(), reason: safeText().max(2000).optional() })
  .openapi('ApprovalDecision', { example: { approved: true, reason: 'The customer asked for a human.' } })

// ── the live event feed (/threads/events) ───────────────────────────────────

/**
 * The `type` of a ThreadEvent: the spec's `pending_count`, `mode_changed`,
 * `message_created`, then ours. thread-events.ts maps every outbox type about
 * a thread to one of these.
 */
export const ThreadEventTypeSchema = z.enum([
  'pending_count',
  'mode_changed',
  'message_created',
  'thread_created',
  'title_changed',
  'thread_deleted',
  'approval_requested',
  'approval_decided',
  'reply_failed',
  'message_delivery',
])

/**
 * What one SSE frame of `/threads/events` carries in its `data:` line: the
 * spec's `{ thread_id, type, pending_count?, mode? }`, plus, on every event,
 * `chat_id`, `event_id` and `created_at`, plus the payload of each type.
 */
export const ThreadEventSchema = z
  .object({
    thread_id: z.string(),
    type: ThreadEventTypeSchema.openapi({
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
    error: z.string().optional().openapi({ description: 'Extension, on `reply_failed`: why the bot could not answer.' }),
    message_id: z.string().optional().openapi({ description: 'Extension, on `message_delivery`: the message sent out through the channel.' }),
    delivery: z.object({ status: z.string(), external_id: z.string().nullable(), error: z.string().nullable() }).optional().openapi({ description: 'Extension, on `message_delivery`: what the channel made of it.' }),
    attempts: z.number().int().optional().openapi({ description: 'Extension, on `reply_failed`: how many times it was tried.' }),
    chat_id: z.string().nullable().openapi({ description: 'Extension.' }),
    event_id: z.string().openapi({ description: 'Extension: the outbox event id (`evt_…`).', example: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    created_at: timestamp().openapi({ description: 'Extension: when the change was committed.' }),
  })
  .openapi('ThreadEvent', { example: { thread_id: 'support-42', type: 'pending_count', pending_count: 2, chat_id: 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4', event_id: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c4', created_at: '2026-11-22T12:00:00.000Z' } })

/** Lifetimes of an event-stream token, in seconds: how long its URL can be replayed if it leaks. */
export const EVENT_TOKEN_DEFAULT_SECONDS = 300
export const EVENT_TOKEN_MAX_SECONDS = 3600

/** A token for thread `support-42`, signed with a made-up key: only its shape is real. */
const EXAMPLE_TOKEN =
  'est_eyJwIjoicHJqXzAxamRxM3Y1azdtOXAycjR0Nnc4eTBhMmM0IiwiayI6ImtleV8wMWpkcTN2NWs3bTlwMnI0dDZ3OHkwYTJjNCIsInQiOiJzdXBwb3J0LTQyIiwieCI6MTc5NTM0OTEwMH0.8c0cc17a.z1PUTrbfUIR4zLYjsQDxX66ZMP6dkYPuqnW01Bq3pbc'

export const ResumeQuery = z.object({
  last_event_id: z.string().optional().openapi({
    description:
      'Extension: the same as the `Last-Event-ID` header, for clients that cannot set headers. The header wins when both are present (EventSource sends it on every reconnection, while the URL keeps its first value).',
    example: '1042',
  }),
  token: safeText().max(2048).optional().openapi({
    description:
      'Extension, public API only: an event-stream token from `POST /threads/events/tokens`, for browsers, whose EventSource cannot send `Authorization`. Accepted on the event streams and nowhere else; an `sk-` key is never read from a URL.',
    example: EXAMPLE_TOKEN,
  }),
})
export const ResumeHeaders = z.object({
  'last-event-id': z.string().optional().openapi({
    description: 'Resume: every event after this one (the `id:` of the last frame received) is sent first, then live events.',
    example: '1042',
  }),
})

export const EventTokenRequest = z.object({
  thread_id: idField('a thread id').optional().openapi({
    description: "Limit the token to this thread's stream (`GET /threads/events/{thread_id}`); without it, the token opens the project's stream and any of its threads'.",
    example: 'support-42',
  }),
  expires_in: z.number().int().min(10).max(EVENT_TOKEN_MAX_SECONDS).optional().openapi({
    description: `Seconds until the token stops opening streams (10–${EVENT_TOKEN_MAX_SECONDS}; default ${EVENT_TOKEN_DEFAULT_SECONDS}). A stream it opened stays open; reconnecting after expiry needs a new token.`,
    example: EVENT_TOKEN_DEFAULT_SECONDS,
  }),
}).strict().openapi('EventTokenRequest', { example: { thread_id: 'support-42', expires_in: EVENT_TOKEN_DEFAULT_SECONDS } })

export const EventTokenSchema = z.object({
  token: z.string().openapi({ description: 'Pass as `?token=` to the event streams.', example: EXAMPLE_TOKEN }),
  expires_at: z.string().openapi({ format: 'date-time', example: '2026-11-22T12:05:00.000Z' }),
  thread_id: z.string().nullable().openapi({ description: 'The thread it is limited to, or null for the whole project.', example: 'support-42' }),
}).openapi('EventToken', { example: { token: EXAMPLE_TOKEN, expires_at: '2026-11-22T12:05:00.000Z', thread_id: 'support-42' } })
