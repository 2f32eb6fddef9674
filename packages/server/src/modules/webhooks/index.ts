/** The webhooks module: endpoints, the delivery log, and the sender that delivers what the outbox queued. */
export { WebhookService } from './service.ts'
export { WebhookSender } from './sender.ts'
export { systemResolver, checkedAddresses, type Resolver } from './transport.ts'
export { webhookRoutes, type WebhookRouteServices } from './routes.ts'
export { webhookDeliveryWriter } from './delivery-writer.ts'
