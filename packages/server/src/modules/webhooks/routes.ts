import { createRoute } from '@hono/zod-openapi'
import { Deleted, Page } from '../../platform/http/fields.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import { TEST_EVENT_TYPE, type WebhookService } from './service.ts'
import {
  CreatedWebhookEndpointSchema, CreateWebhookEndpointBody, DeliveryListQuery, DeliveryParams, EndpointParams, UpdateWebhookEndpointBody, WebhookDeliveryListSchema,
  WebhookDeliverySchema, WebhookEndpointSchema,
} from './schemas.ts'

const tags = ['Webhook Endpoints']

const list = createRoute({
  ...access('member'),
  method: 'get', path: '/webhook-endpoints', operationId: 'webhookEndpoints.list', tags, summary: 'List webhook endpoints',
  description: 'Oldest first, a page at a time (`limit`, `offset`; `X-Total-Count`).',
  request: { query: Page },
  responses: { 200: listContent(WebhookEndpointSchema, 'A page of endpoints, oldest first'), ...errorResponses(422) },
})
const create = createRoute({
  ...access('admin'),
  method: 'post', path: '/webhook-endpoints', operationId: 'webhookEndpoints.create', tags, summary: 'Create a webhook endpoint',
  request: { body: jsonBody(CreateWebhookEndpointBody) },
  responses: { 200: jsonContent(CreatedWebhookEndpointSchema, 'The endpoint, with its secret (the only time it is returned)'), ...errorResponses(400, 403, 422) },
})
const get = createRoute({
  ...access('member'),
  method: 'get', path: '/webhook-endpoints/{id}', operationId: 'webhookEndpoints.get', tags, summary: 'Get a webhook endpoint (extension)',
  request: { params: EndpointParams },
  responses: { 200: jsonContent(WebhookEndpointSchema, 'The endpoint'), ...errorResponses(404) },
})
const update = createRoute({
  ...access('admin'),
  method: 'put', path: '/webhook-endpoints/{id}', operationId: 'webhookEndpoints.update', tags, summary: 'Update a webhook endpoint',
  description: '`status: "active"` re-enables a disabled endpoint; a new `secret` signs every attempt from now on.',
  request: { params: EndpointParams, body: jsonBody(UpdateWebhookEndpointBody) },
  responses: { 200: jsonContent(WebhookEndpointSchema, 'The endpoint'), ...errorResponses(400, 403, 404, 422) },
})
const remove = createRoute({
  ...access('admin'),
  method: 'delete', path: '/webhook-endpoints/{id}', operationId: 'webhookEndpoints.delete', tags, summary: 'Delete a webhook endpoint',
  request: { params: EndpointParams },
  responses: { 200: jsonContent(Deleted, 'The endpoint and its delivery log are gone', { id: 'whe_01jdq3v5k7m9p2r4t6w8y0a2c4', deleted: true }), ...errorResponses(403, 404) },
})
const deliveries = createRoute({
  ...access('member'),
  method: 'get', path: '/webhook-endpoints/{id}/deliveries', operationId: 'webhookEndpoints.deliveries.list', tags, summary: 'List deliveries (extension)',
  description: 'Newest first. `starting_after`: the last id of the previous page.',
  request: { params: EndpointParams, query: DeliveryListQuery },
  responses: { 200: jsonContent(WebhookDeliveryListSchema, 'A page of deliveries'), ...errorResponses(404, 422) },
})
const getDelivery = createRoute({
  ...access('member'),
  method: 'get', path: '/webhook-endpoints/{id}/deliveries/{delivery_id}', operationId: 'webhookEndpoints.deliveries.get', tags, summary: 'Get a delivery (extension)',
  request: { params: DeliveryParams },
  responses: { 200: jsonContent(WebhookDeliverySchema, 'The delivery'), ...errorResponses(404) },
})
const retry = createRoute({
  ...access('admin'),
  method: 'post', path: '/webhook-endpoints/{id}/deliveries/{delivery_id}/retry', operationId: 'webhookEndpoints.deliveries.retry', tags, summary: 'Retry a delivery now (extension)',
  description: 'For a finished delivery (succeeded, failed or cancelled); 409 while it is pending or the endpoint is disabled.',
  request: { params: DeliveryParams },
  responses: {
    202: jsonContent(WebhookDeliverySchema, 'Queued for an attempt now', {
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
    ...errorResponses(403, 404, 409),
  },
})
const test = createRoute({
  ...access('admin'),
  method: 'post', path: '/webhook-endpoints/{id}/test', operationId: 'webhookEndpoints.test', tags, summary: 'Send a test event (extension)',
  description: `A \`${TEST_EVENT_TYPE}\` event to this endpoint only, signed and retried like any other.`,
  request: { params: EndpointParams },
  responses: {
    202: jsonContent(WebhookDeliverySchema, 'The test delivery, queued', {
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
    ...errorResponses(403, 404, 409),
  },
})

/** What the webhook routes read from the container. */
export type WebhookRouteServices = { webhooks: WebhookService }

export const webhookRoutes = createRouter<WebhookRouteServices>()
  .openapi(list, async (c) => {
    const page = await c.get('services').webhooks.list(c.get('principal').projectId, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
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
