import type { Context, MiddlewareHandler } from 'hono'
import { AppError } from '../errors.ts'
import type { AppEnv } from './context.ts'
import type { PlanRateLimiter, RateLimitDecision } from './plan-limits.ts'

export type PlanRateLimitOptions = {
  /** Requests that are not the caller's own (the API calls an MCP message's tools make in process). */
  uncounted?: (request: Request) => boolean
}

/**
 * The plan rate limit of the public API (docs/rate-limits.md). Mounted after authentication:
 * the counter is the caller's project, the limit its organization's plan. What is mounted before
 * authentication (health, the OpenAPI document and `/docs`, vendors' channel webhooks, the OAuth
 * callback) never gets here, so it is never counted. An event stream resumed with `Last-Event-ID`
 * is not counted either: a cut stream reconnects by itself, and the cap on open streams bounds it.
 * Every counted answer (2xx, 4xx, 5xx, the 429) carries the budget: `X-RateLimit-Limit`,
 * `-Remaining`, `-Reset` (seconds until the window ends) and the IETF pair `RateLimit-Policy` /
 * `RateLimit` (draft-ietf-httpapi-ratelimit-headers, the policy named after the plan). An
 * unlimited plan (`enterprise`) is not counted and gets none of them: there is no budget to show.
 *
 * @example
 * app.use(planRateLimit(services.rateLimits, { uncounted: (request) => dispatched.has(request) }))
 */
export function planRateLimit(limiter: PlanRateLimiter, options: PlanRateLimitOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal')
    if (!principal || options.uncounted?.(c.req.raw) || isStreamResume(c)) return next()
    const decision = await limiter.consume(principal)
    if (!decision.limited) return next()
    const headers = budgetHeaders(decision, limiter.windowSeconds)
    if (!decision.allowed) {
      const retryAfter = Math.max(Math.ceil(decision.resetMs / 1000), 1)
      throw new AppError('rate_limited', `The ${decision.tariff} plan allows ${decision.limit} requests per ${limiter.windowSeconds} seconds per project; retry in ${retryAfter} s`, {
        headers: { ...headers, 'retry-after': String(retryAfter), 'x-should-retry': 'true' },
      })
    }
    await next()
    // After the handler: the answer may be one it built itself (a stream, the MCP transport's), which drops headers set before.
    for (const [name, value] of Object.entries(headers)) c.header(name, value)
  }
}

/** The budget left, in the legacy `X-RateLimit-*` trio and the IETF draft's two structured fields. */
export function budgetHeaders(decision: Extract<RateLimitDecision, { limited: true }>, windowSeconds: number): Record<string, string> {
  const reset = Math.ceil(decision.resetMs / 1000)
  const policy = JSON.stringify(decision.tariff)
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(reset),
    'ratelimit-policy': `${policy};q=${decision.limit};w=${windowSeconds}`,
    ratelimit: `${policy};r=${decision.remaining};t=${reset}`,
  }
}

/** `GET /threads/events…` picking up where a cut stream ended (`Last-Event-ID` or `?last_event_id=`). */
function isStreamResume(c: Context<AppEnv>): boolean {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return false
  if (!/^\/threads\/events(\/[^/]+)?$/.test(c.req.path)) return false
  return Boolean(c.req.header('last-event-id')?.trim() || c.req.query('last_event_id'))
}
