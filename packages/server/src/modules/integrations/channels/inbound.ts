import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../../platform/db/client.ts'
import { isUniqueViolation } from '../../../platform/db/errors.ts'
import { newId } from '../../../platform/db/ids.ts'
import { AppError } from '../../../platform/errors.ts'
import { chats, ingest, type IngestDeps, type Tx } from '../../conversations/index.ts'
import type { IntegrationRow, IntegrationService } from '../service.ts'
import type { IntegrationVendor } from '../vendors/types.ts'
import { channelThreads, channelUpdates } from './tables.ts'

/** A user's message as every channel gives it, once its vendor's update is parsed. */
export type InboundMessage = {
  /** The vendor's conversation (Telegram's `chat.id`): one thread per conversation. */
  externalChatId: string
  /** The vendor's user: one person per user (`<vendor>:<id>`). */
  externalUserId: string
  name?: string | undefined
  text: string
  /** `/start` on Telegram: the bot's greeting (`settings.start_message`) answers it when set. */
  start?: boolean
}

/** What the engine needs of a vendor to take its updates in. */
export type InboundAdapter = {
  vendor: IntegrationVendor
  /** The user's message in an update, or null for an update that asks nothing (an edit, a service message: docs/integrations.md). */
  parse(payload: unknown): InboundMessage | null
}

/** How long a process may take over one update before another may retry it. */
const UPDATE_LEASE_MS = 60_000
/** Updates a crash left unprocessed are retried this many times, then recorded as failed. */
const MAX_UPDATE_ATTEMPTS = 5

/** The update's message was stored under another claim of it (this one had lapsed): nothing is left to do here. */
class TakenInElsewhere extends AppError {
  constructor() {
    super('conflict', 'This update was taken in under another claim')
  }
}

/**
 * The way in from a channel: every update is recorded under its vendor key before it is
 * acknowledged (so a re-delivered update is a no-op, and a crash loses nothing), then its
 * message goes through the same `ingest` as the API's: a thread per external conversation (id
 * `<integration id>:<external chat id>`), a person per external user, the chat's bot and the
 * thread's mode deciding as everywhere. The reply reaches the channel through the outbox
 * (delivery-writer.ts), never from here.
 */
export class ChannelInbound {
  private readonly database: DatabaseHandle
  private readonly integrations: IntegrationService
  private readonly deps: () => IngestDeps
  private readonly logger: Logger
  private readonly adapters: Map<IntegrationVendor, InboundAdapter>
  private readonly running = new Set<Promise<void>>()

  constructor(database: DatabaseHandle, integrations: IntegrationService, deps: () => IngestDeps, logger: Logger, adapters: InboundAdapter[]) {
    this.database = database
    this.integrations = integrations
    this.deps = deps
    this.logger = logger
    this.adapters = new Map(adapters.map((adapter) => [adapter.vendor, adapter]))
  }

  /** Records an update; false when the vendor sent it before (its key is taken). */
  async record(integration: IntegrationRow, updateKey: string, payload: unknown): Promise<{ id: string; fresh: boolean }> {
    const id = newId('chu')
    try {
      await this.database.db.insert(channelUpdates).values({ id, projectId: integration.projectId, integrationId: integration.id, updateKey, payload: payload as never })
      return { id, fresh: true }
    } catch (error) {
      if (isUniqueViolation(error, 'channel_updates_key')) return { id, fresh: false }
      throw error
    }
  }

  /** Processes a recorded update in the background (the vendor has its answer already); tracked for shutdown. */
  processSoon(updateId: string): void {
    const task: Promise<void> = this.process(updateId)
      .catch((error: unknown) => this.logger.error({ err: error, updateId }, 'processing a channel update failed; the sweep retries it'))
      .finally(() => this.running.delete(task))
    this.running.add(task)
  }

