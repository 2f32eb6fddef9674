import { registerHooks } from 'node:module'
import pino from 'pino'
import { ConfigError, loadConfig } from './config.ts'

// The workspace packages the server imports (@worken/mcp) are TypeScript in this repository, found
// through their `worken:source` export condition. `npm start` passes `--conditions=worken:source`;
// this makes a plain `node packages/server/src/main.ts` resolve them the same way. Static imports
// run before this line, so none of them may reach a workspace package: server.ts is imported below.
registerHooks({
  resolve: (specifier, context, nextResolve) =>
    nextResolve(specifier, context.conditions.includes('worken:source') ? context : { ...context, conditions: [...context.conditions, 'worken:source'] }),
})

let config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

// The server's modules load once the configuration is known to be good: a bad variable is reported at once.
const { startServer } = await import('./server.ts')

// Synchronous writes keep log lines and the start-up banner in order, and lose nothing on exit.
const logger = pino(
  { level: config.logLevel, base: { service: 'worken' }, redact: ['req.headers.authorization'] },
  pino.destination({ sync: true }),
)

// Signal handlers go in before the start, so a SIGTERM that arrives while the server starts
// (a supervisor giving up, a deploy rolling on) still ends it cleanly once it has started,
// rather than killing it by the default action halfway through a migration.
let server: Awaited<ReturnType<typeof startServer>> | undefined
let stopping: NodeJS.Signals | undefined
let signals = 0
const shutDown = (signal: NodeJS.Signals) => {
  logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
  server!.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed')
      process.exit(1)
    },
  )
}
const onSignal = (signal: NodeJS.Signals) => {
  signals += 1
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now')
    process.exit(1)
  }
  if (server) shutDown(signal)
  else {
    stopping = signal
    logger.info({ signal }, 'stopping once the start-up has finished')
  }
}
process.on('SIGTERM', onSignal)
process.on('SIGINT', onSignal)

try {
  server = await startServer(config, logger)
  if (stopping) shutDown(stopping)
} catch (error) {
  logger.fatal({ err: error }, 'start-up failed')
  // Also as plain text: the reason must not hide in a JSON line among the others.
  process.stderr.write(`\nWorken did not start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
