import { createRoute, z } from '@hono/zod-openapi'
import { Deleted, idParam, safeText, timestamp } from '../../platform/http/fields.ts'
import { createRouter, errorResponses, jsonBody, jsonContent } from '../../platform/http/router.ts'
import type { WebhookService } from './service.ts'
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from './service.ts'

const tags = ['Webhook Endpoints']

const EventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((types) => [...new Set(types)])
  .nullable()
  .openapi({ description: 'Extension: the event types this endpoint receives; null or absent = all.' })

const Url = z.url({ protocol: /^https?$/ }).max(2048).openapi({ description: 'https; must resolve to a public address (see docs/webhooks.md).', example: 'https://example.com/worken/webhooks' })
const Secret = safeText().min(16, 'must be at least 16 characters').max(256).openapi({ description: 'The HMAC-SHA256 key of the signatures.' })

const EndpointSchema = z
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
      url: 'https://example.com/worken/webhooks',
      status: 'active',
      created_at: '2026-11-22T12:00:00.000Z',
      updated_at: '2026-11-22T12:00:00.000Z',
      event_types: ['thread.message.created', 'thread.mode.changed'],
      description: 'CRM sync',
      disabled_reason: null,
    },
  })

const CreatedEndpointSchema = EndpointSchema.extend({
  secret: z.string().openapi({ description: 'The signing secret: shown here once, never again.' }),
}).openapi('CreatedWebhookEndpoint', {
  example: {
      id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4',
    url: 'https://example.com/worken/webhooks',
    status: 'active',
    created_at: '2026-11-22T12:00:00.000Z',
    updated_at: '2026-11-22T12:00:00.000Z',
    event_types: ['thread.message.created', 'thread.mode.changed'],
    description: 'CRM sync',
    disabled_reason: null,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  },
})

const CreateBody = z
  .strictObject({
    url: Url,
    secret: Secret.optional().openapi({ description: 'Omitted: a `whsec_…` secret is generated (extension).' }),
    event_types: EventTypes.optional(),
    description: safeText().max(500).nullable().optional(),
  })
  .openapi('CreateWebhookEndpointBody', {
    example: { url: 'https://example.com/worken/webhooks', event_types: ['thread.message.created', 'thread.mode.changed'], description: 'CRM sync' },
  })

const UpdateBody = z
  .strictObject({
    status: z.enum(['active', 'disabled']).optional(),
    secret: Secret.optional(),
    url: Url.optional().openapi({ description: 'Extension.' }),
    event_types: EventTypes.optional(),
    description: safeText().max(500).nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'nothing to update' })
  .openapi('UpdateWebhookEndpointBody', { example: { status: 'active' } })

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

