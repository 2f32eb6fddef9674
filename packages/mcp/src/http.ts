import { createMcpHandler } from '@modelcontextprotocol/server'
import { createWorkenMcpServer, type WorkenMcpServerOptions } from './server.ts'

/** Carries a request's tools and executor from the caller of the handler to the server factory. */
const CALL = 'worken/call'

/**
 * Serves MCP's streamable HTTP transport statelessly: every POST is answered by a server
 * made for that request alone, from the tools and the executor (the caller's key) given with
 * it, so any process of a deployment can answer any request and nothing is kept between
 * them. Both protocol eras are served: 2026-07-28 requests (each carries its own envelope)
 * and 2025-era clients (the SDK's stateless fallback; their session GET and DELETE get 405).
 * Authentication is the caller's job: it has checked the key before it calls this.
 *
 * @example
 * const serveMcp = createMcpHttpHandler()
 * app.post('/mcp', async (c) => serveMcp(c.req.raw, { tools, api }))
 */
export function createMcpHttpHandler(): (request: Request, call: WorkenMcpServerOptions & { clientId?: string }) => Promise<Response> {
  const handler = createMcpHandler((context) => {
    const call = context.authInfo?.extra?.[CALL] as WorkenMcpServerOptions | undefined
    if (!call) throw new Error('An MCP request reached the handler without its tools and executor')
    return createWorkenMcpServer(call)
  })
  return (request, call) => handler.fetch(request, { authInfo: { token: '', clientId: call.clientId ?? 'worken', scopes: [], extra: { [CALL]: call } } })
}
