import { PgBoss, fromPglite, type ConstructorOptions, type JobResult, type JobWithMetadata } from 'pg-boss'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../db/client.ts'

/**
 * How often an idle worker looks for due jobs. New jobs wake workers at once
 * through LISTEN/NOTIFY, so this bounds the delay of what NOTIFY cannot announce:
 * a `startAfter` coming due and a retry after its delay. pg-boss refuses less than 0.5.
 */
export const DEFAULT_POLLING_INTERVAL_SECONDS = 2

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed'

export type JobInfo = {
  id: string
  /** 0 on the first attempt, then 1, 2, … for each retry. */
  retryCount: number
  /** Aborted when stop() gives up waiting for this job; a long call can stop early. */
  signal: AbortSignal
}

export type JobHandler<T> = (data: T, job: JobInfo) => Promise<void>

export type QueueOptions = {
  /** Retries after the first attempt before the job is failed. Default 2. */
  retryLimit?: number
  /** Whole seconds before a retry. Default 0, or 1 with `retryBackoff`. */
  retryDelaySeconds?: number
  /** Doubles the delay on each retry, with jitter. Default false. */
  retryBackoff?: boolean
  /** Jobs fetched per poll; each runs its handler and succeeds or fails on its own. Default 1. */
  batchSize?: number
  /** Workers polling this queue in this process. Default 1. */
  localConcurrency?: number
  /**
   * While fetches come back full (`batchSize` > 1), fetch again at once instead
   * of waiting out the polling interval: a backlog drains at the speed of the
   * work, not one batch per poll. Default false.
   */
  burstWhenBatchFull?: boolean
  /**
   * Which jobs may coexist per `singletonKey`. On the default `standard` policy a
   * singletonKey deduplicates nothing; `short` keeps one queued job per key,
   * `singleton` one active, `stately` one of each, `exclusive` one queued or active.
   * Fixed when the queue is first created.
   */
  policy?: 'standard' | 'short' | 'singleton' | 'stately' | 'exclusive'
}

export type SendOptions = {
  /** Not run before this time. */
  startAfter?: Date
  /** See `QueueOptions.policy`: a send that the policy refuses returns null. */
  singletonKey?: string
  /** Overrides the queue's retry limit for this job. */
  retryLimit?: number
}

export type JobSnapshot = { id: string; state: JobState; startAfter: Date; retryCount: number }

export interface JobQueue {
  /** Installs or migrates the pg-boss schema, then creates the defined queues and starts their workers. */
  start(): Promise<void>
  /**
   * Stops polling. Graceful (the default) waits up to `timeoutMs` (default 30 s,
   * at least 1 s) for running handlers; jobs still running after that are failed
   * (and retried later if retries are left) and their signal is aborted.
   */
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>
  /**
   * Declares a queue and its handler. The queue is created, or its retry options
   * updated, on start(), or at once when already started.
   *
   * @example
   * queue.define<{ threadId: string }>('thread.title', async ({ threadId }) => {
   *   await titles.generate(threadId)
   * }, { retryLimit: 3, retryBackoff: true })
   */
  define<T>(name: string, handler: JobHandler<T>, options?: QueueOptions): void
  /**
   * Adds a job; resolves to its id, or null when the queue's policy refused it.
   *
   * @example
   * await queue.send('bot.reply', { threadId }, { startAfter: new Date(Date.now() + 60_000) })
   */
  send<T>(name: string, data: T, options?: SendOptions): Promise<string | null>
  /** Cancels a job that has not finished; a no-op for a finished or unknown one. */
  cancel(name: string, id: string): Promise<void>
  getJob(name: string, id: string): Promise<JobSnapshot | null>
}

type Definition = { handler: JobHandler<unknown>; options: QueueOptions }

/**
 * PGlite instances with a started queue. pg-boss's PGlite adapter rolls back a
 * failed multi-statement block only after whatever was already queued on the one
 * connection, so an error in one pg-boss instance (two racing to install the
 * schema, say) makes the app's and the other instance's queries fail meanwhile.
 * One queue per PGlite keeps that from happening.
 */
const pglitesInUse = new WeakSet<object>()

/**
 * Durable background jobs in the app's database, through pg-boss: the one file
 * that knows about pg-boss.
 *
 * On PGlite, pg-boss shares the handle's instance (PGlite is one connection;
 * a second instance on the same data directory would corrupt it). On Postgres it
 * opens its own small pool from the handle's URL, so polling and job bookkeeping
 * never wait behind request traffic, and it keeps its own LISTEN connection.
 * The handle must outlive the queue: stop() the queue before closing the handle.
 */
