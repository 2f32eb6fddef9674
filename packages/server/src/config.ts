import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { z } from 'zod'
import { parseEncryptionKeys } from './platform/crypto/secrets.ts'
import type { CompatibleProvider, ProviderConfig } from './modules/agent/index.ts'
import { INTEGRATION_VENDORS, apiUrlVariable, vendorApiUrl, type IntegrationVendor } from './modules/integrations/vendors/index.ts'
import type { RequestTimeouts } from './platform/http/listener.ts'
import { DEFAULT_PRICES, TARIFFS, loadOffers, OffersConfigError, parsePriceTable, type OfferCatalog, type PriceTable, type Tariff } from './modules/billing/index.ts'

const port = z.coerce.number().int().min(0).max(65535)
const apiKey = z.string().regex(/^sk-[0-9a-f]{32,128}$/, 'must look like sk-<32 to 128 lowercase hex characters>')

/**
 * `WORKEN_CORS_ORIGINS`: `*`, or exact origins separated by commas. Each must be
 * what a browser sends in `Origin` (`https://app.example.test`, `http://localhost:5173`):
 * the header is compared as a string, so a path, a trailing slash or upper case would
 * silently never match; refusing them at start-up is kinder.
 */
function parseCorsOrigins(value: string, context: z.RefinementCtx): string[] {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean)
  if (items.includes('*')) {
    if (items.length > 1) context.addIssue({ code: 'custom', message: "'*' allows every origin and cannot be combined with others" })
    return ['*']
  }
  for (const item of items) {
    let origin: string | undefined
    try {
      const url = new URL(item)
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin
    } catch {}
    if (origin !== item) context.addIssue({ code: 'custom', message: `'${item}' is not an origin: scheme://host[:port] as the browser sends it, lower case, no path or trailing slash${origin ? ` (did you mean '${origin}'?)` : ''}` })
  }
  return items
}

/**
 * Whether a listener on `host` is reachable from this machine only: `localhost` (any case),
 * IPv4 127.0.0.0/8, `::1` in any spelling, `::ffff:127.x.y.z`. Not `0.0.0.0` or `::` (every
 * interface), nor any other address or host name (a name may resolve to anything).
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  if (net.isIPv4(host)) return host.split('.')[0] === '127'
  if (!net.isIPv6(host)) return false
  const loopback = new net.BlockList()
  loopback.addAddress('::1', 'ipv6')
  loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')
  return loopback.check(host, 'ipv6')
}

/**
 * The internal API trusts its `Worken-*` headers: off loopback, a listener without
 * WORKEN_INTERNAL_TOKEN would let anyone who reaches it act as any user. Null when safe.
 */
export function internalListenerProblem(host: string, token: string | undefined): string | null {
  if (token !== undefined || isLoopbackHost(host)) return null
  return `INTERNAL_HOST: '${host}' is not a loopback address, and the internal API trusts its Worken-* headers: without a token, anyone who reaches it acts as any user of any organization. ` +
    'Set WORKEN_INTERNAL_TOKEN (16+ characters, e.g. from: openssl rand -hex 32) and send it as Authorization: Bearer <token>, or set INTERNAL_HOST to a loopback address (127.0.0.1, ::1, localhost).'
}

/**
 * Every environment variable the server reads, in one schema. The README's
 * configuration table mirrors this list; keep them in step.
 */
const ConfigSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  INTERNAL_PORT: port.default(8081),
  INTERNAL_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  // A session to the same database, for what a transaction-mode pooler at DATABASE_URL cannot carry (docs/scaling.md).
  DATABASE_DIRECT_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  WORKEN_PROCESSES: z.string().regex(/^(auto|[1-9][0-9]{0,3})$/, "must be a whole number from 1 to 9999, or 'auto' (one per CPU)").default('1'),
  WORKEN_DATA_DIR: z.string().min(1).default('./.worken'),
  WORKEN_BOOTSTRAP_API_KEY: apiKey.optional(),
  WORKEN_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WORKEN_BODY_LIMIT: z.coerce.number().int().min(1024).default(1024 * 1024),
  WORKEN_FILE_MAX_BYTES: z.coerce.number().int().min(1024).max(2 * 1024 * 1024 * 1024).default(50 * 1024 * 1024),
  WORKEN_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  WORKEN_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  WORKEN_REQUEST_TIMEOUT_MS: z.coerce.number().int().refine((value) => value === 0 || value >= 100, 'must be 0 (no limit) or at least 100').default(300_000),
  WORKEN_BODY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  WORKEN_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  OPENROUTER_API_KEY: z.string().min(1).optional(),
  OPENROUTER_BASE_URL: z.url().optional(),
  WORKEN_EMBEDDING_MODEL: z.string().regex(/^[a-z0-9][a-z0-9._-]*\/\S+$/, 'must look like provider/model').optional(),
  WORKEN_JOB_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(2),
  WORKEN_INDEXING_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  WORKEN_REPLY_LEASE_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  WORKEN_STREAM_KEEPALIVE_MS: z.coerce.number().int().min(100).default(15_000),
  WORKEN_EVENTS_MAX_BUFFER_BYTES: z.coerce.number().int().min(16 * 1024).default(1024 * 1024),
  WORKEN_EVENTS_MAX_STREAMS_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(100),
  WORKEN_ENCRYPTION_KEY: z.string().optional(),
  WORKEN_WEBHOOKS_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1').default(false),
  WORKEN_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  WORKEN_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  WORKEN_WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  WORKEN_EVENTS_POLL_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  WORKEN_CORS_ORIGINS: z.string().transform(parseCorsOrigins).optional(),
  WORKEN_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Unlimited by default: a self-hoster's own server should not throttle its owner (docs/rate-limits.md).
  WORKEN_DEFAULT_TARIFF: z.enum(TARIFFS).default('enterprise'),
  WORKEN_PRICES_FILE: z.string().min(1).optional(),
  WORKEN_BILLING_LOW_BALANCE: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(100),
  WORKEN_BILLING_PROVIDER: z.enum(['manual', 'stripe']).default('manual'),
  WORKEN_BILLING_OFFERS_FILE: z.string().min(1).optional(),
  WORKEN_BILLING_RETURN_URL: z.url({ protocol: /^https?$/ }).optional(),
  WORKEN_BILLING_MANUAL_URL: z.url({ protocol: /^(https?|mailto)$/ }).optional(),
  WORKEN_STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_\w+$/, 'must be a Stripe secret key (sk_test_…, sk_live_…)').optional(),
  WORKEN_STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_\w+$/, 'must be a webhook signing secret (whsec_…)').optional(),
  WORKEN_STRIPE_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.stripe.com'),
  // WORKEN_<VENDOR>_API_URL: each integration vendor's API root (docs/integrations.md); tests point them at local doubles.
  // Checked by the vendors' own `vendorApiUrl` (amoCRM's and Bitrix24's may keep their {subdomain}/{domain} placeholder).
  ...Object.fromEntries(INTEGRATION_VENDORS.map((vendor) => [apiUrlVariable(vendor), z.string().superRefine((value, context) => {
    try {
      vendorApiUrl(vendor, { [apiUrlVariable(vendor)]: value })
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message })
    }
  }).optional()])),
})

/** The variables of the schema, for the test that keeps the README's configuration table in step. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(ConfigSchema.shape)

/** An OpenAI-compatible endpoint declared as WORKEN_PROVIDER_<NAME>_BASE_URL (+ optional _API_KEY). */
export type { CompatibleProvider, ProviderConfig }

const PROVIDER_VARIABLE = /^WORKEN_PROVIDER_([A-Z0-9_]+)_(BASE_URL|API_KEY)$/
const BUILT_IN_PROVIDERS = new Set(['openai', 'anthropic', 'openrouter', 'local'])

/** Collects WORKEN_PROVIDER_<NAME>_BASE_URL/_API_KEY pairs; the name becomes the model-id prefix (`ollama/llama3`). */
function readCompatibleProviders(env: Record<string, string>): { providers: CompatibleProvider[]; problems: string[] } {
  const byName = new Map<string, { baseUrl?: string; apiKey?: string }>()
  for (const [variable, value] of Object.entries(env)) {
    const match = PROVIDER_VARIABLE.exec(variable)
    if (!match) continue
    const name = match[1]!.toLowerCase().replaceAll('_', '-')
    const entry = byName.get(name) ?? {}
    if (match[2] === 'BASE_URL') entry.baseUrl = value
    else entry.apiKey = value
    byName.set(name, entry)
  }
  const providers: CompatibleProvider[] = []
  const problems: string[] = []
  for (const [name, entry] of byName) {
    const variable = `WORKEN_PROVIDER_${name.toUpperCase().replaceAll('-', '_')}_BASE_URL`
    if (BUILT_IN_PROVIDERS.has(name)) problems.push(`${variable}: '${name}' is a built-in provider name; choose another`)
    else if (!entry.baseUrl) problems.push(`${variable}: is required when an API key is set for '${name}'`)
    else if (!z.url({ protocol: /^https?$/ }).safeParse(entry.baseUrl).success) problems.push(`${variable}: must be an http(s) URL`)
    else providers.push({ name, baseUrl: entry.baseUrl, apiKey: entry.apiKey })
  }
  return { providers, problems }
}

