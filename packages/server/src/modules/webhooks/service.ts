import { randomBytes } from 'node:crypto'
import type { z } from '@hono/zod-openapi'
import { and, count, desc, eq, sql } from 'drizzle-orm'
import type { SecretBox } from '../../platform/crypto/secrets.ts'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { webhookDeliveries, webhookEndpoints } from './tables.ts'
import type { CreatedWebhookEndpointSchema, WebhookDeliveryListSchema, WebhookDeliverySchema, WebhookEndpointSchema } from './schemas.ts'
import { EVENTS_CHANNEL } from '../../platform/events/outbox.ts'
import { AppError } from '../../platform/errors.ts'
import { toOffsetPage, totalCount, type OffsetPage, type PageParams } from '../../platform/http/paging.ts'
import { checkedAddresses, urlProblem, type Resolver } from './transport.ts'

export const TEST_EVENT_TYPE = 'webhook.test'

/** API objects of this module, typed once from their schemas. */
export type WebhookEndpoint = z.infer<typeof WebhookEndpointSchema>
export type CreatedWebhookEndpoint = z.infer<typeof CreatedWebhookEndpointSchema>
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>
export type WebhookDeliveryList = z.infer<typeof WebhookDeliveryListSchema>

type EndpointRow = typeof webhookEndpoints.$inferSelect
type DeliveryRow = typeof webhookDeliveries.$inferSelect

export function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    status: row.status as WebhookEndpoint['status'],
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    event_types: row.eventTypes,
    description: row.description,
    disabled_reason: row.disabledReason,
  }
}

export function toDelivery(row: DeliveryRow): WebhookDelivery {
  const open = row.status === 'pending' || row.status === 'delivering'
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status as WebhookDelivery['status'],
    attempts: row.attempts,
    next_attempt_at: open ? row.nextAttemptAt.toISOString() : null,
    last_attempt_at: row.lastAttemptAt?.toISOString() ?? null,
    response_status: row.responseStatus,
    response_body: row.responseBody,
    latency_ms: row.latencyMs,
    last_error: row.lastError,
    delivered_at: row.deliveredAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  }
}

export type WebhookOptions = { allowPrivate: boolean; resolve: Resolver }

export type CreateEndpointInput = { url: string; secret?: string | undefined; event_types?: string[] | null | undefined; description?: string | null | undefined }
export type UpdateEndpointInput = { status?: 'active' | 'disabled' | undefined; secret?: string | undefined; url?: string | undefined; event_types?: string[] | null | undefined; description?: string | null | undefined }

/** Webhook endpoints of a project, their delivery log, manual retries and test events. */
export class WebhookService {
  private readonly handle: DatabaseHandle
  private readonly secrets: SecretBox
  readonly options: WebhookOptions

  constructor(handle: DatabaseHandle, secrets: SecretBox, options: WebhookOptions) {
    this.handle = handle
    this.secrets = secrets
    this.options = options
  }

  /** A page of the project's endpoints, oldest first, and how many it has. */
  async list(projectId: string, page: PageParams): Promise<OffsetPage<WebhookEndpoint>> {
    const where = eq(webhookEndpoints.projectId, projectId)
    const rows = await this.handle.db
      .select({ endpoint: webhookEndpoints, total: totalCount() })
      .from(webhookEndpoints)
      .where(where)
      .orderBy(webhookEndpoints.createdAt, webhookEndpoints.id)
      .limit(page.limit)
      .offset(page.offset)
    return toOffsetPage(rows, page, (row) => toEndpoint(row.endpoint), async () => (await this.handle.db.select({ total: count() }).from(webhookEndpoints).where(where))[0]?.total ?? 0)
  }

  async get(projectId: string, id: string): Promise<WebhookEndpoint> {
    return toEndpoint(await this.requireRow(projectId, id))
  }

  /** Creates an endpoint; the answer carries the secret, the only time it is shown (generated when not given). */
  async create(projectId: string, input: CreateEndpointInput): Promise<CreatedWebhookEndpoint> {
    const url = await this.checkUrl(input.url)
    const secret = input.secret ?? `whsec_${randomBytes(32).toString('base64')}`
    const id = newId('whe')
    const [row] = await this.handle.db
      .insert(webhookEndpoints)
      .values({
        id,
        projectId,
        url,
        secretCiphertext: this.secrets.encrypt(secret, secretContext(id)),
        eventTypes: input.event_types ?? null,
        description: input.description ?? null,
      })
      .returning()
    return { ...toEndpoint(row!), secret }
  }

