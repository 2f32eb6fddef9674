import type { Logger } from 'pino'
import { registerFollowUps } from './agent/follow-ups.ts'
import { registerScheduledReplies } from './agent/scheduled-reply.ts'
import { createJobQueue, type JobQueue } from './jobs/queue.ts'
import type { Services } from './services.ts'
import { registerScheduledSends } from './threads/operator.ts'

/**
 * Gives the services their background side: the job queue with its workers
 * (scheduled replies, titles, embeddings) and semantic recall where pgvector
 * exists. The caller starts and stops the returned queue.
 */
export function attachWorkers(services: Services, logger: Logger, options: { embeddingModel: string; vector: boolean; pollingIntervalSeconds: number }): JobQueue {
  const embedder = services.models.embedder(options.embeddingModel)
  if (options.vector) services.recallEmbedder = embedder
  const jobs = createJobQueue(services.database, logger, { pollingIntervalSeconds: options.pollingIntervalSeconds })
  services.jobs = jobs
  services.afterTurn = registerFollowUps(jobs, { database: services.database, logger, models: services.models, embedder: services.recallEmbedder })
  registerScheduledReplies(jobs, services, logger)
  registerScheduledSends(jobs, services.operators)
  return jobs
}
