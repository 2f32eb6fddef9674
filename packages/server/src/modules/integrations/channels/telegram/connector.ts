import { randomBytes } from 'node:crypto'
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm'
import { GrammyError, type Api } from 'grammy'
import { grammySignal, telegramApi } from './api.ts'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../../../platform/db/client.ts'
import type { IntegrationRow, IntegrationService } from '../../service.ts'
import { integrations } from '../../tables.ts'
import type { ChannelInbound } from '../inbound.ts'
import { channelPollers } from '../tables.ts'
import { telegramUpdateKey, type TelegramUpdate } from './inbound.ts'
import { telegramWebhookSecret } from './webhook-secret.ts'

export type TelegramConnectorOptions = {
  /** `WORKEN_PUBLIC_URL`: where Telegram can reach this server. Unset: every bot long-polls. */
  publicUrl: string | undefined
  /** How often the active Telegram integrations are looked at (new ones connected, deleted ones dropped). */
  reconcileMs: number
  /** `getUpdates`' long-poll timeout, in seconds. */
  pollTimeoutSeconds: number
  /** How long a poller's claim holds without renewal: how soon another process takes over a dead one's bot. */
  leaseMs: number
}

const ALLOWED_UPDATES = ['message', 'edited_message'] as const

/** `settings.mode`: `webhook` needs `WORKEN_PUBLIC_URL`; `auto` (the default) uses it when set, else polls. */
function modeOf(integration: IntegrationRow, publicUrl: string | undefined): 'webhook' | 'polling' {
  const mode = (integration.settings as { mode?: unknown }).mode
  if (mode === 'polling') return 'polling'
  return publicUrl ? 'webhook' : 'polling'
}

/**
 * Connects the active Telegram integrations to this server, in one of two ways (docs/integrations.md):
 *
 * - **webhook** (a public URL is configured): `setWebhook` to `/channels/telegram/<id>` with the
 *   integration's `secret_token`, once per integration and process start;
 * - **long polling** (none: a self-hosted server behind NAT): one poller per integration across all
 *   processes, held by a lease in `channel_pollers`. Each batch of `getUpdates` is recorded before the
 *   offset moves past it, and the offset is stored with the lease, so a restart (or another process
 *   taking over a dead one's lease) neither loses an update nor processes one twice (recording is
 *   idempotent by `update_id`).
 */
