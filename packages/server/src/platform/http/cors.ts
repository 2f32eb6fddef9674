import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'

/**
 * Request headers a page may send. What the API reads (`Authorization`, `Content-Type`,
 * `Last-Event-ID`, a client's own `X-Request-Id`), `Idempotency-Key` for clients that send
 * one, and what the OpenAI SDK sends from a browser (`dangerouslyAllowBrowser`) to the
 * OpenAI-compatible routes (files, vector stores): without them its preflight fails.
 * A fixed list rather than echoing whatever is asked, so the preflight says what the API takes.
 */
export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Last-Event-ID',
  'Idempotency-Key',
  'X-Request-Id',
  'OpenAI-Organization',
  'OpenAI-Project',
  'OpenAI-Beta',
  'X-Stainless-Arch',
  'X-Stainless-Lang',
  'X-Stainless-OS',
  'X-Stainless-Package-Version',
  'X-Stainless-Runtime',
  'X-Stainless-Runtime-Version',
  'X-Stainless-Retry-Count',
  'X-Stainless-Timeout',
  'X-Stainless-Helper-Method',
  'X-Stainless-Poll-Helper',
]

/** Response headers a page may read beyond the CORS-safelisted ones (Content-Type, Content-Length, …). */
export const CORS_EXPOSE_HEADERS = [
  'X-Request-Id', 'Retry-After', 'Allow', 'Content-Disposition', 'X-Total-Count',
  // The plan's budget (docs/rate-limits.md), so a page can slow down before its 429s.
  'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit', 'RateLimit-Policy', 'X-Should-Retry',
]

export const CORS_ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 2 h anyway). */
export const CORS_MAX_AGE = 600

/**
 * CORS for the public API, from `WORKEN_CORS_ORIGINS` (`['*']`: any origin). Mounted before
 * auth: a preflight carries no credentials, so it must be answered without them, and every
 * later answer (a 401, a 404) gets the headers too, so the page can read the error.
 * No `Access-Control-Allow-Credentials`: the API authenticates with a bearer key, never a
 * cookie, so browsers need not (and must not) send their cookies along.
 */
export function publicCors(origins: string[]): MiddlewareHandler {
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    allowMethods: CORS_ALLOW_METHODS,
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: CORS_MAX_AGE,
  })
}
