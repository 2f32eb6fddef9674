import { createRequire } from 'node:module'
import fs from 'node:fs'
import { createRoute, z } from '@hono/zod-openapi'
import { Scalar } from '@scalar/hono-api-reference'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { requestId } from 'hono/request-id'
import type { Logger } from 'pino'
import { botRoutes } from './modules/bots/routes.ts'
import { chatRoutes } from './modules/conversations/chat-routes.ts'
import { chatManagementRoutes } from './modules/conversations/chat-management-routes.ts'
import { eventRoutes, eventTokenRoutes } from './modules/conversations/event-routes.ts'
import { internalAuth, publicAuth, streamTokenAuth } from './platform/http/auth.ts'
import { idempotency } from './platform/http/idempotency/index.ts'
import { planRateLimit } from './platform/http/rate-limit.ts'
import { declareIdempotencyKeys } from './platform/http/idempotency/openapi.ts'
import { publicCors } from './platform/http/cors.ts'
import type { AppEnv } from './platform/http/context.ts'
import { AppError } from './platform/errors.ts'
import { ErrorResponse, errorBody, handleError } from './platform/http/errors.ts'
import { createRouter, jsonContent } from './platform/http/router.ts'
import { projectRoutes } from './modules/projects/routes.ts'
import type { Services } from './services.ts'
import { threadRoutes } from './modules/conversations/thread-routes.ts'
import { webhookRoutes } from './modules/webhooks/routes.ts'
import { channelRoutes, integrationRoutes, oauthCallbackRoutes } from './modules/integrations/index.ts'
import { billingAdminRoutes, billingRoutes, paymentWebhookRoutes } from './modules/billing/index.ts'
import { fileRoutes } from './modules/knowledge/files/routes.ts'
import { vectorStoreRoutes } from './modules/knowledge/vector-stores/routes.ts'
import { mcpRoutes } from './modules/mcp/index.ts'

export type ApiKind = 'public' | 'internal'

export type AppOptions = {
  kind: ApiKind
  services: Services
  logger: Logger
  bodyLimit?: number
  internalToken?: string
  /** Public API only: origins allowed by CORS (`['*']`: any); none or empty: no CORS headers at all. */
  corsOrigins?: string[]
}

const require = createRequire(import.meta.url)
let scalarBundle: string | undefined
/** The API reference's browser bundle, served from node_modules so /docs works offline. */
function scalarScript(): string {
  scalarBundle ??= fs.readFileSync(require.resolve('@scalar/api-reference/browser/standalone.js'), 'utf8')
  return scalarBundle
}

const healthz = createRoute({
  method: 'get', path: '/healthz', operationId: 'health.live', tags: ['Health'], summary: 'Liveness: the process is up',
  responses: { 200: jsonContent(z.object({ status: z.literal('ok') }).openapi({ example: { status: 'ok' } }), 'The process answers') },
})
const readyz = createRoute({
  method: 'get', path: '/readyz', operationId: 'health.ready', tags: ['Health'], summary: 'Readiness: the database answers',
  responses: {
    200: jsonContent(z.object({ status: z.literal('ok') }).openapi({ example: { status: 'ok' } }), 'The database answers'),
    503: jsonContent(ErrorResponse, 'The database does not answer', { error: 'Service Unavailable', code: 'unavailable', message: 'The database does not answer' }),
  },
})

/**
 * One app per listener. Both serve the same resource routes; only the auth
 * step differs (bearer keys on the public API, trusted headers on the internal one).
 */
