import type { Logger } from 'pino'
import { ModelRegistry } from './modules/agent/models.ts'
import type { Embedder } from './modules/knowledge/local-embedder.ts'
import type { TurnDeps } from './modules/agent/turn.ts'
import type { JobQueue } from './platform/jobs/queue.ts'
import { ApiKeyService } from './modules/projects/api-keys.ts'
import { BotService } from './modules/bots/service.ts'
import { ChatService } from './modules/conversations/chats.ts'
import type { ProviderConfig } from './config.ts'
import type { DatabaseHandle } from './platform/db/client.ts'
import { EventHub } from './platform/events/hub.ts'
import { ProjectService } from './modules/projects/service.ts'
import { OperatorService } from './modules/conversations/operator.ts'
import { ThreadService } from './modules/conversations/threads.ts'
import { SecretBox } from './platform/crypto/secrets.ts'
import { PostgresBlobStore } from './modules/knowledge/files/blob-store.ts'
import { FileService } from './modules/knowledge/files/service.ts'
import { WebhookService } from './modules/webhooks/service.ts'
import { systemResolver, type Resolver } from './modules/webhooks/transport.ts'
import type { KnowledgeSearch } from './modules/knowledge/vector-stores/search-types.ts'
import { KnowledgeBaseService } from './modules/knowledge/vector-stores/service.ts'
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
  const apiKeys = new ApiKeyService(database, logger)
  const files = new FileService(database, new PostgresBlobStore(database.db))
  const vectorStores = new KnowledgeBaseService(database, files)
  return {
    database,
    apiKeys,
    projects: new ProjectService(database.db, apiKeys),
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
