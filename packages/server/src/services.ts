import { IdempotencyStore } from './platform/http/idempotency/index.ts'
import type { Logger } from 'pino'
import { ModelRegistry } from './modules/agent/models.ts'
import type { Embedder } from './modules/knowledge/local-embedder.ts'
import type { ReplyDeps } from './modules/conversations/reply.ts'
import { OwedReplies, OwedReplySweeper, registerFollowUps, registerScheduledReplies, registerScheduledSends, type OwedReplyOptions } from './modules/conversations/index.ts'
import { VectorStoreIndexer } from './modules/knowledge/index.ts'
import type { OnFilesAdded } from './modules/knowledge/vector-stores/store-files.ts'
import { createJobQueue, type JobQueue } from './platform/jobs/queue.ts'
import { Outbox } from './platform/events/outbox.ts'
import { MessageWriter } from './modules/conversations/index.ts'
import { webhookDeliveryWriter } from './modules/webhooks/index.ts'
import { ApiKeyService } from './modules/projects/api-keys.ts'
import { OpenStreams } from './platform/events/open-streams.ts'
import { ChannelInbound, IntegrationService, OAuthFlow, OAuthRefresher, channelDeliveryMarker, channelDeliveryWriter, telegramInbound, type IntegrationVendor, type OAuthRefreshOptions } from './modules/integrations/index.ts'
import { VENDORS, vendorApiUrl } from './modules/integrations/vendors/index.ts'
import { vendorFetch } from './modules/integrations/index.ts'
import { BotService } from './modules/bots/service.ts'
import { ChatService } from './modules/conversations/chats.ts'
import type { ProviderConfig } from './config.ts'
import type { DatabaseHandle } from './platform/db/client.ts'
import { EventHub } from './platform/events/hub.ts'
import { ProjectService } from './modules/projects/service.ts'
import { OperatorService } from './modules/conversations/operator.ts'
import { ThreadService } from './modules/conversations/threads.ts'
import { EventTokens } from './modules/conversations/event-tokens.ts'
import { SecretBox } from './platform/crypto/secrets.ts'
import { PostgresBlobStore } from './modules/knowledge/files/blob-store.ts'
import { FileService } from './modules/knowledge/files/service.ts'
import { WebhookService } from './modules/webhooks/service.ts'
import { systemResolver, type Resolver } from './modules/webhooks/transport.ts'
import type { KnowledgeSearch } from './modules/knowledge/vector-stores/search-types.ts'
import { KnowledgeBaseService } from './modules/knowledge/vector-stores/service.ts'
import { randomBytes } from 'node:crypto'
import { DEFAULT_OFFERS, DEFAULT_PRICES, InvoiceService, Ledger, ManualProvider, ReplyCharges, type OfferCatalog, type PaymentProvider, type PriceTable, type Tariff } from './modules/billing/index.ts'
import { PlanRateLimiter, type TariffOf } from './platform/http/plan-limits.ts'

