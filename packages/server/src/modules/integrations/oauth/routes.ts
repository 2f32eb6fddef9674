import { Hono } from 'hono'
import type { AppEnv } from '../../../platform/http/context.ts'
import { CALLBACK_PATH, type OAuthFlow } from './flow.ts'

export type OAuthRouteServices = { oauth: OAuthFlow }

/**
 * The page a user's browser shows: no script, no outside resource, not framed, not cached, and
 * no `Referer` (the address carries the code and the state, though both are spent by now).
 */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}

/**
 * `GET /oauth/callback`, where a vendor sends the user back after authorizing: on the public
 * listener, without an API key (the browser has none; the single-use state is the credential).
 * It answers a small HTML page: 200 "Connected", or the reason it did not work (400 for an
 * unknown, used or expired state or the vendor's refusal, 404 for an integration deleted meanwhile,
 * 502 when the vendor's token endpoint could not be used).
 */
export const oauthCallbackRoutes = new Hono<AppEnv<OAuthRouteServices>>().get(CALLBACK_PATH, async (c) => {
  const outcome = await c.get('services').oauth.callback(new URL(c.req.url).searchParams)
  if (outcome.ok) {
    const { integration } = outcome
    return c.body(page('Connected', `${integration.name} (${integration.vendor}) is connected to Worken. You can close this window.`), 200, PAGE_HEADERS)
  }
  c.get('logger').warn({ requestId: c.get('requestId'), integrationId: outcome.integrationId, status: outcome.status, reason: outcome.detail }, 'OAuth callback refused')
  return c.body(page(outcome.title, outcome.detail), outcome.status, PAGE_HEADERS)
})

function page(title: string, message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Worken</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1c1e21}main{max-width:32rem;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.1)}h1{font-size:1.25rem;margin:0 0 .5rem}p{margin:0}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
</main>
</body>
</html>
`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}
