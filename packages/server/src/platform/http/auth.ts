import { timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { ID_PATTERN } from '../db/ids.ts'
import type { AppEnv, Principal } from './context.ts'
import { AppError } from '../errors.ts'

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer +(\S+) *$/i)
  return match?.[1] ?? null
}

/**
 * The public API: a project-scoped `sk-` key and nothing else. `Worken-*`
 * headers are never read here, so they cannot widen what a key reaches.
 */
export function publicAuth(authenticate: (apiKey: string) => Promise<Principal | null>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Already established by `streamTokenAuth`, which only the event-stream routes mount.
    if (c.get('principal')?.streamToken) return next()
    const token = bearerToken(c.req.header('authorization'))
    const principal = token ? await authenticate(token) : null
    if (!principal) throw AppError.unauthorized()
    c.set('principal', principal)
    await next()
  }
}

/**
 * The event streams' other credential: a browser's `EventSource` cannot send headers, so a
 * short-lived token minted with a key comes as `?token=`. Mounted on those routes only (the
 * app decides where), for GET and HEAD only, and only when no `Authorization` header is sent
 * (a key then wins, as everywhere). The `sk-` key itself is never read from a URL.
 */
export function streamTokenAuth(verify: (token: string) => Promise<Principal | null>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || c.req.header('authorization') !== undefined) return next()
    const token = c.req.query('token')
    if (token === undefined) return next()
    const principal = await verify(token)
    if (!principal?.streamToken) throw AppError.unauthorized()
    c.set('principal', principal)
    await next()
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * The internal API: trusted `Worken-Organization`, `Worken-Project` and
 * `Worken-User` headers, optionally behind a shared token. Missing headers are
 * 401; a user who is not a member of the organization, or a project outside
 * it, is 403.
 */
export function internalAuth(internalToken: string | undefined, resolveMember: (organizationId: string, projectId: string, userId: string) => Promise<Principal | null>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (internalToken !== undefined) {
      const token = bearerToken(c.req.header('authorization'))
      if (token === null || !sameSecret(token, internalToken)) throw AppError.unauthorized()
    }
    const organizationId = c.req.header('worken-organization')
    const projectId = c.req.header('worken-project')
    const userId = c.req.header('worken-user')
    if (!organizationId || !projectId || !userId) throw AppError.unauthorized()
    const wellFormed = [organizationId, projectId, userId].every((value) => ID_PATTERN.test(value))
    const principal = wellFormed ? await resolveMember(organizationId, projectId, userId) : null
    if (!principal) throw AppError.forbidden('The user is not a member of this organization, or the project does not belong to it')
    c.set('principal', principal)
    await next()
  }
}