export type Config = {
  port: number
  host: string
  internalPort: number
  internalHost: string
  databaseUrl: string | undefined
  databasePoolSize: number
  /** A direct session to the database when DATABASE_URL is a transaction-mode pooler: LISTEN, migrations, pg-boss. */
  databaseDirectUrl: string | undefined
  /**
   * Server processes on this machine (docs/scaling.md): 1 is one process; more is a primary that
   * migrates and forks that many workers. `auto` asked for one per CPU (one on PGlite).
   */
  processes: { count: number; auto: boolean }
  dataDir: string
  bootstrapApiKey: string | undefined
  internalToken: string | undefined
  bodyLimit: number
  fileMaxBytes: number
  shutdownTimeoutMs: number
  /** How long a client may take to send a request, on both listeners (see listener.ts). */
  requestTimeouts: RequestTimeouts
  logLevel: z.infer<typeof ConfigSchema>['LOG_LEVEL']
  providers: ProviderConfig
  /** `provider/model` for embeddings; the embedded lexical embedder when unset. */
  embeddingModel: string
  jobPollSeconds: number
  /** How long an indexing claim holds without renewal: how soon another process takes over a crashed one's file. */
  indexingLeaseSeconds: number
  /** How long a reply's claim holds without renewal: how soon another process answers for a crashed one (Postgres). */
  replyLeaseSeconds: number
  streamKeepaliveMs: number
  /** Unread bytes after which an SSE event stream is cut. */
  eventsMaxBufferBytes: number
  /** Concurrent event streams one API key (or internal user) may hold per process; 429 past it. */
  eventsMaxStreamsPerKey: number
  /** Safety poll of the event feeds, for notifications lost while LISTEN reconnects. */
  eventsPollMs: number
  /** From WORKEN_ENCRYPTION_KEY (first encrypts, all decrypt); undefined: the data directory's key (PGlite only). */
  encryptionKeys: Buffer[] | undefined
  webhooks: { allowPrivate: boolean; timeoutMs: number; concurrency: number; pollMs: number }
  /** Origins whose browser pages may call the public API: `['*']` for any, empty for none (no CORS headers). */
  corsOrigins: string[]
  /** Where vendors can reach this server (Telegram's webhook); unset: Telegram bots long-poll. */
  publicUrl: string | undefined
  /** The tariff of a new organization, the price table of replies, and the low-balance threshold (docs/billing.md). */
  billing: {
    defaultTariff: Tariff
    prices: PriceTable
    lowBalanceThreshold: number
    /** Who takes payment for invoices, and how to reach it. */
    payments: { provider: 'manual'; manualUrl: string | undefined } | { provider: 'stripe'; secretKey: string; webhookSecret: string; apiUrl: string }
    offers: OfferCatalog
    returnUrl: string | null
  }
  /** `WORKEN_<VENDOR>_API_URL` values that are set, by vendor. */
  vendorApiUrls: Partial<Record<IntegrationVendor, string>>
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads the environment once. A bad value throws a ConfigError naming the variable.
 * `requireEncryptionKey: false` is for tools that touch no secret (`worken keys create`), and
 * `listens: false` for tools that open no listener (the internal listener's rule is not theirs).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: { requireEncryptionKey?: boolean; listens?: boolean } = {}): Config {
  // An empty variable means "not set", as in most twelve-factor tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''))
  const parsed = ConfigSchema.safeParse(present)
  const compatible = readCompatibleProviders(present as Record<string, string>)
  if (!parsed.success || compatible.problems.length > 0) {
    const problems = [...(parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? []), ...compatible.problems]
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const c = parsed.data
  if (c.WORKEN_REQUEST_TIMEOUT_MS !== 0 && c.WORKEN_HEADERS_TIMEOUT_MS > c.WORKEN_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('Invalid configuration:\n  WORKEN_HEADERS_TIMEOUT_MS: must not be longer than WORKEN_REQUEST_TIMEOUT_MS (the headers are part of the request)')
  }
  const internalProblem = options.listens === false ? null : internalListenerProblem(c.INTERNAL_HOST, c.WORKEN_INTERNAL_TOKEN)
  if (internalProblem) throw new ConfigError(`Invalid configuration:\n  ${internalProblem}`)
  const keys = c.WORKEN_ENCRYPTION_KEY === undefined ? undefined : parseEncryptionKeys(c.WORKEN_ENCRYPTION_KEY)
  if (keys && 'problem' in keys) throw new ConfigError(`Invalid configuration:\n  WORKEN_ENCRYPTION_KEY: ${keys.problem}`)
  if (c.DATABASE_DIRECT_URL && !c.DATABASE_URL) {
    throw new ConfigError('Invalid configuration:\n  DATABASE_DIRECT_URL: is only read with DATABASE_URL (the pooler it bypasses); set DATABASE_URL too, or unset it')
  }
  const processes = processCount(c.WORKEN_PROCESSES, c.DATABASE_URL !== undefined)
  if (processes.count > 1 && !c.DATABASE_URL && options.listens !== false) {
    throw new ConfigError(
      `Invalid configuration:\n  WORKEN_PROCESSES: ${processes.count} server processes need PostgreSQL (DATABASE_URL): the embedded database belongs to the one process that opens its data directory. ` +
        "Set DATABASE_URL to run several, or WORKEN_PROCESSES=1 (or 'auto', which is one process on the embedded database).",
    )
  }
  if (!keys && c.DATABASE_URL && options.requireEncryptionKey !== false) {
    throw new ConfigError(
      'Invalid configuration:\n  WORKEN_ENCRYPTION_KEY: is required with DATABASE_URL (every server process must encrypt and decrypt secrets with the same key); generate one with: openssl rand -base64 32',
    )
  }
  // npm runs workspace scripts inside the package folder; resolve relative paths
  // against the folder the user ran npm from, so `./.worken` means what it says.
  const baseDir = env.INIT_CWD ?? process.cwd()
  return {
    port: c.PORT,
    host: c.HOST,
    internalPort: c.INTERNAL_PORT,
    internalHost: c.INTERNAL_HOST,
    databaseUrl: c.DATABASE_URL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    databaseDirectUrl: c.DATABASE_DIRECT_URL,
    processes,
    dataDir: path.resolve(baseDir, c.WORKEN_DATA_DIR),
    bootstrapApiKey: c.WORKEN_BOOTSTRAP_API_KEY,
    internalToken: c.WORKEN_INTERNAL_TOKEN,
    bodyLimit: c.WORKEN_BODY_LIMIT,
    fileMaxBytes: c.WORKEN_FILE_MAX_BYTES,
    shutdownTimeoutMs: c.WORKEN_SHUTDOWN_TIMEOUT_MS,
    requestTimeouts: { headersMs: c.WORKEN_HEADERS_TIMEOUT_MS, requestMs: c.WORKEN_REQUEST_TIMEOUT_MS, bodyIdleMs: c.WORKEN_BODY_IDLE_TIMEOUT_MS, keepAliveMs: c.WORKEN_KEEP_ALIVE_TIMEOUT_MS },
    logLevel: c.LOG_LEVEL,
    providers: {
      openai: c.OPENAI_API_KEY ? { apiKey: c.OPENAI_API_KEY, baseUrl: c.OPENAI_BASE_URL } : undefined,
      anthropic: c.ANTHROPIC_API_KEY ? { apiKey: c.ANTHROPIC_API_KEY, baseUrl: c.ANTHROPIC_BASE_URL } : undefined,
      openrouter: c.OPENROUTER_API_KEY ? { apiKey: c.OPENROUTER_API_KEY, baseUrl: c.OPENROUTER_BASE_URL } : undefined,
      compatible: compatible.providers,
    },
    embeddingModel: c.WORKEN_EMBEDDING_MODEL ?? 'local/lexical-v1',
    jobPollSeconds: c.WORKEN_JOB_POLL_SECONDS,
    indexingLeaseSeconds: c.WORKEN_INDEXING_LEASE_SECONDS,
    replyLeaseSeconds: c.WORKEN_REPLY_LEASE_SECONDS,
    streamKeepaliveMs: c.WORKEN_STREAM_KEEPALIVE_MS,
    eventsMaxBufferBytes: c.WORKEN_EVENTS_MAX_BUFFER_BYTES,
    eventsMaxStreamsPerKey: c.WORKEN_EVENTS_MAX_STREAMS_PER_KEY,
    eventsPollMs: c.WORKEN_EVENTS_POLL_MS,
    encryptionKeys: keys?.keys,
    webhooks: { allowPrivate: c.WORKEN_WEBHOOKS_ALLOW_PRIVATE, timeoutMs: c.WORKEN_WEBHOOK_TIMEOUT_MS, concurrency: c.WORKEN_WEBHOOK_CONCURRENCY, pollMs: c.WORKEN_WEBHOOK_POLL_MS },
    corsOrigins: c.WORKEN_CORS_ORIGINS ?? [],
    publicUrl: c.WORKEN_PUBLIC_URL?.replace(/\/+$/, ''),
    billing: {
      defaultTariff: c.WORKEN_DEFAULT_TARIFF,
      prices: c.WORKEN_PRICES_FILE === undefined ? DEFAULT_PRICES : readPriceFile(path.resolve(baseDir, c.WORKEN_PRICES_FILE)),
      lowBalanceThreshold: c.WORKEN_BILLING_LOW_BALANCE,
      payments: paymentsOf(c),
      offers: readOffers(c.WORKEN_BILLING_OFFERS_FILE === undefined ? undefined : path.resolve(baseDir, c.WORKEN_BILLING_OFFERS_FILE)),
      returnUrl: c.WORKEN_BILLING_RETURN_URL ?? c.WORKEN_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    },
    vendorApiUrls: Object.fromEntries(INTEGRATION_VENDORS.flatMap((vendor) => (present[apiUrlVariable(vendor)] === undefined ? [] : [[vendor, vendorApiUrl(vendor, present)]]))),
  }
}

/** WORKEN_PROCESSES as a count: `auto` is one per CPU on Postgres, and one on the embedded database (which one process owns). */
function processCount(value: string, postgres: boolean): Config['processes'] {
  if (value !== 'auto') return { count: Number(value), auto: false }
  return { count: postgres ? os.availableParallelism() : 1, auto: true }
}

/** The payment provider's settings; Stripe needs both of its secrets, or the start stops naming the missing one. */
function paymentsOf(c: { WORKEN_BILLING_PROVIDER: 'manual' | 'stripe'; WORKEN_BILLING_MANUAL_URL?: string | undefined; WORKEN_STRIPE_SECRET_KEY?: string | undefined; WORKEN_STRIPE_WEBHOOK_SECRET?: string | undefined; WORKEN_STRIPE_API_URL: string }): Config['billing']['payments'] {
  if (c.WORKEN_BILLING_PROVIDER === 'manual') return { provider: 'manual', manualUrl: c.WORKEN_BILLING_MANUAL_URL }
  const missing = (['WORKEN_STRIPE_SECRET_KEY', 'WORKEN_STRIPE_WEBHOOK_SECRET'] as const).filter((name) => !c[name])
  if (missing.length > 0) throw new ConfigError(`Invalid configuration:\n  ${missing.join(', ')}: required with WORKEN_BILLING_PROVIDER=stripe`)
  return { provider: 'stripe', secretKey: c.WORKEN_STRIPE_SECRET_KEY!, webhookSecret: c.WORKEN_STRIPE_WEBHOOK_SECRET!, apiUrl: c.WORKEN_STRIPE_API_URL }
}

/** The offers in `WORKEN_BILLING_OFFERS_FILE` (the defaults without one); a bad file stops the start. */
function readOffers(file: string | undefined): OfferCatalog {
  try {
    return loadOffers(file)
  } catch (error) {
    if (error instanceof OffersConfigError) throw new ConfigError(`Invalid configuration:\n  ${error.message}`)
    throw error
  }
}

/** The price table in `WORKEN_PRICES_FILE`; a file that cannot be read or is not a price table stops the start. */
function readPriceFile(file: string): PriceTable {
  let json: unknown
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  WORKEN_PRICES_FILE: cannot read ${file} as JSON (${(error as Error).message})`)
  }
  const parsed = parsePriceTable(json)
  if ('problem' in parsed) throw new ConfigError(`Invalid configuration:\n  WORKEN_PRICES_FILE: ${parsed.problem}`)
  return parsed.table
}
