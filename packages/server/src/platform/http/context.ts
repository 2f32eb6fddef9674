import type { Logger } from 'pino'

/** Who is calling, as established by the listener's auth step. */
export type Principal = {
  organizationId: string
  projectId: string
  /** Set on the public API: the key that authenticated the request. */
  apiKeyId: string | null
  /** Set on the internal API: the `Worken-User` header. */
  userId: string | null
}

/**
 * What every request carries. `Services` is what a module's routes read with
 * `c.get('services')`: each module names only the services it uses, and the
 * composition root hands every router the one container built at start-up.
 */
export type AppEnv<Services = unknown> = {
  Variables: {
    requestId: string
    logger: Logger
    services: Services
    principal: Principal
  }
}
