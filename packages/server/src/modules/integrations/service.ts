import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq, sql } from 'drizzle-orm'
import type { ZodType } from 'zod'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import type { SecretBox } from '../../platform/crypto/secrets.ts'
import type { Outbox, OutboxEvent } from '../../platform/events/outbox.ts'
import { AppError } from '../../platform/errors.ts'
import { fieldProblems } from '../../platform/http/errors.ts'
import type { OffsetPage, PageParams } from '../../platform/http/paging.ts'
import { mergeChatSettings as mergePatch } from '../conversations/index.ts'
import { chats } from '../conversations/index.ts'
import type { IntegrationSchema } from './schemas.ts'
import { integrations } from './tables.ts'
import { CredentialsRefused, type IntegrationProfile, type IntegrationVendor, type VendorDefinition } from './vendors/types.ts'

export type Integration = z.infer<typeof IntegrationSchema>
export type IntegrationRow = typeof integrations.$inferSelect
export type IntegrationStatus = Integration['status']

/** Every vendor's definition, and where its API is (`WORKEN_<VENDOR>_API_URL`, or the default). */
export type VendorRegistry = {
  definitions: Record<IntegrationVendor, VendorDefinition>
  apiUrl(vendor: IntegrationVendor): string
  fetch: typeof globalThis.fetch
}

/** The secret store's context for one integration's credentials: a ciphertext cannot be moved to another row. */
const authContext = (integrationId: string) => `integration-auth:${integrationId}`

export function toIntegration(row: IntegrationRow): Integration {
  return {
    id: row.id,
    name: row.name,
    vendor: row.vendor as IntegrationVendor,
    status: row.status as IntegrationStatus,
    project_id: row.projectId,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    status_reason: row.statusReason,
    settings: row.settings,
  }
}

/** Validates a vendor's part of a request (credentials or settings) with its schema: 422 naming `auth_data.<field>`. */
function parse<T>(schema: ZodType<T>, value: unknown, field: 'auth_data' | 'settings'): T {
  const result = schema.safeParse(value)
  if (!result.success) throw AppError.validation(fieldProblems(result.error, field))
  return result.data
}

/**
 * The project's integrations (the spec's Integrations API). Credentials are validated by the
 * vendor's schema, stored encrypted with the secret store, and decrypted only to call the vendor.
 * A status change writes `integration.status.changed`; a vendor refusing the credentials sets
 * `error` with the vendor's reason and writes `integration.auth_lost` too (to webhooks).
 */
export class IntegrationService {
  private readonly db: Database
  private readonly outbox: Outbox
  private readonly secrets: SecretBox
  readonly vendors: VendorRegistry
  private readonly deleteHooks: Array<(row: IntegrationRow, auth: Record<string, unknown>) => Promise<void>> = []

  constructor(handle: DatabaseHandle, outbox: Outbox, secrets: SecretBox, vendors: VendorRegistry) {
    this.db = handle.db
    this.outbox = outbox
    this.secrets = secrets
    this.vendors = vendors
  }

  async list(projectId: string, page: PageParams): Promise<OffsetPage<Integration>> {
    const where = eq(integrations.projectId, projectId)
    const [rows, [counted]] = await Promise.all([
      this.db.select().from(integrations).where(where).orderBy(asc(integrations.createdAt), asc(integrations.id)).limit(page.limit).offset(page.offset),
      this.db.select({ total: count() }).from(integrations).where(where),
    ])
    return { data: rows.map(toIntegration), total: counted?.total ?? 0 }
  }

  async get(projectId: string, id: string): Promise<Integration> {
    return toIntegration(await this.requireRow(projectId, id))
  }

  /**
   * An integration by id alone, for a vendor calling its inbound route (no project in that
   * request): the caller must then verify the vendor's secret before trusting anything.
   */
  async findForChannel(id: string): Promise<IntegrationRow | null> {
    const [row] = await this.db.select().from(integrations).where(eq(integrations.id, id))
    return row ?? null
  }

  /** The secret store, for the channels' own secrets (Telegram's webhook `secret_token`). */
  get secretBox(): SecretBox {
    return this.secrets
  }

  async requireRow(projectId: string, id: string): Promise<IntegrationRow> {
    const [row] = await this.db.select().from(integrations).where(and(eq(integrations.id, id), eq(integrations.projectId, projectId)))
    if (!row) throw AppError.notFound('Integration', id)
    return row
  }

