import type { MiddlewareHandler } from 'hono'
import type { AppEnv, Principal } from './context.ts'
import { AppError } from '../errors.ts'

/**
 * What a route needs of its caller (docs/design.md, "Roles on the internal API"):
 * `member` (any member of the organization: reading the project and working its
 * conversations) or `admin` (an owner or an admin: API keys, projects and the
 * project's configuration). An API key holds its project's full authority, as the
 * spec has it: it passes both.
 */
export type Access = 'member' | 'admin'

/** The roles each access level admits. A role not listed (none can be) is refused. */
const ADMITS: Record<Access, ReadonlySet<Principal['role']>> = {
  member: new Set(['owner', 'admin', 'member', 'key']),
  admin: new Set(['owner', 'admin', 'key']),
}

const NEEDED: Record<Access, string> = { member: 'a member of the organization', admin: 'the owner or admin role' }

/**
 * A route's requirement, declared beside the route: spread it into `createRoute`.
 * The middleware runs after the listener's auth and before the request is validated
 * (a refused caller learns nothing of the route's schema); `x-worken-access` shows
 * the requirement in the OpenAPI document. A test checks that every route has one.
 */
export function access(level: Access) {
  return { 'x-worken-access': level, middleware: requireAccess(level) } as const
}

function requireAccess(level: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal')
    if (!ADMITS[level].has(principal.role)) {
      throw AppError.forbidden(`This needs ${NEEDED[level]} in organization '${principal.organizationId}'; this user's role is ${principal.role}`)
    }
    await next()
  }
}
