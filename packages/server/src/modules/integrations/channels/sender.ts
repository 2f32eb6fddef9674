import { and, asc, eq, lte, or, isNull, lt, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../../platform/db/client.ts'
import { EVENTS_CHANNEL, type Outbox } from '../../../platform/events/outbox.ts'
import { messages, recordDelivery } from '../../conversations/index.ts'
import type { IntegrationService } from '../service.ts'
import { CredentialsRefused, type IntegrationVendor } from '../vendors/types.ts'
import { DeliveryDeferred, DeliveryRefused, RecipientGone, type OutboundAdapter } from './outbound.ts'
import { channelDeliveries, channelThreads } from './tables.ts'

export type ChannelSenderOptions = {
  /** How often due deliveries are looked for. */
  pollMs: number
  /** Deliveries sent at once by this process. */
  concurrency: number
  /** How long a claim holds: a process that dies mid-send leaves its deliveries to another after this. */
  leaseMs: number
  /** Tries before a delivery that keeps failing transiently is recorded as failed. */
  maxAttempts: number
}

type Delivery = typeof channelDeliveries.$inferSelect

/**
 * Sends what the outbox queued for the channels (`channel_deliveries`): claimed with a lease
 * (`FOR UPDATE SKIP LOCKED`, so processes share the work and a dead one's claims lapse),
 * rendered and split by the vendor's adapter, and its outcome written on the message (`sent` with
 * the vendor's id, or `failed` with its error) with a `message_delivery` event. Parts already
 * accepted are recorded as they go, so a retry after a crash does not send them twice. The
 * vendor's 429 delays the next try by its `retry_after`; a user who blocked the bot is recorded
 * on the conversation and not retried; a refused token puts the integration in `error`.
 */
export class ChannelSender {
  private readonly database: DatabaseHandle
  private readonly integrations: IntegrationService
  private readonly outbox: Outbox
  private readonly logger: Logger
  private readonly options: ChannelSenderOptions
  private readonly adapters: Map<IntegrationVendor, OutboundAdapter>
  private readonly inFlight = new Map<string, { promise: Promise<void>; controller: AbortController }>()
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  /** A wake came while a poll ran: poll again when it ends. */
  private wanted = false
  /** The last poll filled every free slot: more may be due as soon as one frees. */
  private full = false
  private unlisten: (() => Promise<void>) | undefined
  private stopped = true

  constructor(database: DatabaseHandle, integrations: IntegrationService, outbox: Outbox, logger: Logger, adapters: OutboundAdapter[], options: ChannelSenderOptions) {
    this.database = database
    this.integrations = integrations
    this.outbox = outbox
    this.logger = logger.child({ component: 'channel-sender' })
    this.options = options
    this.adapters = new Map(adapters.map((adapter) => [adapter.vendor, adapter]))
  }

  /** Polls every `pollMs` (retries coming due), and at once when an outbox commit is announced (a reply or an operator's message was just queued, in any process) or a send ends while more may be due. */
  async start(): Promise<void> {
    this.stopped = false
    this.timer = setInterval(() => this.wake(), this.options.pollMs)
    this.timer.unref()
    this.wake()
    this.unlisten = await this.database.listen(EVENTS_CHANNEL, () => this.wake())
  }

  /** Looks for due deliveries now; a wake during a poll polls again after it (coalesced). */
  wake(): void {
    if (this.stopped) return
    this.wanted = true
    if (this.polling) return
    this.polling = (async () => {
      while (this.wanted && !this.stopped) {
        this.wanted = false
        await this.poll()
      }
    })().finally(() => (this.polling = undefined))
  }

  /** Stops claiming; waits up to `timeoutMs` for sends under way, then aborts them (their leases lapse). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.unlisten?.().catch(() => {})
    await this.polling
    let timer: NodeJS.Timeout | undefined
    const running = Promise.allSettled([...this.inFlight.values()].map((entry) => entry.promise))
    await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    for (const entry of this.inFlight.values()) entry.controller.abort()
    await running
  }

  private async poll(): Promise<void> {
    try {
      const room = this.options.concurrency - this.inFlight.size
      this.full = room <= 0
      if (room <= 0) return
      const candidates = this.database.db
        .select({ id: channelDeliveries.id })
        .from(channelDeliveries)
        .where(and(eq(channelDeliveries.status, 'pending'), lte(channelDeliveries.nextAttemptAt, sql`now()`), or(isNull(channelDeliveries.leaseUntil), lt(channelDeliveries.leaseUntil, sql`now()`))))
        .orderBy(asc(channelDeliveries.nextAttemptAt))
        .limit(room)
        .for('update', { skipLocked: true })
      const claimed = await this.database.db
        .update(channelDeliveries)
        .set({ leaseUntil: sql`now() + ${`${this.options.leaseMs} milliseconds`}::interval`, attempts: sql`${channelDeliveries.attempts} + 1`, updatedAt: sql`now()` })
        .where(sql`${channelDeliveries.id} in (${candidates})`)
        .returning()
      this.full = claimed.length === room
      for (const delivery of claimed) {
        const controller = new AbortController()
        const promise = this.deliver(delivery, controller.signal)
          .catch((error: unknown) => this.logger.error({ err: error, deliveryId: delivery.id }, 'a channel delivery crashed; its lease lapses and it is retried'))
          .finally(() => {
            this.inFlight.delete(delivery.id)
            // A backlog is not left to the next tick.
            if (this.full) this.wake()
          })
        this.inFlight.set(delivery.id, { promise, controller })
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'looking for channel deliveries failed')
    }
  }

  private async deliver(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const integration = await this.integrations.findForChannel(delivery.integrationId)
    const [message] = await this.database.db.select({ content: messages.content }).from(messages).where(and(eq(messages.projectId, delivery.projectId), eq(messages.id, delivery.messageId)))
    const [conversation] = await this.database.db.select({ blockedAt: channelThreads.blockedAt }).from(channelThreads).where(and(eq(channelThreads.projectId, delivery.projectId), eq(channelThreads.threadId, delivery.threadId)))
    if (!integration || !message) return this.finish(delivery, { status: 'failed', error: 'the conversation no longer exists' })
    if (conversation?.blockedAt) return this.finish(delivery, { status: 'failed', error: 'the user blocked the bot' })
    if (integration.status !== 'active') return this.finish(delivery, { status: 'failed', error: `the integration is ${integration.status}` })
    const adapter = this.adapters.get(integration.vendor as IntegrationVendor)
    if (!adapter) return this.finish(delivery, { status: 'failed', error: `${integration.vendor} cannot send messages yet` })
    const sentParts = [...delivery.sentParts]
    try {
      const ids = await adapter.send({
        auth: this.integrations.open(integration),
        apiUrl: this.integrations.vendors.apiUrl(integration.vendor as IntegrationVendor),
        externalChatId: delivery.externalChatId,
        markdown: message.content,
        signal,
        progress: {
          sentParts,
          partSent: async (externalId) => {
            sentParts.push(externalId)
            await this.database.db.update(channelDeliveries).set({ sentParts: [...sentParts], updatedAt: sql`now()` }).where(eq(channelDeliveries.id, delivery.id))
          },
        },
      })
      await this.finish(delivery, { status: 'sent', externalId: ids.join(',') })
    } catch (error) {
      if (error instanceof RecipientGone) {
        await this.database.db.update(channelThreads).set({ blockedAt: sql`now()` }).where(and(eq(channelThreads.projectId, delivery.projectId), eq(channelThreads.threadId, delivery.threadId)))
        return this.finish(delivery, { status: 'failed', error: `the user blocked the bot: ${error.message}` })
      }
      if (error instanceof CredentialsRefused) {
        await this.integrations.credentialsRefused(integration, error.reason)
        return this.finish(delivery, { status: 'failed', error: `${integration.vendor} refused the integration's credentials: ${error.reason}` })
      }
      if (error instanceof DeliveryRefused) return this.finish(delivery, { status: 'failed', error: error.message })
      const message = error instanceof Error ? error.message : String(error)
      if (delivery.attempts >= this.options.maxAttempts) return this.finish(delivery, { status: 'failed', error: `gave up after ${delivery.attempts} attempts: ${message}` })
      // The vendor's own delay when it gave one (429 retry_after), else exponential: 1 s, 2 s, 4 s, … up to 5 minutes.
      const delayMs = error instanceof DeliveryDeferred && error.retryAfterMs !== null ? error.retryAfterMs : Math.min(300_000, 1000 * 2 ** (delivery.attempts - 1))
      await this.database.db
        .update(channelDeliveries)
        .set({ leaseUntil: null, nextAttemptAt: sql`now() + ${`${delayMs} milliseconds`}::interval`, error: message, updatedAt: sql`now()` })
        .where(eq(channelDeliveries.id, delivery.id))
      this.logger.info({ deliveryId: delivery.id, delayMs, err: error }, 'channel delivery deferred')
    }
  }

  private async finish(delivery: Delivery, outcome: { status: 'sent'; externalId: string } | { status: 'failed'; error: string }): Promise<void> {
    await this.database.db
      .update(channelDeliveries)
      .set({ status: outcome.status, leaseUntil: null, error: outcome.status === 'failed' ? outcome.error : null, updatedAt: sql`now()` })
      .where(eq(channelDeliveries.id, delivery.id))
    await recordDelivery(this.database, this.outbox, delivery.projectId, delivery.messageId, outcome)
  }
}
