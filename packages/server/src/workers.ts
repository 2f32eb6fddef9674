import type { Logger } from 'pino'
import { registerFollowUps } from './modules/conversations/follow-ups.ts'
import { registerScheduledReplies } from './modules/conversations/scheduled-reply.ts'
import { createJobQueue, type JobQueue } from './platform/jobs/queue.ts'
import type { Services } from './services.ts'
import { VectorStoreIndexer } from './modules/knowledge/vector-stores/indexer.ts'
import { registerScheduledSends } from './modules/conversations/operator.ts'

/**
 * Gives the services their background side: the job queue with its workers
 * (scheduled replies, titles, embeddings) and semantic recall where pgvector
 * exists. The caller starts and stops the returned queue.
 */
export function attachWorkers(services: Services, logger: Logger, options: WorkerOptions): Workers {
  const embedder = services.models.embedder(options.embeddingModel)
  if (options.vector) {
    services.recallEmbedder = embedder
    services.vectorStores.enableVectors(embedder)
  }
  const jobs = createJobQueue(services.database, logger, { pollingIntervalSeconds: options.pollingIntervalSeconds })
  services.jobs = jobs
  const leaseMs = options.indexingLeaseMs ?? 60_000
  const indexer = new VectorStoreIndexer(services.database, { blobs: services.files.blobs, embedder, stores: services.vectorStores.stores, logger }, {
    leaseMs,
    // A lapsed lease is found by the next sweep: sweeping at least once a lease keeps a takeover within about two leases.
    sweepMs: options.indexingSweepMs ?? Math.min(30_000, leaseMs),
    vector: options.vector,
  })
  indexer.register(jobs)
  services.vectorStores.files.onFilesAdded = (projectId, vectorStoreId, fileIds) => indexer.enqueue(projectId, vectorStoreId, fileIds)
  services.afterReply = registerFollowUps(jobs, { database: services.database, logger, models: services.models, embedder: services.recallEmbedder })
  registerScheduledReplies(jobs, services, logger)
  registerScheduledSends(jobs, services.operators)
  return {
    jobs,
    indexer,
    async start() {
      await jobs.start()
      await indexer.start({ exclusive: services.database.driver === 'pglite' })
    },
    async stop(stopOptions) {
      indexer.stop()
      await jobs.stop(stopOptions)
    },
  }
}

export type WorkerOptions = {
  embeddingModel: string
  vector: boolean
  pollingIntervalSeconds: number
  /** How long an indexing claim holds without renewal (default 60 s). */
  indexingLeaseMs?: number
  /** How often lapsed indexing work is queued again (default 30 s, or the lease when shorter). */
  indexingSweepMs?: number
}

/** The background side of a process: the job queue and the indexer's sweep, started and stopped together. */
export type Workers = {
  jobs: JobQueue
  indexer: VectorStoreIndexer
  start(): Promise<void>
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>
}