/** Everything a route needs, built once per process and handed to handlers through the context. */
export type Services = {
  database: DatabaseHandle
  /** Where every domain event goes, in its change's transaction (webhook deliveries are its consumer). */
  outbox: Outbox
  /** The one writer of messages. */
  writer: MessageWriter
  /** The credits ledger: balances, transfers, tariffs (docs/billing.md). */
  ledger: Ledger
  /** Offers, invoices and the payment provider (docs/billing.md). */
  invoices: InvoiceService
  /** Charges stored replies (through the writer) and refuses new turns without credits (through ingest). */
  replyCharges: ReplyCharges
  /** Billing's say on new turns, as ingest reads it. */
  turnGate: ReplyCharges
  apiKeys: ApiKeyService
  /** `Idempotency-Key`s of POSTs and the answers they replay. */
  idempotency: IdempotencyStore
  projects: ProjectService
  bots: BotService
  chats: ChatService
  threads: ThreadService
  operators: OperatorService
  models: ModelRegistry
  streamKeepaliveMs: number
  /** Live outbox events for the SSE feeds (`GET /threads/events`). */
  events: EventHub
  /** Unread bytes after which an event stream is cut (the client resumes with Last-Event-ID). */
  eventsMaxBufferBytes: number
  /** How often an open event stream checks that its caller is still authorized. */
  eventsReauthorizeMs: number
  /** The event streams open in this process, by key: the cap per key, and ending them when the key is deleted. */
  openStreams: OpenStreams
  /** Replies owed to stored user messages: recorded with them, paid with the reply, recovered after a crash. */
  owedReplies: OwedReplies
  /** Short-lived `?token=` credentials for the event streams (browsers' EventSource). */
  eventTokens: EventTokens
  /** Webhook endpoints and their delivery log (the sender runs apart, see webhooks/sender.ts). */
  webhooks: WebhookService
  /** The project's integrations: credentials (encrypted), status, profile, their chats. */
  integrations: IntegrationService
  /** The OAuth flow of the vendors that connect through it: `oauth/start` and the callback. */
  oauth: OAuthFlow
  /** Renews OAuth tokens before they expire; absent in apps built without workers. */
  oauthRefresh?: OAuthRefresher
  /** Channel updates in: recorded once, then through `ingest` (the sender and pollers run apart, see server.ts). */
  channelInbound: ChannelInbound
  /** Uploaded files (OpenAI-compatible), bytes in the blob store. */
  files: FileService
  /** The largest file upload, in bytes (413 above). */
  fileMaxBytes: number
  /** Encrypts secrets at rest (webhook secrets; integration credentials later). */
  secrets: SecretBox
  /** Retries of a failed model call before its first token. */
  modelMaxRetries: number
  /** Work after a reply is stored (title, embeddings); off the request's path. */
  afterReply?: ReplyDeps['afterReply']
  /** Durable jobs (scheduled replies, follow-ups); absent in apps built without workers. */
  jobs?: JobQueue
  /** The embedder for semantic recall, when this database has pgvector. */
  recallEmbedder?: Embedder
  /** The job queue and indexer, started and stopped with the process; absent in apps built without workers. */
  workers?: Workers
  /** Knowledge bases: vector stores, their files, batches and search. */
  vectorStores: KnowledgeBaseService
  /** Search over the project's vector stores (the `file_search` tool); follows `vectorStores.search`. */
  knowledge: KnowledgeSearch
  /** The plan rate limits of the public API (docs/rate-limits.md); absent: nothing is counted. */
  rateLimits?: PlanRateLimiter
}

export type ServiceOptions = {
  providers?: ProviderConfig
  streamKeepaliveMs?: number
  modelMaxRetries?: number
  eventsPollMs?: number
  eventsMaxBufferBytes?: number
  eventsReauthorizeMs?: number
  /** Where each vendor's API is (`WORKEN_<VENDOR>_API_URL`; tests point them at local doubles), and the fetch that reaches it. */
  integrations?: {
    apiUrls?: Partial<Record<IntegrationVendor, string>>
    fetch?: typeof globalThis.fetch
    /** WORKEN_PUBLIC_URL: OAuth's redirect URI is `<publicUrl>/oauth/callback`; unset, `oauth/start` is refused. */
    publicUrl?: string
  }
  /** Concurrent event streams one key (or internal user) may hold in this process. */
  eventsMaxStreamsPerKey?: number
  /** Encryption of secrets at rest; a throwaway key when absent (tests, benchmarks). */
  secrets?: SecretBox
  /** Webhooks may target loopback/private addresses and plain http (self-hosted, tests). */
  webhooksAllowPrivate?: boolean
  fileMaxBytes?: number
  /** Host name resolution for webhook targets (tests substitute it). */
  webhooksResolve?: Resolver
  /** The background side (job queue, indexer, follow-ups, scheduled sends); without it, scheduling is refused. */
  workers?: WorkerOptions
  /** WORKEN_DEFAULT_TARIFF, WORKEN_PRICES_FILE, WORKEN_BILLING_LOW_BALANCE (defaults: enterprise, the built-in table, 100). */
  billing?: {
    defaultTariff?: Tariff
    prices?: PriceTable
    lowBalanceThreshold?: number
    /** Who takes payment for invoices: `manual` (the default, settled by an admin) or an acquirer's adapter. */
    provider?: PaymentProvider
    /** What can be bought (`WORKEN_BILLING_OFFERS_FILE`); `DEFAULT_OFFERS` otherwise. */
    offers?: OfferCatalog
    /** Where a payer returns after paying (`WORKEN_BILLING_RETURN_URL`). */
    returnUrl?: string | null
  }
  /** Wraps how added files are queued for indexing (benchmarks index by hand first). */
  onFilesAdded?: (enqueue: OnFilesAdded) => OnFilesAdded
  /**
   * The plan rate limits: the plan of an organization, the window (60 s unless a test shortens it),
   * and where counters live (default: the database on Postgres, shared by its processes; this
   * process's memory on PGlite, which only one process opens). Absent: nothing is counted.
   */
  rateLimits?: { tariffOf?: TariffOf; windowSeconds?: number; tariffCacheMs?: number; store?: 'database' | 'memory' }
}

const NO_PROVIDERS: ProviderConfig = { openai: undefined, anthropic: undefined, openrouter: undefined, compatible: [] }

