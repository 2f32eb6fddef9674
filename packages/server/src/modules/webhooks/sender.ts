import { and, eq, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { webhookDeliveries, webhookEndpoints } from './tables.ts'
import { EVENTS_CHANNEL } from '../../platform/events/outbox.ts'
import { DISABLE_AFTER_MS, nextAttemptDelay, parseRetryAfter } from './schedule.ts'
import type { WebhookService } from './service.ts'
import { postWebhook, type AttemptResult } from './transport.ts'
import { standardSignature, workenSignature } from './signing.ts'

export type SenderOptions = {
  /** Deliveries in flight at once in this process. */
  concurrency: number
  /** How often to look for due deliveries (retries coming due) besides being woken by new events. */
  pollMs: number
  /** Per-attempt timeout. */
  timeoutMs: number
  /** A claim lapses after this long; a sender that died mid-attempt lets another retry. Longer than the timeout. */
  leaseMs: number
  /** Jitter source for the retry schedule (tests pin it). */
  random: () => number
}

type DeliveryRow = typeof webhookDeliveries.$inferSelect

/**
 * Sends webhook deliveries. The `webhook_deliveries` rows are the queue: they
 * are written in the transaction of the event they carry, and claimed here
 * with `for update skip locked` and a lease, so any number of processes share
 * the work, none sends a delivery another holds, and one that dies mid-attempt
 * only delays it (the lease lapses, the attempt is made again: at-least-once).
 *
 * Woken by the events NOTIFY (new events, retries, test events) and by a poll
 * for retries coming due. `runDue(now)` is the whole loop body, with the clock
 * as a parameter, for tests of the schedule.
 */
export class WebhookSender {
  private readonly handle: DatabaseHandle
  private readonly webhooks: WebhookService
  private readonly logger: Logger
  private readonly options: SenderOptions
  private inFlight = 0
  private wanted = false
  private draining: Promise<void> | null = null
  private timer: NodeJS.Timeout | undefined
  private unlisten: (() => Promise<void>) | undefined
  private stopped = true
  private readonly running = new Set<Promise<void>>()

  constructor(handle: DatabaseHandle, webhooks: WebhookService, logger: Logger, options: SenderOptions) {
    this.handle = handle
    this.webhooks = webhooks
    this.logger = logger.child({ component: 'webhooks' })
    this.options = options
  }

  async start(): Promise<void> {
    this.stopped = false
    this.unlisten = await this.handle.listen(EVENTS_CHANNEL, () => this.kick())
    this.timer = setInterval(() => this.kick(), this.options.pollMs)
    this.timer.unref()
    this.kick()
  }

  /** Stops claiming; waits up to `timeoutMs` for attempts in flight (their leases cover the rest). */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.unlisten?.().catch(() => {})
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
  }

  /** Asks for a look at due deliveries; coalesces while one is running. */
  kick(): void {
    if (this.stopped) return
    this.wanted = true
    if (this.draining) return
    this.draining = (async () => {
      while (this.wanted && !this.stopped) {
        this.wanted = false
        const started = await this.claimAndStart().catch((error: unknown) => {
          this.logger.error({ err: error }, 'claiming webhook deliveries failed')
          return 0
        })
        // A full batch may mean more is due.
        if (started > 0 && this.inFlight >= this.options.concurrency) break
        if (started > 0) this.wanted = true
      }
    })().finally(() => {
      this.draining = null
    })
  }

  /** Claims and attempts everything due at `now`, waiting for the attempts (the test entry point). */
  async runDue(now: Date): Promise<number> {
    let total = 0
    for (;;) {
      const claimed = await this.claim(now, this.options.concurrency)
      if (claimed.length === 0) return total
      total += claimed.length
      await Promise.all(claimed.map((row) => this.attempt(row, now)))
    }
  }

  private async claimAndStart(): Promise<number> {
    const room = this.options.concurrency - this.inFlight
    if (room <= 0) return 0
    const claimed = await this.claim(null, room)
    for (const row of claimed) {
      this.inFlight++
      const work = this.attempt(row, null)
        .catch((error: unknown) => this.logger.error({ err: error, deliveryId: row.id }, 'webhook attempt crashed'))
        .finally(() => {
          this.inFlight--
          this.running.delete(work)
          this.kick()
        })
      this.running.add(work)
    }
    return claimed.length
  }

  /**
   * Due deliveries, and ones whose claim lapsed, become `delivering` under a lease; one attempt each is counted.
   * "Due" is judged by the database's clock unless a test gives one: the rows carry microseconds, and
   * a JS Date read just after a commit can be a fraction of a millisecond before them, which would
   * leave a new delivery to the next poll instead of the NOTIFY that announced it.
   */
  private async claim(at: Date | null, limit: number): Promise<DeliveryRow[]> {
    const moment = at ? sql`${at.toISOString()}::timestamptz` : sql`clock_timestamp()`
    return this.handle.db
      .update(webhookDeliveries)
      .set({
        status: 'delivering',
        leaseUntil: sql`${moment} + ${this.options.leaseMs} * interval '1 millisecond'`,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastAttemptAt: sql`${moment}`,
        updatedAt: sql`now()`,
      })
      .where(sql`${webhookDeliveries.id} in (
        select id from webhook_deliveries
        where (status = 'pending' and next_attempt_at <= ${moment})
           or (status = 'delivering' and lease_until < ${moment})
        order by next_attempt_at
        limit ${limit}
        for update skip locked)`)
      .returning()
  }

  /** One attempt of a claimed delivery, and what it leads to; `at` is a test's clock, else the real one. */
  private async attempt(row: DeliveryRow, at: Date | null): Promise<void> {
    const [endpoint] = await this.handle.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, row.endpointId))
    if (!endpoint || endpoint.status !== 'active') {
      await this.finish(row, { status: 'cancelled', lastError: 'The endpoint is disabled', attempts: row.attempts - 1 })
      return
    }
    const body = JSON.stringify(row.payload)
    const secret = this.webhooks.secretOf(endpoint)
    const eventId = (row.payload as { id: string }).id
    const timestamp = Math.floor((at ?? new Date()).getTime() / 1000)
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Worken-Webhooks/1.0',
      'x-worken-signature': workenSignature(secret, body),
      'x-worken-event-id': eventId,
      'x-worken-event-type': row.eventType,
      'x-worken-delivery-id': row.id,
      'x-worken-attempt': String(row.attempts),
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': standardSignature(secret, eventId, timestamp, body),
    }
    const result = await postWebhook(endpoint.url, body, headers, { allowPrivate: this.webhooks.options.allowPrivate, resolve: this.webhooks.options.resolve, timeoutMs: this.options.timeoutMs })
    // Retries count from the failure, so the real clock is read after the attempt.
    await this.record(row, endpoint, result, at ?? new Date())
  }

  private async record(row: DeliveryRow, endpoint: typeof webhookEndpoints.$inferSelect, result: AttemptResult, now: Date): Promise<void> {
    const response = { responseStatus: result.status, responseBody: result.body, latencyMs: result.latencyMs }
    if (result.ok) {
      await this.handle.db.transaction(async (tx) => {
        await tx.update(webhookDeliveries).set({ ...response, status: 'succeeded', lastError: null, deliveredAt: sql`now()`, leaseUntil: null, updatedAt: sql`now()` }).where(eq(webhookDeliveries.id, row.id))
        if (endpoint.failingSince) await tx.update(webhookEndpoints).set({ failingSince: null, updatedAt: sql`now()` }).where(eq(webhookEndpoints.id, endpoint.id))
      })
      return
    }
    const failingSince = endpoint.failingSince ?? now
    let disable: string | null = null
    if (result.status === 410) disable = 'The endpoint answered 410 Gone'
    else if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS) disable = 'Every delivery failed for 5 days'
    const retryAfter = result.status === 429 || result.status === 503 ? parseRetryAfter(result.retryAfter, now) : null
    const delay = disable ? null : nextAttemptDelay(row.attempts, this.options.random, retryAfter)
    await this.handle.db.transaction(async (tx) => {
      await tx
        .update(webhookDeliveries)
        .set({
          ...response,
          lastError: result.error,
          leaseUntil: null,
          updatedAt: sql`now()`,
          ...(delay === null ? { status: 'failed' } : { status: 'pending', nextAttemptAt: new Date(now.getTime() + delay) }),
        })
        .where(eq(webhookDeliveries.id, row.id))
      await tx
        .update(webhookEndpoints)
        .set({
          // `least` keeps the earliest failure when attempts of one endpoint finish in any order.
          failingSince: sql`least(coalesce(${webhookEndpoints.failingSince}, ${now.toISOString()}::timestamptz), ${now.toISOString()}::timestamptz)`,
          ...(disable ? { status: 'disabled', disabledReason: disable } : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.status, 'active')))
    })
    if (disable) this.logger.warn({ endpointId: endpoint.id, projectId: endpoint.projectId, reason: disable }, 'webhook endpoint disabled')
  }

  private async finish(row: DeliveryRow, update: { status: 'cancelled'; lastError: string; attempts: number }): Promise<void> {
    await this.handle.db.update(webhookDeliveries).set({ ...update, leaseUntil: null, updatedAt: sql`now()` }).where(eq(webhookDeliveries.id, row.id))
  }
}
