import cluster from 'node:cluster'
import { enableCompileCache, registerHooks } from 'node:module'
import pino, { type Logger } from 'pino'
import type { PrimaryMessage, WorkerMessage } from './cluster.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import type { RunningServer } from './server.ts'

// The workspace packages the server imports (@worken/mcp) are TypeScript in this repository, found
// through their `worken:source` export condition. `npm start` passes `--conditions=worken:source`;
// this makes a plain `node packages/server/src/main.ts` resolve them the same way. Static imports
// run before this line, so none of them may reach a workspace package: server.ts is imported below.
registerHooks({
  resolve: (specifier, context, nextResolve) =>
    nextResolve(specifier, context.conditions.includes('worken:source') ? context : { ...context, conditions: [...context.conditions, 'worken:source'] }),
})

// Node keeps the server's modules compiled (TypeScript stripped, V8's code cache) on disk, so a
// restart does not strip and compile the ~400 modules again (docs/performance.md, "Start-up").
// Its own switches apply: NODE_COMPILE_CACHE picks the directory (default: the OS's temporary
// directory), NODE_DISABLE_COMPILE_CACHE=1 turns it off. Best effort: a failure only costs time.
enableCompileCache()

let config: Config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

// Synchronous writes keep log lines and the start-up banner in order, and lose nothing on exit.
const logger = pino(
  { level: config.logLevel, base: { service: 'worken' }, redact: ['req.headers.authorization'] },
  pino.destination({ sync: true }),
)

if (cluster.isPrimary && config.processes.count > 1) {
  // Several processes (WORKEN_PROCESSES): this one migrates, forks the workers and serves nothing itself.
  const { runPrimary } = await import('./cluster.ts')
  await runPrimary(config, logger)
} else {
  if (config.processes.auto && !config.databaseUrl) {
    logger.info('WORKEN_PROCESSES=auto on the embedded database: one process (the data directory belongs to one); set DATABASE_URL to use every core')
  }
  // A worker's lines say which worker and process wrote them: its primary's and its siblings' share the output.
  await serve(config, cluster.isWorker ? logger.child({ worker: cluster.worker!.id, pid: process.pid }) : logger, cluster.isWorker)
}

/**
 * Runs the server in this process until a signal (or, in a cluster's worker, its primary) stops it.
 * A worker tells its primary when it listens, stops when the primary asks, and leaves
 * a second signal to the primary: Ctrl-C reaches every process of the terminal's group, so a worker
 * gets the signal its primary passes on as well.
 */
async function serve(config: Config, logger: Logger, worker: boolean): Promise<void> {
  // Signal handlers go in before the start, so a SIGTERM that arrives while the server starts
  // (a supervisor giving up, a deploy rolling on) still ends it cleanly once it has started,
  // rather than killing it by the default action halfway through a migration.
  let server: RunningServer | undefined
  let stopping: Record<string, string> | undefined
  let closing = false
  let signals = 0
  const shutDown = (why: Record<string, string>) => {
    if (closing) return
    closing = true
    logger.info(why, 'shutting down: no new connections, finishing in-flight requests')
    server!.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  const stop = (why: Record<string, string>) => {
    if (server) shutDown(why)
    else if (!stopping) {
      stopping = why
      logger.info(why, 'stopping once the start-up has finished')
    }
  }
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1
    if (signals > 1 && !worker) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stop({ signal })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  if (worker) {
    process.on('message', (message: PrimaryMessage) => {
      if (message?.worken === 'shutdown') stop({ by: 'primary' })
    })
  }

  try {
    // The server's modules load once the configuration is known to be good: a bad variable is reported at once.
    const { startServer } = await import('./server.ts')
    server = await startServer(config, logger, { worker })
    // Not to a primary that is gone (node:cluster ends a worker whose primary dies, but not in the same tick).
    if (worker && process.connected) process.send!({ worken: 'ready', publicUrl: server.publicUrl, internalUrl: server.internalUrl } satisfies WorkerMessage)
    if (stopping) shutDown(stopping)
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed')
    // Also as plain text: the reason must not hide in a JSON line among the others.
    process.stderr.write(`\nWorken did not start: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}
