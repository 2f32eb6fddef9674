import type { APIPromise } from '../core/api-promise.ts'
import { OffsetPage, StartingAfterPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import type {
  CreatedWebhookEndpoint,
  CreateWebhookEndpointBody,
  Deleted,
  UpdateWebhookEndpointBody,
  WebhookDelivery,
  WebhookDeliveryListParams,
  WebhookEndpoint,
  WebhookEndpointListParams,
} from '../types.ts'
import { APIResource } from './resource.ts'

/** Where Worken POSTs the project's events, signed (verify them with `client.webhooks.verify`). */
export class WebhookEndpoints extends APIResource {
  readonly deliveries = new WebhookDeliveries(this.client)

  /** Oldest first. @example for await (const endpoint of client.webhookEndpoints.list()) console.log(endpoint.url) */
  list(query: WebhookEndpointListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<WebhookEndpoint>> {
    return this.client.getPage<OffsetPage<WebhookEndpoint>>(OffsetPage, '/webhook-endpoints', { query, ...options })
  }

  /**
   * The answer is the only one that carries `secret` (generated as `whsec_…` when none is given).
   *
   * @example
   * const endpoint = await client.webhookEndpoints.create({ url: 'https://hooks.example.test/worken' })
   */
  create(body: CreateWebhookEndpointBody, options?: RequestOptions): APIPromise<CreatedWebhookEndpoint> {
    return this.client.post(path`/webhook-endpoints`, { body, ...options })
  }

  /** @example const endpoint = await client.webhookEndpoints.retrieve('whe_123') */
  retrieve(endpointId: string, options?: RequestOptions): APIPromise<WebhookEndpoint> {
    return this.client.get(path`/webhook-endpoints/${endpointId}`, options)
  }

  /** @example await client.webhookEndpoints.update('whe_123', { status: 'active' }) */
  update(endpointId: string, body: UpdateWebhookEndpointBody, options?: RequestOptions): APIPromise<WebhookEndpoint> {
    return this.client.put(path`/webhook-endpoints/${endpointId}`, { body, ...options })
  }

  /** @example await client.webhookEndpoints.delete('whe_123') */
  delete(endpointId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.delete(path`/webhook-endpoints/${endpointId}`, options)
  }

  /** Sends a `webhook.test` event to this endpoint only. @example const delivery = await client.webhookEndpoints.test('whe_123') */
  test(endpointId: string, options?: RequestOptions): APIPromise<WebhookDelivery> {
    return this.client.post(path`/webhook-endpoints/${endpointId}/test`, options)
  }
}

export class WebhookDeliveries extends APIResource {
  /** Newest first, paged by `starting_after`. @example for await (const delivery of client.webhookEndpoints.deliveries.list('whe_123', { status: 'failed' })) console.log(delivery.id) */
  list(endpointId: string, query: WebhookDeliveryListParams = {}, options?: RequestOptions): PagePromise<StartingAfterPage<WebhookDelivery>> {
    return this.client.getPage<StartingAfterPage<WebhookDelivery>>(StartingAfterPage, path`/webhook-endpoints/${endpointId}/deliveries`, { query, ...options })
  }

  /** @example const delivery = await client.webhookEndpoints.deliveries.retrieve('whe_123', 'whd_123') */
  retrieve(endpointId: string, deliveryId: string, options?: RequestOptions): APIPromise<WebhookDelivery> {
    return this.client.get(path`/webhook-endpoints/${endpointId}/deliveries/${deliveryId}`, options)
  }

  /** Attempts a finished delivery again now. @example await client.webhookEndpoints.deliveries.retry('whe_123', 'whd_123') */
  retry(endpointId: string, deliveryId: string, options?: RequestOptions): APIPromise<WebhookDelivery> {
    return this.client.post(path`/webhook-endpoints/${endpointId}/deliveries/${deliveryId}/retry`, options)
  }
}