export function createApp(options: AppOptions) {
  const app = createRouter()
  const { services, logger } = options

  // First, so that even a failure in a later middleware finds a logger in the context.
  app.use(async (c, next) => {
    c.set('services', services)
    c.set('logger', logger)
    const started = performance.now()
    await next()
    // Path only, never the query string or headers: those can carry secrets.
    logger.info({
      requestId: c.get('requestId'),
      api: options.kind,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    }, 'request')
  })
  app.use(requestId())
  // The internal API gets none: its callers are servers on a private network, and its
  // trusted `Worken-*` headers must never be sendable from a page.
  if (options.kind === 'public' && options.corsOrigins?.length) app.use(publicCors(options.corsOrigins))
  // A body refused part-way was not read to its end, so the connection cannot carry another
  // request: say `connection: close`, or a keep-alive client reuses it and fails.
  const tooLarge = (c: Context<AppEnv>, message: string) => c.json(errorBody('payload_too_large', message), 413, { connection: 'close' })
  const limitBody = bodyLimit({
    maxSize: options.bodyLimit ?? 1024 * 1024,
    onError: (c) => tooLarge(c, `The request body is larger than ${options.bodyLimit ?? 1024 * 1024} bytes`),
  })
  const fileLimit = services.fileMaxBytes
  const limitUpload = bodyLimit({
    // Stops reading a body that cannot fit. The file itself may be `fileLimit` bytes, so the
    // multipart framing and the other fields get some room here; the route checks the file exactly.
    maxSize: fileLimit + 64 * 1024,
    onError: (c) => tooLarge(c, `The file is larger than ${fileLimit} bytes (WORKEN_FILE_MAX_BYTES)`),
  })
  // Only where a body is read: the limit middleware touches the request stream,
  // which costs every GET a full Request object for nothing.
  app.use((c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    return isUpload(c.req.method, c.req.path) ? limitUpload(c, next) : limitBody(c, next)
  })

  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200))
  app.openapi(readyz, async (c) => {
    try {
      await services.database.ping()
      return c.json({ status: 'ok' as const }, 200)
    } catch (error) {
      logger.warn({ err: error, requestId: c.get('requestId') }, 'readiness check failed')
      return c.json(errorBody('unavailable', 'The database does not answer'), 503)
    }
  })

  app.openAPIRegistry.registerComponent('securitySchemes', options.kind === 'public' ? 'apiKey' : 'internalHeaders', options.kind === 'public'
    ? { type: 'http', scheme: 'bearer', description: 'A project API key: `Authorization: Bearer sk-…`' }
    : { type: 'apiKey', in: 'header', name: 'Worken-Project', description: 'With Worken-Organization and Worken-User; internal listener only.' })
  app.get('/openapi.json', (c) => c.json(declareIdempotencyKeys(app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: options.kind === 'public' ? 'Worken API' : 'Worken internal API',
      version: '1.0.0',
      description: 'The Worken API. See the project README and docs/ for extensions to the public specification.',
    },
    security: [{ [options.kind === 'public' ? 'apiKey' : 'internalHeaders']: [] }],
  }))))
  app.get('/docs', Scalar({ url: '/openapi.json', cdn: '/docs/scalar.js', withDefaultFonts: false, pageTitle: 'Worken API reference' }))
  app.get('/docs/scalar.js', (c) => {
    c.header('content-type', 'application/javascript; charset=utf-8')
    c.header('cache-control', 'public, max-age=86400')
    return c.body(scalarScript())
  })

  if (options.kind === 'public') {
    // Before the key check: on the event streams only, `?token=` may stand in for the key.
    const tokenAuth = streamTokenAuth((token) => services.eventTokens.verify(token))
    app.use('/threads/events', tokenAuth)
    app.use('/threads/events/:thread_id', tokenAuth)
    // Vendors deliver updates here with their own secret, not an API key: before the key check.
    app.route('/', channelRoutes)
    // The browser a vendor sends back after OAuth has no key: the single-use state is the credential.
    app.route('/', oauthCallbackRoutes)
    // A payment provider's notifications carry its signature, not a key.
    app.route('/', paymentWebhookRoutes)
  }
  app.use(options.kind === 'public'
    ? publicAuth((key) => services.apiKeys.authenticate(key))
    : internalAuth(options.internalToken, (organizationId, projectId, userId) => services.projects.resolveMember(organizationId, projectId, userId)))
  // The API calls an MCP message's tools make, answered in process: the message itself was counted.
  const dispatched = new WeakSet<Request>()
  // After authentication (the counter is the caller's project) and before idempotency (a replay is a request too).
  // Public API only: the internal API's callers are the operator's own servers (docs/rate-limits.md).
  if (options.kind === 'public' && services.rateLimits) app.use(planRateLimit(services.rateLimits, { uncounted: (request) => dispatched.has(request) }))
  // After authentication: a key belongs to the caller's project.
  app.use(idempotency(services.idempotency))
  app.route('/', botRoutes)
  app.route('/', projectRoutes)
  app.route('/', chatRoutes)
  app.route('/', chatManagementRoutes)
  // Before the thread routes, so that `/threads/events` is never taken for a thread id.
  app.route('/', eventRoutes)
  if (options.kind === 'public') app.route('/', eventTokenRoutes)
  app.route('/', threadRoutes)
  app.route('/', webhookRoutes)
  app.route('/', integrationRoutes)
  app.route('/', fileRoutes)
  app.route('/', vectorStoreRoutes)
  app.route('/', billingRoutes)
  // Granting credits and changing plans: the operator's own servers only, never a project key.
  if (options.kind === 'internal') app.route('/', billingAdminRoutes)
  if (options.kind === 'public') {
    app.route('/', mcpRoutes((request) => {
      dispatched.add(request)
      return app.fetch(request)
    }))
  }

  app.notFound((c) => {
    const allowed = allowedMethods(app.routes, c.req.path)
    if (allowed.length > 0) throw new AppError('method_not_allowed', `${c.req.method} is not allowed here; use ${allowed.join(', ')}`, { headers: { allow: allowed.join(', ') } })
    throw new AppError('not_found', `No route for ${c.req.method} ${c.req.path}`)
  })
  app.onError(handleError)
  return app
}

/** Methods that some route serves at this path, for a 405's `Allow` header. */
function allowedMethods(routes: Array<{ method: string; path: string }>, path: string): string[] {
  const methods = new Set<string>()
  for (const route of routes) {
    if (route.method === 'ALL') continue
    const pattern = new RegExp(`^${route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{(\w+)\\\}|:(\w+)/g, '[^/]+')}$`)
    if (pattern.test(path)) methods.add(route.method)
  }
  return [...methods]
}

export type App = ReturnType<typeof createApp>

/** Requests whose body is a file upload, with the file limit instead of the JSON one. */
function isUpload(method: string, path: string): boolean {
  return method === 'POST' && (path === '/files' || /^\/vector_stores\/[^/]+\/files$/.test(path))
}