  async create(projectId: string, input: { name: string; vendor: IntegrationVendor; auth_data: Record<string, unknown>; settings?: Record<string, unknown> | undefined }): Promise<Integration> {
    const vendor = this.vendors.definitions[input.vendor]
    const auth = parse(vendor.auth, input.auth_data, 'auth_data')
    const settings = parse(vendor.settings, input.settings ?? {}, 'settings')
    const id = newId('int')
    const [row] = await this.db
      .insert(integrations)
      .values({ id, projectId, name: input.name, vendor: input.vendor, ...this.seal(id, auth), settings })
      .returning()
    return toIntegration(row!)
  }

  /**
   * `POST /integrations/:id`. Credentials and settings are merged into the stored ones (so a
   * client changing one field does not erase tokens an OAuth flow stored) and validated whole.
   * `error` is the server's to set; new credentials clear it.
   */
  async update(projectId: string, id: string, input: { name?: string | undefined; status?: IntegrationStatus | undefined; auth_data?: Record<string, unknown> | undefined; settings?: Record<string, unknown> | undefined }): Promise<Integration> {
    if (input.status === 'error') throw AppError.validation([{ path: 'status', message: "'error' is set by the server when the vendor refuses the credentials; set 'active' or 'disabled'" }])
    const row = await this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(integrations).where(and(eq(integrations.id, id), eq(integrations.projectId, projectId))).for('update')
      if (!current) throw AppError.notFound('Integration', id)
      const vendor = this.vendors.definitions[current.vendor as IntegrationVendor]
      const changes: Partial<IntegrationRow> = {}
      if (input.name !== undefined && input.name !== current.name) changes.name = input.name
      if (input.settings !== undefined) changes.settings = parse(vendor.settings, mergePatch(current.settings, input.settings), 'settings')
      let status = input.status ?? (current.status as IntegrationStatus)
      if (input.auth_data !== undefined) {
        const auth = parse(vendor.auth, mergePatch(this.open(current), input.auth_data), 'auth_data')
        Object.assign(changes, this.seal(current.id, auth))
        // New credentials are a new chance: the vendor's verdict on the old ones no longer stands.
        if (status === 'error') status = 'active'
      }
      const events: OutboxEvent[] = []
      if (status !== current.status) {
        changes.status = status
        changes.statusReason = null
        events.push(statusChanged(current, status, null, 'api'))
      }
      if (Object.keys(changes).length === 0) return current
      const [updated] = await tx.update(integrations).set({ ...changes, updatedAt: sql`now()` }).where(eq(integrations.id, current.id)).returning()
      if (events.length > 0) await this.outbox.append(tx, projectId, events)
      return updated!
    })
    return toIntegration(row)
  }

  /** Deletes the integration and its chats (their threads with them): one `chat.deleted` per chat, then `integration.deleted`. */
  /**
   * Something to undo at the vendor before an integration goes (Telegram's webhook): given the row and
   * its credentials, which are gone afterwards. Best effort: a vendor that cannot be reached does not
   * keep the integration alive.
   */
  onDelete(hook: (row: IntegrationRow, auth: Record<string, unknown>) => Promise<void>): void {
    this.deleteHooks.push(hook)
  }

  async delete(projectId: string, id: string): Promise<void> {
    const existing = await this.requireRow(projectId, id)
    const auth = this.open(existing)
    await this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(integrations).where(and(eq(integrations.id, id), eq(integrations.projectId, projectId))).for('update')
      if (!current) throw AppError.notFound('Integration', id)
      const gone = await tx.delete(chats).where(and(eq(chats.projectId, projectId), eq(chats.integrationId, id))).returning({ id: chats.id, name: chats.name, botId: chats.botId })
      await tx.delete(integrations).where(eq(integrations.id, id))
      await this.outbox.append(tx, projectId, [
        ...gone.map((chat): OutboxEvent => ({ type: 'chat.deleted', chatId: chat.id, threadId: null, data: { bot_id: chat.botId, integration_id: id, name: chat.name } })),
        { type: 'integration.deleted', chatId: null, threadId: null, data: { integration_id: id, vendor: current.vendor, name: current.name } },
      ])
    })
    for (const hook of this.deleteHooks) await hook(existing, auth).catch(() => {})
  }

  /**
   * `GET /integrations/:id/profile`: the vendor's answer to the stored credentials. A refusal puts
   * the integration in `error` (with the vendor's reason) and answers 422 `credentials_refused`;
   * a vendor that cannot be reached is a 502 and says nothing about the credentials.
   */
  async profile(projectId: string, id: string): Promise<IntegrationProfile> {
    const row = await this.requireRow(projectId, id)
    const vendor = row.vendor as IntegrationVendor
    try {
      const profile = await this.vendors.definitions[vendor].profile(this.open(row), { apiUrl: this.vendors.apiUrl(vendor), fetch: this.vendors.fetch, signal: AbortSignal.timeout(15_000) })
      // Credentials that work again after an `error` (the vendor's outage, a token restored): active again.
      if (row.status === 'error') await this.setStatus(row, 'active', null, 'vendor')
      return profile
    } catch (error) {
      if (error instanceof CredentialsRefused) {
        await this.credentialsRefused(row, error.reason)
        throw new AppError('credentials_refused', `${vendor} refused the integration's credentials: ${error.reason}`)
      }
      if (error instanceof AppError) throw error
      throw new AppError('vendor_unavailable', `${vendor} could not be reached or answered unexpectedly: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** The vendor refused the credentials (here, or in a channel's sender or poller): `error`, with the events. */
  async credentialsRefused(row: IntegrationRow, reason: string): Promise<void> {
    await this.setStatus(row, 'error', reason, 'vendor', [{ type: 'integration.auth_lost', chatId: null, threadId: null, data: { integration_id: row.id, vendor: row.vendor, reason } }])
  }

  /** The stored credentials, decrypted: for the adapters that call the vendor. */
  open(row: IntegrationRow): Record<string, unknown> {
    return JSON.parse(this.secrets.decrypt(row.authCiphertext, authContext(row.id))) as Record<string, unknown>
  }

  /** Replaces the stored credentials, keeping the rest of the row. */
  async storeCredentials(projectId: string, id: string, auth: Record<string, unknown>): Promise<void> {
    await this.db.update(integrations).set({ ...this.seal(id, auth), updatedAt: sql`now()` }).where(and(eq(integrations.id, id), eq(integrations.projectId, projectId)))
  }

  /**
   * The OAuth callback's end: the new tokens are stored and the integration is `active` (the user
   * just authorized it), with `integration.status.changed` when it was not.
   */
  async authorized(projectId: string, id: string, auth: Record<string, unknown>): Promise<IntegrationRow> {
    const row = await this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(integrations).where(and(eq(integrations.id, id), eq(integrations.projectId, projectId))).for('update')
      if (!current) throw AppError.notFound('Integration', id)
      const [updated] = await tx
        .update(integrations)
        .set({ ...this.seal(id, auth), status: 'active', statusReason: null, updatedAt: sql`now()` })
        .where(eq(integrations.id, id))
        .returning()
      if (current.status !== 'active') await this.outbox.append(tx, projectId, [statusChanged(current, 'active', null, 'api')])
      return updated!
    })
    return row
  }

  /**
   * A token refresh's result, stored only if the credentials are still those the refresh started
   * from (`row`): an OAuth callback or an update that replaced them meanwhile wins. True when stored.
   */
  async renewed(row: IntegrationRow, auth: Record<string, unknown>): Promise<boolean> {
    const stored = await this.db
      .update(integrations)
      .set({ ...this.seal(row.id, auth), updatedAt: sql`now()` })
      .where(and(eq(integrations.id, row.id), eq(integrations.authCiphertext, row.authCiphertext)))
      .returning({ id: integrations.id })
    return stored.length > 0
  }

  /** The credentials, encrypted, with their expiry beside them in the clear (for the OAuth refresh sweep). */
  private seal(id: string, auth: Record<string, unknown>): { authCiphertext: string; tokenExpiresAt: Date | null } {
    const expiresAt = typeof auth.expires_at === 'string' ? new Date(auth.expires_at) : null
    return {
      authCiphertext: this.secrets.encrypt(JSON.stringify(auth), authContext(id)),
      tokenExpiresAt: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : null,
    }
  }

  private async setStatus(row: IntegrationRow, status: IntegrationStatus, reason: string | null, by: 'api' | 'vendor', extra: OutboxEvent[] = []): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(integrations).where(eq(integrations.id, row.id)).for('update')
      if (!current || (current.status === status && current.statusReason === reason)) return
      await tx.update(integrations).set({ status, statusReason: reason, updatedAt: sql`now()` }).where(eq(integrations.id, row.id))
      const events = current.status === status ? extra : [statusChanged(current, status, reason, by), ...extra]
      if (events.length > 0) await this.outbox.append(tx, row.projectId, events)
    })
  }
}

function statusChanged(row: IntegrationRow, status: IntegrationStatus, reason: string | null, by: 'api' | 'vendor'): OutboxEvent {
  return { type: 'integration.status.changed', chatId: null, threadId: null, data: { integration_id: row.id, vendor: row.vendor, status, previous_status: row.status, reason, by } }
}
