import type { Logger } from 'pino'

/** Who is calling, as established by the listener's auth step. */
export type Principal = {
  organizationId: string
  projectId: string
  /** Set on the public API: the key that authenticated the request. */
  apiKeyId: string | null
  /** Set on the internal API: the `Worken-User` header. */
  userId: string | null
  /**
   * What the caller may do (see `access.ts`): on the internal API, the user's role in the
   * organization, read on every request; on the public API `key`, a project's own credential.
   */
  role: 'owner' | 'admin' | 'member' | 'key'
  /**
   * Set when the request authenticated with an event-stream token (`?token=`, accepted on the
   * event streams only) rather than a key: the one thread it may read, or null for the project's.
   */
  streamToken?: { threadId: string | null }
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
