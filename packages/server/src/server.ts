import { ManualProvider, StripeProvider } from './modules/billing/index.ts'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { createApp } from './app.ts'
import { bootstrap, type BootstrapResult } from './modules/projects/bootstrap.ts'
import { ConfigError, internalListenerProblem, type Config } from './config.ts'
import { openDatabase, type DatabaseHandle } from './platform/db/client.ts'
import { lockDataDir } from './platform/db/data-dir-lock.ts'
import { serveHttp, type RequestTimeouts } from './platform/http/listener.ts'
import { WITHOUT_VECTOR, migrate, vectorEnabled, type MigrationResult } from './platform/db/migrate.ts'
import { createServices, type Services } from './services.ts'
import { SecretBox, dataDirKey } from './platform/crypto/secrets.ts'
import { WebhookSender } from './modules/webhooks/sender.ts'
import { ChannelSender, TelegramConnector, releaseChannelClaims, telegramOutbound } from './modules/integrations/index.ts'

export type RunningServer = {
  publicUrl: string
  internalUrl: string
  services: Services
  bootstrapped: BootstrapResult | null
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes the database. */
  close(): Promise<void>
}

export type StartOptions = {
  /**
   * This process is one of a cluster's workers (`WORKEN_PROCESSES` > 1, src/cluster.ts): its
   * primary applied the migrations before forking it, and says "listening" once every worker does;
   * a worker says "worker listening".
   */
  worker?: boolean
}

export async function startServer(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningServer> {
  // loadConfig refuses this already; a Config built another way must not get past it either.
  const internalProblem = internalListenerProblem(config.internalHost, config.internalToken)
  if (internalProblem) throw new ConfigError(internalProblem)
  const releaseDataDir = config.databaseUrl ? () => {} : await lockDataDir(config.dataDir)
  let database: DatabaseHandle
  try {
    database = config.databaseUrl
      ? await openDatabase({ driver: 'postgres', url: config.databaseUrl, directUrl: config.databaseDirectUrl, poolSize: config.databasePoolSize, onError: (err) => logger.error({ err }, 'database connection error') })
      : await openDatabase({ driver: 'pglite', dataDir: config.dataDir, onError: (err) => logger.error({ err }, 'the embedded database stopped') })
  } catch (error) {
    releaseDataDir()
    throw error
  }
  logger.info({ driver: database.driver, ...(database.driver === 'pglite' ? { dataDir: config.dataDir } : {}) }, 'database opened')

  const migration: MigrationResult = options.worker ? { applied: [], vector: await vectorEnabled(database) } : await migrate(database, (message) => logger.warn(message))
  if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'migrations applied')
  // A cluster's primary said so once, for all of its workers.
  if (!migration.vector && !options.worker) logger.warn(WITHOUT_VECTOR)

  const secrets = new SecretBox(config.encryptionKeys ?? [dataDirKey(config.dataDir)])
  const services = createServices(database, logger, {
    secrets,
    fileMaxBytes: config.fileMaxBytes,
    webhooksAllowPrivate: config.webhooks.allowPrivate,
    providers: config.providers,
    streamKeepaliveMs: config.streamKeepaliveMs,
    eventsMaxBufferBytes: config.eventsMaxBufferBytes,
    eventsMaxStreamsPerKey: config.eventsMaxStreamsPerKey,
    integrations: { apiUrls: config.vendorApiUrls, publicUrl: config.publicUrl },
    eventsPollMs: config.eventsPollMs,
    billing: {
      ...config.billing,
      provider: config.billing.payments.provider === 'stripe' ? new StripeProvider(config.billing.payments) : new ManualProvider(config.billing.payments.manualUrl),
    },
    // The plan of each organization is its billing account's tariff (the ledger's).
    rateLimits: {},
    workers: { embeddingModel: config.embeddingModel, vector: migration.vector, pollingIntervalSeconds: config.jobPollSeconds, indexingLeaseMs: config.indexingLeaseSeconds * 1000, owedReplies: { leaseMs: config.replyLeaseSeconds * 1000, sweepMs: Math.min(5000, config.replyLeaseSeconds * 500) } },
  })
  await services.apiKeys.start()
  await services.events.start()
  const jobs = services.workers
  if (!jobs) throw new Error('services were built without workers')
  await jobs.start()
  await services.operators.recoverOverdue(logger)
  const webhookSender = new WebhookSender(database, services.webhooks, logger, {
    concurrency: config.webhooks.concurrency,
    pollMs: config.webhooks.pollMs,
    timeoutMs: config.webhooks.timeoutMs,
    leaseMs: config.webhooks.timeoutMs * 2 + 5000,
    random: Math.random,
  })
  await webhookSender.start()
  // Channels: the sender of what the outbox queued for them, and the Telegram bots' webhooks or pollers.
  // A database only this process opens (PGlite) has no other live holder of a claim: take them at once.
  if (database.driver === 'pglite') await releaseChannelClaims(database)
  const channelSender = new ChannelSender(database, services.integrations, services.outbox, logger, [telegramOutbound], { pollMs: 250, concurrency: 16, leaseMs: 60_000, maxAttempts: 8 })
  await channelSender.start()
  const telegram = new TelegramConnector(database, services.integrations, services.channelInbound, logger, { publicUrl: config.publicUrl, reconcileMs: 5000, pollTimeoutSeconds: 25, leaseMs: 15_000 })
  await telegram.start()
  const inboundSweep = setInterval(() => void services.channelInbound.sweep().catch((error: unknown) => logger.warn({ err: error }, 'the channel update sweep failed')), 10_000)
  inboundSweep.unref()
  if (config.webhooks.allowPrivate) logger.warn('WORKEN_WEBHOOKS_ALLOW_PRIVATE is on: webhooks may reach loopback and private addresses over plain http')
  logger.info({ embeddingModel: config.embeddingModel, semanticRecall: migration.vector, modelProviders: services.models.configuredProviders() }, 'agent ready')

  const common = { services, logger, bodyLimit: config.bodyLimit }
  const publicApp = createApp({ ...common, kind: 'public', corsOrigins: config.corsOrigins })
  const internalApp = createApp({ ...common, kind: 'internal', internalToken: config.internalToken })
  const servers: Server[] = []

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      const draining = Promise.all(servers.map((server) => drain(server, config.shutdownTimeoutMs)))
      // Event streams never end by themselves: end them (clients resume elsewhere with
      // Last-Event-ID) once no new connection can come in, or the drain waits for its timeout.
      await services.events.stop()
      await draining
      await webhookSender.stop(config.shutdownTimeoutMs)
      clearInterval(inboundSweep)
      await telegram.stop()
      await services.channelInbound.drain()
      await channelSender.stop(config.shutdownTimeoutMs)
      await jobs.stop({ graceful: true, timeoutMs: config.shutdownTimeoutMs })
      await services.apiKeys.flush()
      await database.close()
      releaseDataDir()
      logger.info('stopped')
    })()
    return closing
  }

  let bootstrapped: BootstrapResult | null
  try {
    // Both ports are bound before the first start's bootstrap commits its one-time
    // key: a port in use must stop the start while the key does not exist yet, not
    // after it was stored and never shown (later starts see a non-empty database).
    servers.push(await listen(publicApp.fetch, config.port, config.host, config.requestTimeouts, { port: 'PORT', host: 'HOST' }))
    servers.push(await listen(internalApp.fetch, config.internalPort, config.internalHost, config.requestTimeouts, { port: 'INTERNAL_PORT', host: 'INTERNAL_HOST' }))
    bootstrapped = await bootstrap(database.db, services.apiKeys, { apiKey: config.bootstrapApiKey })
  } catch (error) {
    await close().catch((closeError: unknown) => logger.error({ err: closeError }, 'cleanup after a failed start failed'))
    throw error
  }
  const [publicServer, internalServer] = servers as [Server, Server]
  const publicUrl = urlOf(publicServer, config.host)
  const internalUrl = urlOf(internalServer, config.internalHost)
  if (bootstrapped) {
    printBootstrapBanner(bootstrapped, {
      publicUrl,
      internalUrl,
      keyChosen: config.bootstrapApiKey !== undefined,
      internalTokenNeeded: config.internalToken !== undefined,
    })
  }
  logger.info({ publicUrl, internalUrl, internalAuth: config.internalToken ? 'headers + token' : 'headers' }, options.worker ? 'worker listening' : 'listening')

  return { publicUrl, internalUrl, services, bootstrapped, close }
}