const DeliverySchema = z
  .object({
    id: z.string(),
    endpoint_id: z.string(),
    event_id: z.string().openapi({ description: 'The WebhookEvent id; the same on every attempt (`webhook-id`).' }),
    event_type: z.string(),
    status: z.enum(['pending', 'delivering', 'succeeded', 'failed', 'cancelled']),
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

const EndpointParams = z.object({ id: idParam('id', 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4') })
const DeliveryParams = EndpointParams.extend({ delivery_id: idParam('delivery_id', 'whd_01jdq3v5k7m9p2r4t6w8y0a2c4') })

const list = createRoute({
  method: 'get', path: '/webhook-endpoints', operationId: 'webhookEndpoints.list', tags, summary: 'List webhook endpoints',
  responses: { 200: jsonContent(z.array(EndpointSchema), 'The endpoints, oldest first') },
})
const create = createRoute({
  method: 'post', path: '/webhook-endpoints', operationId: 'webhookEndpoints.create', tags, summary: 'Create a webhook endpoint',
  request: { body: jsonBody(CreateBody) },
  responses: { 200: jsonContent(CreatedEndpointSchema, 'The endpoint, with its secret (the only time it is returned)'), ...errorResponses(400, 422) },
})
const get = createRoute({
  method: 'get', path: '/webhook-endpoints/{id}', operationId: 'webhookEndpoints.get', tags, summary: 'Get a webhook endpoint (extension)',
  request: { params: EndpointParams },
  responses: { 200: jsonContent(EndpointSchema, 'The endpoint'), ...errorResponses(404) },
})
const update = createRoute({
  method: 'put', path: '/webhook-endpoints/{id}', operationId: 'webhookEndpoints.update', tags, summary: 'Update a webhook endpoint',
  description: '`status: "active"` re-enables a disabled endpoint; a new `secret` signs every attempt from now on.',
  request: { params: EndpointParams, body: jsonBody(UpdateBody) },
  responses: { 200: jsonContent(EndpointSchema, 'The endpoint'), ...errorResponses(400, 404, 422) },
})
const remove = createRoute({
  method: 'delete', path: '/webhook-endpoints/{id}', operationId: 'webhookEndpoints.delete', tags, summary: 'Delete a webhook endpoint',
  request: { params: EndpointParams },
  responses: { 200: jsonContent(Deleted, 'The endpoint and its delivery log are gone', { id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4', deleted: true }), ...errorResponses(404) },
})
const deliveries = createRoute({
  method: 'get', path: '/webhook-endpoints/{id}/deliveries', operationId: 'webhookEndpoints.deliveries.list', tags, summary: 'List deliveries (extension)',
  description: 'Newest first. `starting_after`: the last id of the previous page.',
  request: {
    params: EndpointParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      starting_after: z.string().max(128).optional(),
      status: z.enum(['pending', 'delivering', 'succeeded', 'failed', 'cancelled']).optional(),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ data: z.array(DeliverySchema), has_more: z.boolean() }).openapi('WebhookDeliveryList', {
        example: {
          data: [DELIVERY_EXAMPLE],
          has_more: false,
        },
      }),
      'A page of deliveries',
    ),
    ...errorResponses(404, 422),
  },
})
const getDelivery = createRoute({
  method: 'get', path: '/webhook-endpoints/{id}/deliveries/{delivery_id}', operationId: 'webhookEndpoints.deliveries.get', tags, summary: 'Get a delivery (extension)',
  request: { params: DeliveryParams },
  responses: { 200: jsonContent(DeliverySchema, 'The delivery'), ...errorResponses(404) },
})
const retry = createRoute({
  method: 'post', path: '/webhook-endpoints/{id}/deliveries/{delivery_id}/retry', operationId: 'webhookEndpoints.deliveries.retry', tags, summary: 'Retry a delivery now (extension)',
  description: 'For a finished delivery (succeeded, failed or cancelled); 409 while it is pending or the endpoint is disabled.',
  request: { params: DeliveryParams },
  responses: {
    202: jsonContent(DeliverySchema, 'Queued for an attempt now', {
      id: 'whd_01jdq3v5k7m9p2r4t6w8y0a2c4',
      endpoint_id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4',
      event_id: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c4',
      event_type: 'thread.message.created',
      status: 'pending',
      attempts: 3,
      next_attempt_at: '2026-11-22T13:00:00.000Z',
      last_attempt_at: '2026-11-22T12:35:00.000Z',
      response_status: 503,
      response_body: 'Service Unavailable',
      latency_ms: 1204,
      last_error: 'HTTP 503',
      delivered_at: null,
      created_at: '2026-11-22T12:05:00.000Z',
    }),
    ...errorResponses(404, 409),
  },
})
const test = createRoute({
  method: 'post', path: '/webhook-endpoints/{id}/test', operationId: 'webhookEndpoints.test', tags, summary: 'Send a test event (extension)',
  description: `A \`${TEST_EVENT_TYPE}\` event to this endpoint only, signed and retried like any other.`,
  request: { params: EndpointParams },
  responses: {
    202: jsonContent(DeliverySchema, 'The test delivery, queued', {
      id: 'whd_01jdq3v5k7m9p2r4t6w8y0a2c5',
      endpoint_id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4',
      event_id: 'evt_01jdq3v5k7m9p2r4t6w8y0a2c5',
      event_type: 'webhook.test',
      status: 'pending',
      attempts: 0,
      next_attempt_at: '2026-11-22T12:40:00.000Z',
      last_attempt_at: null,
      response_status: null,
      response_body: null,
      latency_ms: null,
      last_error: null,
      delivered_at: null,
      created_at: '2026-11-22T12:40:00.000Z',
    }),
    ...errorResponses(404, 409),
  },
})

/** What the webhook routes read from the container. */
export type WebhookRouteServices = { webhooks: WebhookService }

export const webhookRoutes = createRouter<WebhookRouteServices>()
  .openapi(list, async (c) => c.json(await c.get('services').webhooks.list(c.get('principal').projectId), 200))
  .openapi(create, async (c) => c.json(await c.get('services').webhooks.create(c.get('principal').projectId, c.req.valid('json')), 200))
  .openapi(get, async (c) => c.json(await c.get('services').webhooks.get(c.get('principal').projectId, c.req.valid('param').id), 200))
  .openapi(update, async (c) => c.json(await c.get('services').webhooks.update(c.get('principal').projectId, c.req.valid('param').id, c.req.valid('json')), 200))
  .openapi(remove, async (c) => {
    const { id } = c.req.valid('param')
    await c.get('services').webhooks.delete(c.get('principal').projectId, id)
    return c.json({ id, deleted: true as const }, 200)
  })
  .openapi(deliveries, async (c) => {
    const query = c.req.valid('query')
    return c.json(await c.get('services').webhooks.deliveries(c.get('principal').projectId, c.req.valid('param').id, { limit: query.limit, startingAfter: query.starting_after, status: query.status }), 200)
  })
  .openapi(getDelivery, async (c) => {
    const { id, delivery_id } = c.req.valid('param')
    return c.json(await c.get('services').webhooks.delivery(c.get('principal').projectId, id, delivery_id), 200)
  })
  .openapi(retry, async (c) => {
    const { id, delivery_id } = c.req.valid('param')
    return c.json(await c.get('services').webhooks.retry(c.get('principal').projectId, id, delivery_id), 202)
  })
  .openapi(test, async (c) => c.json(await c.get('services').webhooks.sendTest(c.get('principal').projectId, c.req.valid('param').id), 202))