/**
 * The container: every service, built once per process with its dependencies
 * (and, with `workers`, the job queue and its handlers), and never changed
 * afterwards. Routes read it through the request context; tests build their
 * own on their own database.
 */
export function createServices(database: DatabaseHandle, logger: Logger, options: ServiceOptions = {}): Services {
  const secrets = options.secrets ?? new SecretBox([randomBytes(32)])
  const models = new ModelRegistry(options.providers ?? NO_PROVIDERS)
  const workerOptions = options.workers
  const jobs = workerOptions ? createJobQueue(database, logger, { pollingIntervalSeconds: workerOptions.pollingIntervalSeconds }) : undefined
  // The embedder indexes files and messages where vectors work (pgvector); search falls back to full text elsewhere.
  const embedder = workerOptions ? models.embedder(workerOptions.embeddingModel) : undefined
  const vectorEmbedder = workerOptions?.vector ? embedder : undefined

  // Every event goes through the one outbox, with webhook deliveries written as its consumer.
  const outbox = new Outbox([webhookDeliveryWriter, channelDeliveryWriter, channelDeliveryMarker])
  const ledger = new Ledger(database, { defaultTariff: options.billing?.defaultTariff ?? 'enterprise', lowBalanceThreshold: options.billing?.lowBalanceThreshold ?? 100 })
  const replyCharges = new ReplyCharges(database, ledger, options.billing?.prices ?? DEFAULT_PRICES)
  // Every stored model reply is charged in the transaction that stores it (conversations does not import billing).
  const writer = new MessageWriter(outbox, { onReplyStored: (tx, projectId, replies) => replyCharges.charge(tx, projectId, replies) })
  const owedReplies = new OwedReplies(database, outbox, workerOptions?.owedReplies)
  const integrations = new IntegrationService(database, outbox, secrets, {
    definitions: VENDORS,
    apiUrl: (vendor) => options.integrations?.apiUrls?.[vendor] ?? vendorApiUrl(vendor, {}),
    // Tenants give some vendors' hosts (a Bitrix24 portal): those must be public; the operator's own URLs are trusted.
    fetch: vendorFetch({
      trustedHosts: new Set(Object.values(options.integrations?.apiUrls ?? {}).map((url) => new URL(url).host)),
      allowPrivate: options.webhooksAllowPrivate ?? false,
      resolve: options.webhooksResolve ?? systemResolver,
      ...(options.integrations?.fetch ? { fetch: options.integrations.fetch } : {}),
    }),
  })
  const threads = new ThreadService(database, writer)
  const apiKeys = new ApiKeyService(database, logger)
  const openStreams = new OpenStreams({ maxPerHolder: options.eventsMaxStreamsPerKey ?? 100 })
  // A deleted key's streams end now, in every process (the revocation comes by NOTIFY), not at the next re-check.
  apiKeys.onRevoked((keyId) => openStreams.closeAll(keyId))
  const files = new FileService(database, new PostgresBlobStore(database.db))
  let indexer: VectorStoreIndexer | undefined
  const enqueue: OnFilesAdded = (projectId, vectorStoreId, fileIds) => indexer?.enqueue(projectId, vectorStoreId, fileIds) ?? Promise.resolve()
  const vectorStores = new KnowledgeBaseService(database, files, { embedder: vectorEmbedder, onFilesAdded: options.onFilesAdded ? options.onFilesAdded(enqueue) : enqueue })
  if (workerOptions && embedder) {
    const leaseMs = workerOptions.indexingLeaseMs ?? 60_000
    indexer = new VectorStoreIndexer(database, { blobs: files.blobs, embedder, stores: vectorStores.stores, logger }, {
      leaseMs,
      // A lapsed lease is found by the next sweep: sweeping at least once a lease keeps a takeover within about two leases.
      sweepMs: workerOptions.indexingSweepMs ?? Math.min(30_000, leaseMs),
      vector: workerOptions.vector,
    })
  }
  const operators = new OperatorService(database, threads, writer, jobs)
  const afterReply = jobs ? registerFollowUps(jobs, { database, outbox, logger, models, embedder: vectorEmbedder }) : undefined

  const services: Services = {
    database,
    outbox,
    writer,
    ledger,
    invoices: new InvoiceService(database.db, ledger, options.billing?.provider ?? new ManualProvider(), options.billing?.offers ?? DEFAULT_OFFERS, { returnUrl: options.billing?.returnUrl ?? null }),
    replyCharges,
    turnGate: replyCharges,
    apiKeys,
    idempotency: new IdempotencyStore(database.db),
    projects: new ProjectService(database.db, apiKeys),
    bots: new BotService(database.db),
    chats: new ChatService(database, outbox),
    threads,
    operators,
    models,
    streamKeepaliveMs: options.streamKeepaliveMs ?? 15_000,
    events: new EventHub(database, logger, { pollIntervalMs: options.eventsPollMs }),
    eventsMaxBufferBytes: options.eventsMaxBufferBytes ?? 1024 * 1024,
    eventsReauthorizeMs: options.eventsReauthorizeMs ?? 60_000,
    openStreams,
    owedReplies,
    eventTokens: new EventTokens(secrets, apiKeys, threads),
    modelMaxRetries: options.modelMaxRetries ?? 2,
    secrets,
    files,
    vectorStores,
    knowledge: { search: (request) => vectorStores.search.search(request) },
    fileMaxBytes: options.fileMaxBytes ?? 50 * 1024 * 1024,
    integrations,
    oauth: new OAuthFlow(database, integrations, { publicUrl: options.integrations?.publicUrl }),
    // Built with a getter: ingest needs the whole container, which is being built here.
    channelInbound: new ChannelInbound(database, integrations, () => ({ ...services, logger }), logger, [telegramInbound], files),
    webhooks: new WebhookService(database, secrets, { allowPrivate: options.webhooksAllowPrivate ?? false, resolve: options.webhooksResolve ?? systemResolver }),
    ...(jobs ? { jobs } : {}),
    // The plan is the organization's tariff in the ledger unless a test gives its own lookup.
    ...(options.rateLimits ? { rateLimits: planRateLimiter(database, { tariffOf: (organizationId) => ledger.tariffOf(organizationId), ...options.rateLimits }) } : {}),
    ...(afterReply ? { afterReply } : {}),
    ...(vectorEmbedder ? { recallEmbedder: vectorEmbedder } : {}),
  }
  if (jobs && indexer) {
    // Handlers are registered now and run once the workers start.
    indexer.register(jobs)
    registerScheduledReplies(jobs, services, logger)
    registerScheduledSends(jobs, operators)
    // A database only this process opens (PGlite) has no other live holder of a lease: take them at once.
    const sweeper = new OwedReplySweeper(services, logger, { takeOverAtStart: database.driver === 'pglite' })
    const oauthRefresh = new OAuthRefresher(database, integrations, jobs, logger, workerOptions?.oauthRefresh)
    oauthRefresh.register()
    services.oauthRefresh = oauthRefresh
    services.workers = workersOf(database, jobs, indexer, sweeper, oauthRefresh)
  }
  return services
}