/** Binds one listener; an address that cannot be had is an error naming it and the variables that set it. */
function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, hostname: string, timeouts: RequestTimeouts, variables: { port: string; host: string }): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serveHttp(fetch, { port, hostname, timeouts }, () => resolve(server))
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`
      const problem =
        error.code === 'EADDRINUSE' ? `Port ${port} (${variables.port}) on ${hostname} is already in use. Stop what holds it, or set ${variables.port} to another port (0 picks a free one).`
        : error.code === 'EACCES' ? `Port ${port} (${variables.port}) on ${hostname} needs privileges this user lacks. Set ${variables.port} to a port above 1023.`
        : error.code === 'EADDRNOTAVAIL' ? `${hostname} (${variables.host}) is not an address of this machine. Set ${variables.host} to one of its addresses, e.g. 127.0.0.1 or 0.0.0.0.`
        : `Cannot listen on ${where}: ${error.message}`
      reject(new Error(problem, { cause: error }))
    })
  })
}

function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shownHost}:${port}`
}

/** Stops accepting connections and waits for open requests; cuts what is left after the timeout. */
function drain(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs)
    timer.unref()
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
  })
}

/**
 * The first start's words to the operator. A key the server generated is shown, once: it exists
 * nowhere else. A key the operator chose (WORKEN_BOOTSTRAP_API_KEY) is not: they have it, and
 * this output goes to terminals and log collectors. The internal API's ids are shown: the
 * listener is on loopback (only this machine reaches it) or a token guards it (the ids alone
 * open nothing); startServer refuses anything else before it gets here.
 */
function printBootstrapBanner(
  result: BootstrapResult,
  options: { publicUrl: string; internalUrl: string; keyChosen: boolean; internalTokenNeeded: boolean },
): void {
  const keyLines = options.keyChosen
    ? ['  Worken is set up. The API key from WORKEN_BOOTSTRAP_API_KEY was stored as the first key (it is not shown here).', '']
    : ['  Worken is set up. This API key is shown once; store it now:', '', `    ${result.apiKey}`, '']
  const lines = [
    '',
    ...keyLines,
    '  Try it:',
    `    curl ${options.publicUrl}/bots -H "Authorization: Bearer ${options.keyChosen ? '$WORKEN_BOOTSTRAP_API_KEY' : result.apiKey}"`,
    '',
    `  Internal API (${options.internalUrl}): Worken-Organization: ${result.organizationId}`,
    `    Worken-Project: ${result.projectId}   Worken-User: ${result.userId}`,
    ...(options.internalTokenNeeded ? ['    with Authorization: Bearer $WORKEN_INTERNAL_TOKEN'] : []),
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}
