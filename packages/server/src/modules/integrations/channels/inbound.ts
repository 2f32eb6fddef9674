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
  /** The text, or a media message's caption (possibly empty when attachments came without one). */
  text: string
  /** Photos and documents that came with it: stored in the files store, and the model told what arrived. */
  attachments?: Attachment[]
  /** `/start` on Telegram: the bot's greeting (`settings.start_message`) answers it when set. */
  start?: boolean
}

/** A file a user sent: the vendor's handle for it, and what the vendor says of it. */
export type Attachment = { kind: 'photo' | 'document'; fileId: string; filename: string; mimeType: string | null; size: number | null }

/** The project's file store, where attachments go (the knowledge module's `FileService`). */
export type AttachmentStore = { create(projectId: string, input: { filename: string; purpose: string; mimeType: string | null; bytes: Uint8Array }): Promise<{ id: string; bytes: number }> }

/** Attachments larger than this are not fetched (the Telegram Bot API serves bots files up to 20 MB). */
const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

/** What the engine needs of a vendor to take its updates in. */
export type InboundAdapter = {
  vendor: IntegrationVendor
  /** The user's message in an update, or null for an update that asks nothing (an edit, a service message: docs/integrations.md). */
  parse(payload: unknown): InboundMessage | null
  /** Shows the user that the bot is writing ("typing…"); repeated while the model thinks. Best effort. */
  typing?(input: { auth: Record<string, unknown>; apiUrl: string; externalChatId: string; signal: AbortSignal }): Promise<void>
  /** The bytes of an attachment (at most `maxBytes`; larger is an error). */
  download?(input: { auth: Record<string, unknown>; apiUrl: string; fileId: string; maxBytes: number; signal: AbortSignal }): Promise<Uint8Array>
}

/** How often the typing indicator is renewed (Telegram shows it for 5 s). */
const TYPING_EVERY_MS = 4500

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

  private readonly files: AttachmentStore

  constructor(database: DatabaseHandle, integrations: IntegrationService, deps: () => IngestDeps, logger: Logger, adapters: InboundAdapter[], files: AttachmentStore) {
    this.files = files
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
    const person = { external_id: `${integration.vendor}:${message.externalUserId}`, ...(message.name ? { name: message.name.slice(0, 200) } : {}) }
    const greeting = (integration.settings as { start_message?: unknown }).start_message
    if (message.start && typeof greeting === 'string' && greeting.trim() !== '') {
      // The bot's fixed greeting answers /start (settings.start_message): stored with the user's /start, sent by the outbox.
      const { chat: row } = await deps.chats.requireConversable(integration.projectId, chat.id, threadId)
      await deps.threads.storeUserMessages(integration.projectId, { id: row.id, botId: row.botId }, threadId, [message.text], person, (tx) => takenIn(tx), { greeting })
      return null
    }
    const text = await this.withAttachments(adapter, integration, message)
    if (text.trim() === '') return 'nothing to answer'
    const result = await ingest(deps, { projectId: integration.projectId, chatId: chat.id, threadId, texts: [text], person, alongside: takenIn, refusal: 'message' })
    if (result.status === 'reply') {
      const stopTyping = this.typing(adapter, integration, message.externalChatId)
      try {
        // Stored by the time `done` settles (or owed: owed-replies.ts answers after a crash); sent by the outbox.
        const outcome = await result.reply.done
        if (outcome.status !== 'failed') return null
        if (await result.stored.then(() => false, (error: unknown) => error instanceof TakenInElsewhere)) throw new TakenInElsewhere()
        return `reply failed: ${outcome.error}`
      } finally {
        stopTyping()
      }
    }
    return null
  }

  /**
   * The message's text with a line per attachment telling the model what arrived: each is fetched
   * from the vendor and stored in the project's files (`purpose: user_data`), so it can be read
   * back (`GET /files/:id/content`) or added to a knowledge base. One that cannot be fetched is
   * named as such rather than failing the message.
   */
  private async withAttachments(adapter: InboundAdapter, integration: IntegrationRow, message: InboundMessage): Promise<string> {
    const lines: string[] = []
    for (const attachment of message.attachments ?? []) {
      const what = attachment.kind === 'photo' ? 'a photo' : `a document, ${attachment.filename}`
      try {
        if (!adapter.download) throw new Error(`${integration.vendor} cannot download files`)
        if (attachment.size !== null && attachment.size > MAX_ATTACHMENT_BYTES) throw new Error(`larger than ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB`)
        const bytes = await adapter.download({
          auth: this.integrations.open(integration), apiUrl: this.integrations.vendors.apiUrl(integration.vendor as IntegrationVendor),
          fileId: attachment.fileId, maxBytes: MAX_ATTACHMENT_BYTES, signal: AbortSignal.timeout(60_000),
        })
        const file = await this.files.create(integration.projectId, { filename: attachment.filename, purpose: 'user_data', mimeType: attachment.mimeType, bytes })
        lines.push(`[The user sent ${what} (${attachment.mimeType ?? 'unknown type'}, ${formatSize(file.bytes)}), stored as file ${file.id}.]`)
      } catch (error) {
        this.logger.warn({ err: error, integrationId: integration.id }, 'an attachment could not be fetched')
        lines.push(`[The user sent ${what}, which could not be fetched.]`)
      }
    }
    return [message.text, ...lines].filter((line) => line.trim() !== '').join('\n\n')
  }

  /** "typing…" in the conversation until the returned function is called. Failures are not the message's: logged at debug. */
  private typing(adapter: InboundAdapter, integration: IntegrationRow, externalChatId: string): () => void {
    if (!adapter.typing) return () => {}
    const typing = adapter.typing.bind(adapter)
    const controller = new AbortController()
    const input = { auth: this.integrations.open(integration), apiUrl: this.integrations.vendors.apiUrl(integration.vendor as IntegrationVendor), externalChatId, signal: controller.signal }
    const show = () => void typing(input).catch((error: unknown) => this.logger.debug({ err: error, integrationId: integration.id }, 'the typing indicator failed'))
    show()
    const timer = setInterval(show, TYPING_EVERY_MS)
    timer.unref()
    return () => {
      clearInterval(timer)
      controller.abort()
    }
  }
}

function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