function planRateLimiter(database: DatabaseHandle, options: NonNullable<ServiceOptions['rateLimits']> & { tariffOf: TariffOf }): PlanRateLimiter {
  const store = options.store ?? (database.driver === 'postgres' ? 'database' : 'memory')
  return new PlanRateLimiter({
    tariffOf: options.tariffOf,
    windowSeconds: options.windowSeconds,
    tariffCacheMs: options.tariffCacheMs,
    store: store === 'database' ? { kind: 'database', db: database.db } : { kind: 'memory' },
  })
}

export type WorkerOptions = {
  embeddingModel: string
  vector: boolean
  pollingIntervalSeconds: number
  /** How long an indexing claim holds without renewal (default 60 s). */
  indexingLeaseMs?: number
  /** How often lapsed indexing work is queued again (default 30 s, or the lease when shorter). */
  indexingSweepMs?: number
  /** Leases and sweeps of owed replies (defaults: 30 s lease, 5 s sweep, 3 attempts). */
  owedReplies?: OwedReplyOptions
  /** The OAuth token renewal's sweep, lead time and retries (defaults: 60 s, 10 minutes, 30 s doubling). */
  oauthRefresh?: OAuthRefreshOptions
}

/** The background side of a process: the job queue and the indexer's sweep, started and stopped together. */
export type Workers = {
  jobs: JobQueue
  indexer: VectorStoreIndexer
  start(): Promise<void>
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>
}

function workersOf(database: DatabaseHandle, jobs: JobQueue, indexer: VectorStoreIndexer, sweeper: OwedReplySweeper, oauthRefresh: OAuthRefresher): Workers {
  return {
    jobs,
    indexer,
    async start() {
      await jobs.start()
      await indexer.start({ exclusive: database.driver === 'pglite' })
      await sweeper.start()
      await oauthRefresh.start()
    },
    async stop(stopOptions) {
      indexer.stop()
      await oauthRefresh.stop()
      await sweeper.stop(stopOptions?.timeoutMs)
      await jobs.stop(stopOptions)
    },
  }
}
