import { z } from '@hono/zod-openapi'
import { idParam, nameField, safeText, timestamp } from '../../platform/http/fields.ts'

export const BotStatusSchema = z.enum(['active', 'disabled', 'error']).openapi('BotStatus')

export const BotSchema = z
  .object({
    id: z.string().openapi({ example: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    name: z.string().openapi({ example: 'Support Bot' }),
    description: z.string().nullable(),
    status: BotStatusSchema,
    project_id: z.string(),
    created_at: timestamp(),
    updated_at: timestamp(),
  })
  .openapi('Bot', {
    example: {
      id: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4',
      name: 'Support Bot',
      description: 'Answers questions about orders, delivery and returns.',
      status: 'active',
      project_id: 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4',
      created_at: '2026-11-22T12:00:00.000Z',
      updated_at: '2026-11-22T12:30:00.000Z',
    },
  })

const description = safeText().max(2000, 'must be at most 2000 characters')

export const CreateBotBody = z
  .strictObject({
    name: nameField().openapi({ example: 'Sales Bot' }),
    description: description.nullable().optional().openapi({ description: 'Extension: set the description at creation.' }),
  })
  .openapi('CreateBotBody', { example: { name: 'Sales Bot' } })

export const UpdateBotBody = z
  .strictObject({
    name: nameField().optional(),
    description: description.nullable().optional().openapi({ description: '`null` clears it.' }),
  })
  .openapi('UpdateBotBody', { example: { name: 'Support Bot', description: 'Answers questions about orders, delivery and returns.' } })

export const UpdateBotStatusBody = z.strictObject({ status: BotStatusSchema }).openapi('UpdateBotStatusBody', { example: { status: 'disabled' } })

export const BotParams = z.object({ bot_id: idParam('bot_id', 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4') })