export class TelegramConnector {
  private readonly database: DatabaseHandle
  private readonly integrations: IntegrationService
  private readonly inbound: ChannelInbound
  private readonly logger: Logger
  private readonly options: TelegramConnectorOptions
  private readonly owner = `${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly pollers = new Map<string, { controller: AbortController; done: Promise<void> }>()
  /** Integration ids whose webhook this process has set (and the token it was set with). */
  private readonly webhooks = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined
  private reconciling: Promise<void> | undefined
  private stopped = true
  private hooked = false

  constructor(database: DatabaseHandle, integrations: IntegrationService, inbound: ChannelInbound, logger: Logger, options: TelegramConnectorOptions) {
    this.database = database
    this.integrations = integrations
    this.inbound = inbound
    this.logger = logger.child({ component: 'telegram' })
    this.options = options
  }

  async start(): Promise<void> {
    this.stopped = false
    // A deleted bot's webhook is removed at Telegram, so it stops sending updates nobody reads.
    if (!this.hooked) this.integrations.onDelete(async (row, auth) => {
      if (row.vendor !== 'telegram' || this.stopped) return
      this.pollers.get(row.id)?.controller.abort()
      if (!this.webhooks.delete(row.id) && !this.options.publicUrl) return
      await telegramApi(auth, this.integrations.vendors.apiUrl('telegram')).deleteWebhook()
    })
    this.hooked = true
    await this.reconcile()
    this.timer = setInterval(() => void this.reconcile(), this.options.reconcileMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.reconciling
    for (const poller of this.pollers.values()) poller.controller.abort()
    await Promise.allSettled([...this.pollers.values()].map((poller) => poller.done))
    // Give the leases back, so a restart (or another process) polls at once instead of after the lease.
    await this.database.db.update(channelPollers).set({ owner: null, leaseUntil: null }).where(eq(channelPollers.owner, this.owner)).catch(() => {})
  }

  /** The integrations this process polls right now (for tests and metrics). */
  pollingHere(): string[] {
    return [...this.pollers.keys()]
  }

  /** Looks now (after an integration was created, changed or deleted here). */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    this.reconciling ??= this.reconcileOnce().finally(() => (this.reconciling = undefined))
    return this.reconciling
  }

  private async reconcileOnce(): Promise<void> {
    try {
      const rows = await this.database.db.select().from(integrations).where(and(eq(integrations.vendor, 'telegram'), eq(integrations.status, 'active')))
      const active = new Set(rows.map((row) => row.id))
      for (const [id, poller] of this.pollers) if (!active.has(id)) poller.controller.abort()
      for (const row of rows) {
        if (modeOf(row, this.options.publicUrl) === 'webhook') await this.ensureWebhook(row)
        else if (!this.pollers.has(row.id) && (await this.claim(row.id))) this.startPolling(row)
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'looking at the Telegram integrations failed')
    }
  }

  private api(row: IntegrationRow): Api {
    return telegramApi(this.integrations.open(row), this.integrations.vendors.apiUrl('telegram'))
  }

  private async ensureWebhook(row: IntegrationRow): Promise<void> {
    const token = String(this.integrations.open(row).token)
    if (this.webhooks.get(row.id) === token) return
    const url = `${this.options.publicUrl!.replace(/\/+$/, '')}/channels/telegram/${row.id}`
    try {
      await this.api(row).setWebhook(url, { secret_token: telegramWebhookSecret(this.integrations.secretBox, row.id), allowed_updates: [...ALLOWED_UPDATES] })
      this.webhooks.set(row.id, token)
      this.logger.info({ integrationId: row.id }, 'Telegram webhook set')
    } catch (error) {
      await this.vendorFailed(row, error, 'setting the Telegram webhook failed')
    }
  }

  /** Takes (or renews) the integration's polling lease; false while another live process holds it. */
  private async claim(integrationId: string): Promise<boolean> {
    const lease = sql`now() + ${`${this.options.leaseMs} milliseconds`}::interval`
    await this.database.db.insert(channelPollers).values({ integrationId }).onConflictDoNothing()
    const [row] = await this.database.db
      .update(channelPollers)
      .set({ owner: this.owner, leaseUntil: lease, updatedAt: sql`now()` })
      .where(and(eq(channelPollers.integrationId, integrationId), or(isNull(channelPollers.leaseUntil), lt(channelPollers.leaseUntil, sql`now()`), eq(channelPollers.owner, this.owner))))
      .returning({ integrationId: channelPollers.integrationId })
    return row !== undefined
  }

  private startPolling(row: IntegrationRow): void {
    const controller = new AbortController()
    const done = this.poll(row, controller.signal)
      .catch((error: unknown) => this.logger.error({ err: error, integrationId: row.id }, 'the Telegram poller stopped'))
      .finally(() => this.pollers.delete(row.id))
    this.pollers.set(row.id, { controller, done })
  }

  private async poll(row: IntegrationRow, signal: AbortSignal): Promise<void> {
    // The lease is renewed while a long poll waits (it may outlast the lease), so the lease can be
    // short: after a crash another process takes the bot over within one lease, not one long poll.
    const renewal = setInterval(() => {
      this.claim(row.id).then(
        (held) => {
          if (!held) this.pollers.get(row.id)?.controller.abort()
        },
        (error: unknown) => this.logger.warn({ err: error, integrationId: row.id }, 'renewing the Telegram poller lease failed'),
      )
    }, Math.max(100, Math.floor(this.options.leaseMs / 3)))
    renewal.unref()
    try {
      await this.pollLoop(row, signal)
    } finally {
      clearInterval(renewal)
    }
  }

  private async pollLoop(row: IntegrationRow, signal: AbortSignal): Promise<void> {
    const api = this.api(row)
    // Telegram refuses getUpdates while a webhook is set (a previous run with a public URL).
    await api.deleteWebhook({ drop_pending_updates: false }, grammySignal(signal)).catch((error: unknown) => this.vendorFailed(row, error, 'deleting the Telegram webhook failed'))
    this.logger.info({ integrationId: row.id }, 'Telegram long polling started')
    while (!signal.aborted && !this.stopped) {
      if (!(await this.claim(row.id))) return
      const [state] = await this.database.db.select({ cursor: channelPollers.cursor }).from(channelPollers).where(eq(channelPollers.integrationId, row.id))
      let updates: TelegramUpdate[]
      try {
        updates = (await api.getUpdates({
          ...(state?.cursor ? { offset: Number(state.cursor) } : {}),
          timeout: this.options.pollTimeoutSeconds,
          allowed_updates: [...ALLOWED_UPDATES],
        }, grammySignal(signal))) as TelegramUpdate[]
      } catch (error) {
        if (signal.aborted) return
        if (await this.vendorFailed(row, error, 'Telegram getUpdates failed')) return
        await new Promise((resolve) => setTimeout(resolve, 2000))
        continue
      }
      if (updates.length === 0) continue
      for (const update of updates) {
        const key = telegramUpdateKey(update)
        if (key === null) continue
        const recorded = await this.inbound.record(row, key, update)
        if (recorded.fresh) this.inbound.processSoon(recorded.id)
      }
      // Only once every update of the batch is recorded: a crash before this asks for them again (recording is idempotent).
      const next = String(Math.max(...updates.map((update) => update.update_id)) + 1)
      await this.database.db.update(channelPollers).set({ cursor: next, updatedAt: sql`now()` }).where(and(eq(channelPollers.integrationId, row.id), eq(channelPollers.owner, this.owner)))
    }
  }

  /** A vendor error: a refused token puts the integration in `error` (true: stop); anything else is logged. */
  private async vendorFailed(row: IntegrationRow, error: unknown, what: string): Promise<boolean> {
    if (error instanceof GrammyError && (error.error_code === 401 || error.error_code === 404)) {
      await this.integrations.credentialsRefused(row, error.description)
      return true
    }
    this.logger.warn({ err: error, integrationId: row.id }, what)
    return false
  }
}
