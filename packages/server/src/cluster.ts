import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { Config } from './config.ts'
import { openDatabase } from './platform/db/client.ts'
import { WITHOUT_VECTOR, migrate } from './platform/db/migrate.ts'

/** A worker to its primary, over the cluster's IPC channel: it listens (on the ports the workers share). */
export type WorkerMessage = { worken: 'ready'; publicUrl: string; internalUrl: string }
/** The primary to a worker: stop as on SIGTERM (drain, then exit). */
export type PrimaryMessage = { worken: 'shutdown' }

/** A worker that dies is replaced after 250 ms, doubled for each other death in the last minute, up to 30 s. */
const RESTART_FIRST_MS = 250
const RESTART_MAX_MS = 30_000
const RESTART_WINDOW_MS = 60_000

type Phase = 'migrating' | 'starting' | 'serving' | 'stopping'

/**
 * The primary of `WORKEN_PROCESSES` > 1 (Postgres only; docs/scaling.md). It applies the
 * migrations once, then forks `count` workers with node:cluster; each worker is a whole server
 * (main.ts → server.ts) on the same public and internal ports, which the primary accepts on and
 * hands out. The primary serves no request and opens no database connection once migrated.
 *
 * - It logs `listening` (with `processes` and the workers' pids) once every worker listens; each
 *   worker logs `worker listening`, and the one that bootstraps a new database prints the banner.
 * - A worker that fails before the first `listening` fails the start (exit 1), as one process would.
 *   One that dies later is replaced, with a backoff and a log line.
 * - SIGTERM or SIGINT: each worker drains as a lone server would, and the primary exits 0 when all
 *   have (1 if one did not stop cleanly). A second signal kills the workers and exits at once.
 */
export async function runPrimary(config: Config, baseLogger: Logger): Promise<void> {
  const logger = baseLogger.child({ primary: true, pid: process.pid })
  const count = config.processes.count
  const workers = new Map<Worker, { ready: boolean }>()
  const restarts = new Set<NodeJS.Timeout>()
  const deaths: number[] = []
  let phase: Phase = 'migrating'
  let stopRequested = false
  let failed = false
  let signals = 0

  const finishIfDone = () => {
    if (phase !== 'stopping' || workers.size > 0) return
    logger.info(failed ? 'stopped; a worker did not stop cleanly' : 'stopped')
    process.exit(failed ? 1 : 0)
  }
  const stopAll = () => {
    phase = 'stopping'
    for (const timer of restarts) clearTimeout(timer)
    restarts.clear()
    for (const worker of workers.keys()) {
      if (worker.isConnected()) worker.send({ worken: 'shutdown' } satisfies PrimaryMessage)
      else worker.process.kill('SIGTERM')
    }
    finishIfDone()
  }
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now')
      for (const worker of workers.keys()) worker.process.kill('SIGKILL')
      process.exit(1)
    }
    if (phase === 'migrating') {
      // Not halfway through a migration: it finishes, and no worker starts.
      stopRequested = true
      logger.info({ signal }, 'stopping once the migrations are done')
      return
    }
    logger.info({ signal, workers: workers.size }, 'shutting down: every worker stops taking connections and finishes its in-flight requests')
    stopAll()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)

  try {
    // One connection is all the migrations need; through DATABASE_DIRECT_URL when set, as their lock is a session's.
    const database = await openDatabase({ driver: 'postgres', url: config.databaseUrl!, directUrl: config.databaseDirectUrl, poolSize: 1, onError: (err) => logger.error({ err }, 'database connection error') })
    try {
      logger.info({ driver: database.driver }, 'database opened')
      const migration = await migrate(database, (message) => logger.warn(message))
      if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'migrations applied')
      if (!migration.vector) logger.warn(WITHOUT_VECTOR)
    } finally {
      await database.close()
    }
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed')
    process.stderr.write(`\nWorken did not start: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
  if (stopRequested) {
    logger.info('stopped')
    process.exit(0)
  }

  let urls: { publicUrl: string; internalUrl: string } | undefined
  const announce = () => {
    const ready = [...workers.entries()].filter(([, state]) => state.ready)
    if (phase !== 'starting' || ready.length < count) return
    phase = 'serving'
    logger.info({ ...urls!, internalAuth: config.internalToken ? 'headers + token' : 'headers', processes: count, pids: ready.map(([worker]) => worker.process.pid) }, 'listening')
  }
  const fork = () => {
    const worker = cluster.fork()
    workers.set(worker, { ready: false })
    worker.on('message', (message: WorkerMessage) => {
      if (message?.worken !== 'ready') return
      workers.get(worker)!.ready = true
      urls ??= { publicUrl: message.publicUrl, internalUrl: message.internalUrl }
      announce()
    })
    worker.on('exit', (code, signal) => onExit(worker, code, signal))
  }
  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    const state = workers.get(worker)
    workers.delete(worker)
    if (phase === 'stopping') {
      // One still starting may die of the Ctrl-C that reached the whole process group before its
      // handlers were in: it held no request. One that served must have stopped cleanly.
      if (state?.ready && code !== 0) failed = true
      finishIfDone()
      return
    }
    const who = { worker: worker.id, pid: worker.process.pid, code, signal }
    if (phase === 'starting' && !state?.ready) {
      // Its own lines (above) say why: a port in use, a database that does not answer, …
      logger.fatal(who, 'a worker process did not start')
      process.stderr.write(`\nWorken did not start: a worker process exited (${signal ?? `code ${code}`}) before it listened; its reason is above.\n`)
      failed = true
      stopAll()
      return
    }
    const now = Date.now()
    deaths.push(now)
    while (deaths[0]! < now - RESTART_WINDOW_MS) deaths.shift()
    const restartInMs = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (deaths.length - 1))
    logger.error({ ...who, restartInMs }, 'a worker process exited unexpectedly; starting another')
    const timer = setTimeout(() => {
      restarts.delete(timer)
      if (phase !== 'stopping') fork()
    }, restartInMs)
    restarts.add(timer)
  }

  phase = 'starting'
  logger.info({ processes: count }, 'starting worker processes')
  for (let i = 0; i < count; i++) fork()
}
