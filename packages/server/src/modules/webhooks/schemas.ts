import { z } from '@hono/zod-openapi'
import { idField, idParam, safeText, timestamp, urlField } from '../../platform/http/fields.ts'

/** Types an endpoint can ask for: the spec's three first, then the other outbox events. */
export const WEBHOOK_EVENT_TYPES = [
  'thread.created',
  'thread.message.created',
  'thread.mode.changed',
  'thread.pending_count.changed',
  'thread.title.changed',
  'thread.deleted',
  'thread.approval.requested',
  'thread.approval.decided',
  'thread.reply.failed',
  'thread.message.delivery.changed',
  'integration.status.changed',
  'integration.auth_lost',
  'integration.deleted',
  'chat.deleted',
  'billing.balance.low',
  'billing.credits_exhausted',
] as const

const EventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((types) => [...new Set(types)])
  .nullable()
  .openapi({ description: 'Extension: the event types this endpoint receives; null or absent = all.' })

const Url = urlField().openapi({ description: 'https; must resolve to a public address (see docs/webhooks.md).', example: 'https://crm.example.test/worken/webhooks' })
const Secret = safeText().min(16, 'must be at least 16 characters').max(256).openapi({ description: 'The HMAC-SHA256 key of the signatures.' })

export const WebhookEndpointSchema = z
  .object({
    id: z.string().openapi({ example: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    url: z.string(),
    status: z.enum(['active', 'disabled']),
    created_at: timestamp(),
    updated_at: timestamp(),
    event_types: z.array(z.string()).nullable(),
    description: z.string().nullable(),
    disabled_reason: z.string().nullable().openapi({ description: 'Extension: why it was disabled (410, 5 days of failures, the API).' }),
  })
  .openapi('WebhookEndpoint', {
    example: {
      id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4',
      url: 'https://crm.example.test/worken/webhooks',
      status: 'active',
      created_at: '2026-11-22T12:00:00.000Z',
      updated_at: '2026-11-22T12:00:00.000Z',
      event_types: ['thread.message.created', 'thread.mode.changed'],
      description: 'CRM sync',
      disabled_reason: null,
    },
  })

export const CreatedWebhookEndpointSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({ description: 'The signing secret: shown here once, never again.' }),
}).openapi('CreatedWebhookEndpoint', {
  example: {
    id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4',
    url: 'https://crm.example.test/worken/webhooks',
    status: 'active',
    created_at: '2026-11-22T12:00:00.000Z',
    updated_at: '2026-11-22T12:00:00.000Z',
    event_types: ['thread.message.created', 'thread.mode.changed'],
    description: 'CRM sync',
    disabled_reason: null,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  },
})

export const CreateWebhookEndpointBody = z
  .strictObject({
    url: Url,
    secret: Secret.optional().openapi({ description: 'Omitted: a `whsec_…` secret is generated (extension).' }),
    event_types: EventTypes.optional(),
    description: safeText().max(500).nullable().optional(),
  })
  .openapi('CreateWebhookEndpointBody', {
    example: { url: 'https://crm.example.test/worken/webhooks', event_types: ['thread.message.created', 'thread.mode.changed'], description: 'CRM sync' },
  })

export const UpdateWebhookEndpointBody = z
  .strictObject({
    status: z.enum(['active', 'disabled']).optional(),
    secret: Secret.optional(),
    url: Url.optional().openapi({ description: 'Extension.' }),
    event_types: EventTypes.optional(),
    description: safeText().max(500).nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'nothing to update' })
  .openapi('UpdateWebhookEndpointBody', { example: { status: 'active' } })

const DeliveryStatus = z.enum(['pending', 'delivering', 'succeeded', 'failed', 'cancelled'])

/** One delivery, as the examples of the delivery routes show it. */
const DELIVERY_EXAMPLE = {
  id: 'whd_01jdq3v5k7m9p2r4t6w8y0a2c4',
  endpoint_id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4',
  event_id: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c4',
  event_type: 'thread.message.created',
  status: 'succeeded',
  attempts: 1,
  next_attempt_at: null,
  last_attempt_at: '2026-11-22T12:05:01.000Z',
  response_status: 200,
  response_body: 'ok',
  latency_ms: 84,
  last_error: null,
  delivered_at: '2026-11-22T12:05:01.000Z',
  created_at: '2026-11-22T12:05:00.000Z',
} as const

export const WebhookDeliverySchema = z
  .object({
    id: z.string(),
    endpoint_id: z.string(),
    event_id: z.string().openapi({ description: 'The WebhookEvent id; the same on every attempt (`webhook-id`).' }),
    event_type: z.string(),
    status: DeliveryStatus,
    attempts: z.number().int(),
    next_attempt_at: timestamp().nullable(),
    last_attempt_at: timestamp().nullable(),
    response_status: z.number().int().nullable(),
    response_body: z.string().nullable().openapi({ description: 'The first 1 KB of the last response.' }),
    latency_ms: z.number().int().nullable(),
    last_error: z.string().nullable(),
    delivered_at: timestamp().nullable(),
    created_at: timestamp(),
  })
  .openapi('WebhookDelivery', { example: DELIVERY_EXAMPLE })

export const EndpointParams = z.object({ id: idParam('id', 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4') })
export const DeliveryParams = EndpointParams.extend({ delivery_id: idParam('delivery_id', 'whd_01jdq3v5k7m9p2r4t6w8y0a2c4') })

export const WebhookDeliveryListSchema = z
  .object({ data: z.array(WebhookDeliverySchema), has_more: z.boolean() })
  .openapi('WebhookDeliveryList', { example: { data: [DELIVERY_EXAMPLE], has_more: false } })

export const DeliveryListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: 'At most this many deliveries, 1–100 (default 20); `has_more` says whether more follow.' }),
  starting_after: idField('a delivery id').optional().openapi({ description: 'The last id of the previous page.' }),
  status: DeliveryStatus.optional(),
})
