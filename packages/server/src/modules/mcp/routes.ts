import { createExecutor, createMcpHttpHandler, loadCatalog, parseToolsetQuery, selectTools, ToolsetOptionsError, VERSION, type ToolCatalog } from '@worken/mcp'
import { Hono } from 'hono'
import type { AppEnv } from '../../platform/http/context.ts'
import { AppError } from '../../platform/errors.ts'
import { bearerToken } from '../../platform/http/auth.ts'

/** Answers a request with the public app itself, in process. */
export type Dispatch = (request: Request) => Response | Promise<Response>

/**
 * `POST /mcp`: the public API as MCP tools over streamable HTTP (docs/mcp.md). Mounted behind
 * the key check; each tool call goes back through the public app with the caller's key, so
 * what a connection can reach is exactly what its key reaches over REST. Stateless: nothing
 * is kept between requests, so any process can answer any of them, and GET and DELETE (the
 * 2025 transport's session stream and teardown) are 405. Not a REST operation, so not in the
 * OpenAPI document.
 *
 * @example
 * app.route('/', mcpRoutes((request) => app.fetch(request)))
 */
export function mcpRoutes(dispatch: Dispatch) {
  const router = new Hono<AppEnv>()
  const serveMcp = createMcpHttpHandler()
  // The document is the process's own and never changes while it runs: read once, on first use.
  let catalog: Promise<ToolCatalog> | undefined
  router.all('/mcp', async (c) => {
    if (c.req.method !== 'POST') {
      throw new AppError('method_not_allowed', `${c.req.method} is not allowed here; MCP is served statelessly: POST each JSON-RPC message`, { headers: { allow: 'POST' } })
    }
    const url = new URL(c.req.url)
    const apiKey = bearerToken(c.req.header('authorization'))
    // The key check ran before this route; a request without a key never gets here.
    if (!apiKey) throw AppError.unauthorized()
    const api = createExecutor({ baseUrl: url.origin, apiKey, fetch: dispatch, userAgent: `worken-mcp/${VERSION} (http)` })
    catalog ??= loadCatalog(api).catch((error: unknown) => {
      catalog = undefined
      throw error
    })
    let tools
    try {
      tools = selectTools(await catalog, parseToolsetQuery(url.searchParams))
    } catch (error) {
      if (error instanceof ToolsetOptionsError) throw AppError.validation([{ path: 'query', message: error.message }])
      throw error
    }
    return serveMcp(c.req.raw, { tools, api, clientId: c.get('principal').projectId })
  })
  return router
}