  /** `status: 'active'` re-enables (and forgets why it was disabled); a new secret signs from the next attempt on. */
  async update(projectId: string, id: string, input: UpdateEndpointInput): Promise<WebhookEndpoint> {
    const current = await this.requireRow(projectId, id)
    const url = input.url !== undefined ? await this.checkUrl(input.url) : undefined
    const reenable = input.status === 'active' && current.status !== 'active'
    const [row] = await this.handle.db
      .update(webhookEndpoints)
      .set({
        ...(url !== undefined ? { url } : {}),
        ...(input.secret !== undefined ? { secretCiphertext: this.secrets.encrypt(input.secret, secretContext(id)) } : {}),
        ...(input.event_types !== undefined ? { eventTypes: input.event_types } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.status === 'disabled' && current.status !== 'disabled' ? { disabledReason: 'Disabled through the API' } : {}),
        ...(reenable ? { disabledReason: null, failingSince: null } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
      .returning()
    if (!row) throw AppError.notFound('Webhook endpoint', id)
    return toEndpoint(row)
  }

  /** Removes the endpoint and its delivery log; deliveries in flight are dropped. */
  async delete(projectId: string, id: string): Promise<void> {
    const deleted = await this.handle.db
      .delete(webhookEndpoints)
      .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
      .returning({ id: webhookEndpoints.id })
    if (deleted.length === 0) throw AppError.notFound('Webhook endpoint', id)
  }

  /** Newest first, keyset-paged by `starting_after` (a delivery id of a previous page). */
  async deliveries(projectId: string, endpointId: string, page: { limit: number; startingAfter?: string | undefined; status?: string | undefined }): Promise<WebhookDeliveryList> {
    await this.requireRow(projectId, endpointId)
    if (page.startingAfter !== undefined) {
      const [after] = await this.handle.db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.id, page.startingAfter)))
      if (!after) throw AppError.validation([{ path: 'starting_after', message: `no delivery '${page.startingAfter}' of this endpoint` }])
    }
    const rows = await this.handle.db
      .select()
      .from(webhookDeliveries)
      .where(and(
        eq(webhookDeliveries.endpointId, endpointId),
        page.status !== undefined ? eq(webhookDeliveries.status, page.status) : undefined,
        // Compared in SQL: a JS Date would drop the microseconds of the cursor row's created_at.
        page.startingAfter !== undefined
          ? sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) < (select created_at, id from webhook_deliveries where id = ${page.startingAfter})`
          : undefined,
      ))
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(page.limit + 1)
    return { data: rows.slice(0, page.limit).map(toDelivery), has_more: rows.length > page.limit }
  }

  async delivery(projectId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
    return toDelivery(await this.requireDelivery(projectId, endpointId, deliveryId))
  }

  /**
   * Sends a finished delivery again now (a failed one after a fix, or a
   * succeeded one the receiver lost). One more attempt: if it fails and the
   * schedule has attempts left, they follow. 409 while it is still pending.
   */
  async retry(projectId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
    const endpoint = await this.requireRow(projectId, endpointId)
    if (endpoint.status !== 'active') throw AppError.conflict(`Webhook endpoint '${endpointId}' is disabled; enable it first (PUT with {"status":"active"})`)
    const [row] = await this.handle.db
      .update(webhookDeliveries)
      .set({ status: 'pending', nextAttemptAt: sql`now()`, leaseUntil: null, updatedAt: sql`now()` })
      .where(and(
        eq(webhookDeliveries.projectId, projectId),
        eq(webhookDeliveries.endpointId, endpointId),
        eq(webhookDeliveries.id, deliveryId),
        sql`${webhookDeliveries.status} in ('succeeded', 'failed', 'cancelled')`,
      ))
      .returning()
    if (!row) {
      const current = await this.requireDelivery(projectId, endpointId, deliveryId)
      throw AppError.conflict(`Delivery '${deliveryId}' is ${current.status}; it will be attempted without a manual retry`)
    }
    await this.wakeSenders(projectId)
    return toDelivery(row)
  }

  /** A `webhook.test` event to this endpoint only (not in the outbox, not to other endpoints). */
  async sendTest(projectId: string, endpointId: string): Promise<WebhookDelivery> {
    const endpoint = await this.requireRow(projectId, endpointId)
    if (endpoint.status !== 'active') throw AppError.conflict(`Webhook endpoint '${endpointId}' is disabled; enable it first (PUT with {"status":"active"})`)
    const eventId = newId('evt')
    const [row] = await this.handle.db
      .insert(webhookDeliveries)
      .values({
        id: newId('whd'),
        projectId,
        endpointId,
        eventId,
        eventType: TEST_EVENT_TYPE,
        payload: { id: eventId, type: TEST_EVENT_TYPE, created_at: new Date().toISOString(), data: { endpoint_id: endpointId } },
      })
      .returning()
    await this.wakeSenders(projectId)
    return toDelivery(row!)
  }

  /** The endpoint's signing secret, for the sender. */
  secretOf(row: Pick<EndpointRow, 'id' | 'secretCiphertext'>): string {
    return this.secrets.decrypt(row.secretCiphertext, secretContext(row.id))
  }

  private async checkUrl(value: string): Promise<string> {
    const url = new URL(value) // the schema has checked it parses
    const problem = urlProblem(url, this.options.allowPrivate)
    if (problem) throw AppError.validation([{ path: 'url', message: problem }])
    try {
      await checkedAddresses(url.hostname, this.options)
    } catch (error) {
      throw AppError.validation([{ path: 'url', message: (error as Error).message }])
    }
    return url.toString()
  }

  private async requireRow(projectId: string, id: string): Promise<EndpointRow> {
    const [row] = await this.handle.db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    if (!row) throw AppError.notFound('Webhook endpoint', id)
    return row
  }

  private async requireDelivery(projectId: string, endpointId: string, deliveryId: string): Promise<DeliveryRow> {
    const [row] = await this.handle.db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.projectId, projectId), eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.id, deliveryId)))
    if (!row) throw AppError.notFound('Webhook delivery', deliveryId)
    return row
  }

  /** Senders wake on the events channel: a retry or a test event is new work too. */
  private async wakeSenders(projectId: string): Promise<void> {
    await this.handle.notify(EVENTS_CHANNEL, projectId).catch(() => {})
  }
}

/** Associated data of an endpoint's encrypted secret: the ciphertext decrypts only for this endpoint. */
function secretContext(endpointId: string): string {
  return `webhook-secret:${endpointId}`
}
