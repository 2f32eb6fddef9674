import type { Logger } from 'pino'
import { ModelRegistry } from './agent/models.ts'
import type { Embedder } from './agent/local-embedder.ts'
import type { TurnDeps } from './agent/turn.ts'
import type { JobQueue } from './jobs/queue.ts'
import { ApiKeyService } from './api-keys/service.ts'
import { BotService } from './bots/service.ts'
import { ChatService } from './chats/service.ts'
import type { ProviderConfig } from './config.ts'
import type { DatabaseHandle } from './db/client.ts'
import { EventHub } from './events/hub.ts'
import { ProjectService } from './projects/service.ts'
import { OperatorService } from './threads/operator.ts'
import { ThreadService } from './threads/service.ts'
import { SecretBox } from './crypto/secrets.ts'
import { PostgresBlobStore } from './files/blob-store.ts'
import { FileService } from './files/service.ts'
import { WebhookService } from './webhooks/service.ts'
import { systemResolver, type Resolver } from './webhooks/transport.ts'
import type { KnowledgeSearch } from './vector-stores/search-types.ts'
import { KnowledgeBaseService } from './vector-stores/service.ts'
import { randomBytes } from 'node:crypto'

/** Everything a route needs, built once per process and handed to handlers through the context. */
export type Services = {
  database: DatabaseHandle
  apiKeys: ApiKeyService
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
  /** Webhook endpoints and their delivery log (the sender runs apart, see webhooks/sender.ts). */
  webhooks: WebhookService
  /** Uploaded files (OpenAI-compatible), bytes in the blob store. */
  files: FileService
  /** The largest file upload, in bytes (413 above). */
  fileMaxBytes: number
  /** Encrypts secrets at rest (webhook secrets; integration credentials later). */
  secrets: SecretBox
  /** Retries of a failed model call before its first token. */
  modelMaxRetries: number
  /** Work after a reply is stored (title, embeddings); off the request's path. */
  afterTurn?: TurnDeps['afterTurn']
  /** Durable jobs (scheduled replies, follow-ups); absent in apps built without workers. */
  jobs?: JobQueue
  /** The embedder for semantic recall, when this database has pgvector. */
  recallEmbedder?: Embedder
  /** Knowledge bases: vector stores, their files, batches and search. */
  vectorStores: KnowledgeBaseService
  /** Search over the project's vector stores (the `file_search` tool); follows `vectorStores.search`. */
  knowledge: KnowledgeSearch
}

export type ServiceOptions = {
  providers?: ProviderConfig
  streamKeepaliveMs?: number
  modelMaxRetries?: number
  eventsPollMs?: number
  eventsMaxBufferBytes?: number
  eventsReauthorizeMs?: number
  /** Encryption of secrets at rest; a throwaway key when absent (tests, benchmarks). */
  secrets?: SecretBox
  /** Webhooks may target loopback/private addresses and plain http (self-hosted, tests). */
  webhooksAllowPrivate?: boolean
  fileMaxBytes?: number
  /** Host name resolution for webhook targets (tests substitute it). */
  webhooksResolve?: Resolver
}

const NO_PROVIDERS: ProviderConfig = { openai: undefined, anthropic: undefined, openrouter: undefined, compatible: [] }

export function createServices(database: DatabaseHandle, logger: Logger, options: ServiceOptions = {}): Services {
  const secrets = options.secrets ?? new SecretBox([randomBytes(32)])
  const threads = new ThreadService(database)
  const files = new FileService(database, new PostgresBlobStore(database.db))
  const vectorStores = new KnowledgeBaseService(database, files)
  return {
    database,
    apiKeys: new ApiKeyService(database, logger),
    projects: new ProjectService(database.db),
    bots: new BotService(database.db),
    chats: new ChatService(database.db),
    threads,
    operators: new OperatorService(database, threads),
    models: new ModelRegistry(options.providers ?? NO_PROVIDERS),
    streamKeepaliveMs: options.streamKeepaliveMs ?? 15_000,
    events: new EventHub(database, logger, { pollIntervalMs: options.eventsPollMs }),
    eventsMaxBufferBytes: options.eventsMaxBufferBytes ?? 1024 * 1024,
    eventsReauthorizeMs: options.eventsReauthorizeMs ?? 60_000,
    modelMaxRetries: options.modelMaxRetries ?? 2,
    secrets,
    files,
    vectorStores,
    knowledge: { search: (request) => vectorStores.search.search(request) },
    fileMaxBytes: options.fileMaxBytes ?? 50 * 1024 * 1024,
    webhooks: new WebhookService(database, secrets, { allowPrivate: options.webhooksAllowPrivate ?? false, resolve: options.webhooksResolve ?? systemResolver }),
  }
}
