import pino from 'pino'
import { ConfigError, loadConfig } from './config.ts'

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

try {
  const server = await startServer(config, logger)
  let signals = 0
  const stop = (signal: NodeJS.Signals) => {
    signals += 1
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} catch (error) {
  logger.fatal({ err: error }, 'start-up failed')
  // Also as plain text: the reason must not hide in a JSON line among the others.
  process.stderr.write(`\nWorken did not start: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
