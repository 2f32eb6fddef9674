/**
 * How tools reach the Worken API: a `fetch`-like function that takes a path of the API
 * (`/bots?limit=10`) and adds the base URL and the caller's key. Over stdio it calls the
 * server over the network; inside the server it calls the server's own public app, so the
 * key's project scoping is exactly the API's. Small on purpose, so the TypeScript SDK can
 * stand in for it later.
 */
export type ApiExecutor = (path: string, init?: RequestInit) => Promise<Response>

/** The shape of `fetch` an executor needs; `app.fetch`-style dispatchers fit it too. */
export type FetchLike = (request: Request) => Response | Promise<Response>

export type ExecutorOptions = {
  /** Where the API answers, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string
  /** The project's key, `sk-…`, sent as `Authorization: Bearer`. */
  apiKey: string
  /** Sends the request; the global `fetch` when left out. */
  fetch?: FetchLike
  /** Sent as `user-agent` on every call, so the server's logs tell MCP calls apart. */
  userAgent?: string
}

/**
 * An executor for one key.
 *
 * @example
 * // stdio: over the network
 * const api = createExecutor({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.WORKEN_API_KEY! })
 * // in the server: through its own app, in process
 * const local = createExecutor({ baseUrl: new URL(c.req.url).origin, apiKey, fetch: (request) => app.fetch(request) })
 * const bots = await (await api('/bots?limit=5')).json()
 */
export function createExecutor(options: ExecutorOptions): ApiExecutor {
  const base = options.baseUrl.replace(/\/+$/, '')
  const send = options.fetch ?? ((request: Request) => fetch(request))
  return async (path, init = {}) => {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${options.apiKey}`)
    headers.set('user-agent', options.userAgent ?? 'worken-mcp')
    return send(new Request(base + path, { ...init, headers }))
  }
}
