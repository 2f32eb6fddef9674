import { z } from '@hono/zod-openapi'
import { ID_PATTERN } from '../../platform/db/ids.ts'
import { THREAD_EXAMPLE, ThreadSchema } from './schemas.ts'
import { idParam, safeText, timestamp } from '../../platform/http/fields.ts'

export const ThreadIdParams = z.object({ thread_id: idParam('thread_id', 'support-42') })

const filterId = (what: string) =>
  z.string().regex(ID_PATTERN, 'is not an id').optional().openapi({ description: `Only threads of this ${what} (none when it is not in your project).` })

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