  /** Waits for the updates under way (at shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running])
  }

  /** Claims an update (a lease: a crashed process's claim lapses) and hands its message to `ingest`. */
  async process(updateId: string): Promise<void> {
    const [claimed] = await this.database.db
      .update(channelUpdates)
      .set({ leaseUntil: sql`now() + ${`${UPDATE_LEASE_MS} milliseconds`}::interval`, attempts: sql`${channelUpdates.attempts} + 1` })
      .where(and(eq(channelUpdates.id, updateId), isNull(channelUpdates.processedAt), or(isNull(channelUpdates.leaseUntil), lt(channelUpdates.leaseUntil, sql`now()`))))
      .returning()
    if (!claimed) return
    let outcome: string | null = null
    try {
      outcome = await this.handle(claimed)
    } catch (error) {
      if (error instanceof TakenInElsewhere) return
      const message = error instanceof Error ? error.message : String(error)
      if (claimed.attempts < MAX_UPDATE_ATTEMPTS && !(error instanceof AppError)) {
        // Released for the sweep: a database hiccup, a crash of a dependency.
        await this.database.db.update(channelUpdates).set({ leaseUntil: null, lastError: message }).where(eq(channelUpdates.id, updateId))
        throw error
      }
      outcome = `failed: ${message}`
    }
    await this.database.db.update(channelUpdates).set({ processedAt: sql`now()`, leaseUntil: null, lastError: outcome }).where(eq(channelUpdates.id, updateId))
  }

  /** Updates that a crash left unprocessed (lease lapsed, or never claimed a minute after arriving). */
  async sweep(limit = 50): Promise<number> {
    const rows = await this.database.db
      .select({ id: channelUpdates.id })
      .from(channelUpdates)
      .where(and(isNull(channelUpdates.processedAt), or(isNull(channelUpdates.leaseUntil), lt(channelUpdates.leaseUntil, sql`now()`)), lt(channelUpdates.receivedAt, sql`now() - interval '5 seconds'`)))
      .orderBy(asc(channelUpdates.receivedAt))
      .limit(limit)
    for (const row of rows) this.processSoon(row.id)
    return rows.length
  }

  /** The update's message into its conversation. Answers why nothing was done (kept on the row), or null. */
  private async handle(update: typeof channelUpdates.$inferSelect): Promise<string | null> {
    const integration = await this.integrations.requireRow(update.projectId, update.integrationId)
    const adapter = this.adapters.get(integration.vendor as IntegrationVendor)
    if (!adapter) return `no channel for ${integration.vendor}`
    if (integration.status !== 'active') return `integration is ${integration.status}`
    const message = adapter.parse(update.payload)
    if (!message) return 'nothing to answer'
    // The integration's conversations run in its oldest active chat (docs/integrations.md).
    const [chat] = await this.database.db
      .select({ id: chats.id })
      .from(chats)
      .where(and(eq(chats.projectId, integration.projectId), eq(chats.integrationId, integration.id), eq(chats.status, 'active')))
      .orderBy(asc(chats.createdAt), asc(chats.id))
      .limit(1)
    if (!chat) return 'the integration has no active chat'
    const threadId = `${integration.id}:${message.externalChatId}`
    await this.database.db
      .insert(channelThreads)
      .values({ projectId: integration.projectId, threadId, integrationId: integration.id, externalChatId: message.externalChatId })
      .onConflictDoNothing()
    // Marked taken in by the transaction that stores the message: a claim that lapsed meanwhile (a
    // process killed mid-reply, a model slower than the lease) cannot store it a second time.
    const takenIn = async (tx: Tx) => {
      const [row] = await tx
        .update(channelUpdates)
        .set({ processedAt: sql`now()` })
        .where(and(eq(channelUpdates.id, update.id), isNull(channelUpdates.processedAt)))
        .returning({ id: channelUpdates.id })
      if (!row) throw new TakenInElsewhere()
    }
    const deps = this.deps()
    const result = await ingest(deps, {
      projectId: integration.projectId,
      chatId: chat.id,
      threadId,
      texts: [message.text],
      person: { external_id: `${integration.vendor}:${message.externalUserId}`, ...(message.name ? { name: message.name.slice(0, 200) } : {}) },
      alongside: takenIn,
    })
    if (result.status === 'reply') {
      // Stored by the time `done` settles (or owed: owed-replies.ts answers after a crash); sent by the outbox.
      const outcome = await result.reply.done
      if (outcome.status !== 'failed') return null
      if (await result.stored.then(() => false, (error: unknown) => error instanceof TakenInElsewhere)) throw new TakenInElsewhere()
      return `reply failed: ${outcome.error}`
    }
    return null
  }
}
