import { z } from '@hono/zod-openapi'
import { ID_PATTERN } from '../../platform/db/ids.ts'
import { idParam, nameField, safeText, timestamp } from '../../platform/http/fields.ts'
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
  .strictObject({ bot_id: z.string().min(1).max(128), name: chatName(), settings: ChatSettingsField().optional() })
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
    avatar_url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
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
    id: z.string().optional(),
    trigger: z.string().optional(),
    messageId: z.string().optional(),
    messages: z
      .array(
        z.looseObject({
          id: z.string().optional(),
          role: z.enum(['user', 'assistant', 'system']),
          parts: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
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

export { ID_PATTERN }
