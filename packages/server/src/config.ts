import path from 'node:path'
import { z } from 'zod'

const port = z.coerce.number().int().min(0).max(65535)
const apiKey = z.string().regex(/^sk-[0-9a-f]{32,128}$/, 'must look like sk-<32 to 128 lowercase hex characters>')

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
  WORKEN_DATA_DIR: z.string().min(1).default('./.worken'),
  WORKEN_BOOTSTRAP_API_KEY: apiKey.optional(),
  WORKEN_INTERNAL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WORKEN_BODY_LIMIT: z.coerce.number().int().min(1024).default(1024 * 1024),
  WORKEN_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type Config = {
  port: number
  host: string
  internalPort: number
  internalHost: string
  databaseUrl: string | undefined
  databasePoolSize: number
  dataDir: string
  bootstrapApiKey: string | undefined
  internalToken: string | undefined
  bodyLimit: number
  shutdownTimeoutMs: number
  logLevel: z.infer<typeof ConfigSchema>['LOG_LEVEL']
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads the environment once. A bad value throws a ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most twelve-factor tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''))
  const parsed = ConfigSchema.safeParse(present)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const c = parsed.data
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
    dataDir: path.resolve(baseDir, c.WORKEN_DATA_DIR),
    bootstrapApiKey: c.WORKEN_BOOTSTRAP_API_KEY,
    internalToken: c.WORKEN_INTERNAL_TOKEN,
    bodyLimit: c.WORKEN_BODY_LIMIT,
    shutdownTimeoutMs: c.WORKEN_SHUTDOWN_TIMEOUT_MS,
    logLevel: c.LOG_LEVEL,
  }
}
