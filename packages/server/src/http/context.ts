import type { Logger } from 'pino'
import type { Services } from '../services.ts'

/** Who is calling, as established by the listener's auth step. */
export type Principal = {
  organizationId: string
  projectId: string
  /** Set on the public API: the key that authenticated the request. */
  apiKeyId: string | null
  /** Set on the internal API: the `Worken-User` header. */
  userId: string | null
}

export type AppEnv = {
  Variables: {
    requestId: string
    logger: Logger
    services: Services
    principal: Principal
  }
}