export function createJobQueue(handle: DatabaseHandle, logger: Logger, options: { pollingIntervalSeconds?: number; schema?: string } = {}): JobQueue {
  const pollingIntervalSeconds = options.pollingIntervalSeconds ?? DEFAULT_POLLING_INTERVAL_SECONDS
  const log = logger.child({ component: 'jobs' })
  const boss = new PgBoss({ ...connectionOf(handle), schema: options.schema ?? 'pgboss', useListenNotify: true })
  boss.on('error', (err) => log.error({ err }, 'job queue error'))
  boss.on('warning', (warning) => log.warn({ detail: warning.data }, warning.message))

  const definitions = new Map<string, Definition>()
  // One registration per queue per start; send() waits on it so a job never races its queue's creation.
  const registrations = new Map<string, Promise<void>>()
  let starting: Promise<void> | undefined
  let started = false

  function register(name: string): Promise<void> {
    let registration = registrations.get(name)
    if (!registration) {
      const definition = definitions.get(name)
      if (!definition) throw new Error(`job queue ${name} is not defined`)
      registration = registerQueue(name, definition)
      registrations.set(name, registration)
    }
    return registration
  }

  async function registerQueue(name: string, { handler, options: queueOptions }: Definition): Promise<void> {
    const policy = queueOptions.policy ?? 'standard'
    const retryBackoff = queueOptions.retryBackoff ?? false
    // Every option is sent explicitly, so removing one from define() restores its default on the next start.
    const settings = {
      retryLimit: queueOptions.retryLimit ?? 2,
      retryDelay: queueOptions.retryDelaySeconds ?? (retryBackoff ? 1 : 0),
      retryBackoff,
      notify: true,
    }
    // createQueue leaves an existing queue as it is, hence the update.
    await boss.createQueue(name, { ...settings, policy })
    const existing = await boss.getQueue(name)
    if (existing && existing.policy !== policy) {
      throw new Error(`job queue ${name} exists with policy ${existing.policy}, not ${policy}; a policy cannot change, so use a new queue name`)
    }
    await boss.updateQueue(name, settings)
    await boss.work(
      name,
      {
        batchSize: queueOptions.batchSize ?? 1,
        localConcurrency: queueOptions.localConcurrency ?? 1,
        burstWhenBatchFull: queueOptions.burstWhenBatchFull ?? false,
        pollingIntervalSeconds,
        // NOTIFY only announces new jobs; due ones are still found by polling, so the relaxed 30 s default would defer them.
        notifyPollingIntervalSeconds: pollingIntervalSeconds,
        includeMetadata: true,
        perJobResults: true,
      },
      (jobs: JobWithMetadata<unknown>[]) => Promise.all(jobs.map((job) => runJob(name, handler, job))),
    )
  }

  async function runJob(name: string, handler: JobHandler<unknown>, job: JobWithMetadata<unknown>): Promise<JobResult> {
    try {
      await handler(job.data, { id: job.id, retryCount: job.retryCount, signal: job.signal })
      return { id: job.id, status: 'completed' }
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error))
      const final = job.retryCount >= job.retryLimit
      log[final ? 'error' : 'warn']({ err, queue: name, jobId: job.id, retryCount: job.retryCount }, final ? 'job failed, no retries left' : 'job failed, will retry')
      return { id: job.id, status: 'failed', output: { name: err.name, message: err.message, stack: err.stack } }
    }
  }

  async function ready(name?: string): Promise<void> {
    if (starting) await starting
    if (!started) throw new Error('the job queue is not started')
    if (name && definitions.has(name)) await register(name)
  }

  return {
    start() {
      if (started) return Promise.resolve()
      if (starting) return starting
      const pglite = handle.pglite
      if (pglite && pglitesInUse.has(pglite)) return Promise.reject(new Error('a job queue is already running on this PGlite database; use one per process'))
      if (pglite) pglitesInUse.add(pglite)
      starting = (async () => {
        try {
          await boss.start()
          started = true
          await Promise.all([...definitions.keys()].map(register))
          log.info({ driver: handle.driver, queues: [...definitions.keys()], pollingIntervalSeconds }, 'job queue started')
        } catch (error) {
          // pg-boss's stop() is what clears the timers and pool a half-done start() left behind.
          started = false
          registrations.clear()
          await boss.stop({ graceful: false }).catch(() => undefined)
          if (pglite) pglitesInUse.delete(pglite)
          throw error
        } finally {
          starting = undefined
        }
      })()
      return starting
    },

    async stop({ graceful = true, timeoutMs = 30_000 } = {}) {
      if (starting) await starting.catch(() => undefined)
      if (!started) return
      started = false
      await Promise.allSettled(registrations.values())
      registrations.clear()
      await boss.stop({ graceful, timeout: timeoutMs, close: true })
      if (handle.pglite) pglitesInUse.delete(handle.pglite)
      log.info('job queue stopped')
    },

    define(name, handler, queueOptions = {}) {
      if (definitions.has(name)) throw new Error(`job queue ${name} is already defined`)
      definitions.set(name, { handler: handler as JobHandler<unknown>, options: queueOptions })
      if (started) register(name).catch((err) => log.error({ err, queue: name }, 'job queue registration failed'))
    },

    async send(name, data, sendOptions = {}) {
      await ready(name)
      return boss.send(name, data as object | null, sendOptions)
    },

    async cancel(name, id) {
      await ready()
      await boss.cancel(name, id)
    },

    async getJob(name, id) {
      await ready()
      const [job] = await boss.findJobs<unknown>(name, { id })
      return job ? { id: job.id, state: job.state, startAfter: job.startAfter, retryCount: job.retryCount } : null
    },
  }
}

function connectionOf(handle: DatabaseHandle): ConstructorOptions {
  if (handle.driver === 'pglite') {
    if (!handle.pglite) throw new Error('this PGlite handle does not expose its instance')
    return { db: fromPglite(handle.pglite), backend: 'pglite' }
  }
  if (!handle.url) throw new Error('this Postgres handle does not expose its connection string')
  return { connectionString: handle.url, max: 5, application_name: 'worken-jobs' }
}
