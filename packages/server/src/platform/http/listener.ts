import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import { errorBody } from './errors.ts'
import { attachSseResponse } from './sse.ts'
import { serve } from '@hono/node-server'
import { answerClientErrorsAsJson, refuseConnection } from './client-errors.ts'

/**
 * How long a client may take to send a request (docs/design.md, "Slow clients"). None of
 * them counts the time the server takes to answer: event streams and slow model replies
 * are not concerned.
 */
export type RequestTimeouts = {
  /** The request line and headers, in all. */
  headersMs: number
  /** The whole request, body included; 0: no limit (the body idle timeout still applies). */
  requestMs: number
  /** The longest silence while a body is being received. */
  bodyIdleMs: number
  /** An idle keep-alive connection between two requests. */
  keepAliveMs: number
}

/**
 * An HTTP listener for an app, as both of the server's listeners are made: Node's own
 * headers, request and keep-alive timeouts, a body idle timeout of ours, and the JSON
 * error shape for what Node refuses before a route runs (408 for a timeout).
 */
export function serveHttp(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { port: number; hostname: string; timeouts: RequestTimeouts },
  onListening?: () => void,
): Server {
  const { headersMs, requestMs, bodyIdleMs, keepAliveMs } = options.timeouts
  const server = serve({
    // An event stream's frames go straight to the socket once the app's answer is final (sse.ts).
    // (This listener is HTTP/1.1: its `outgoing` is a ServerResponse.)
    fetch: (request: Request, env: { outgoing: unknown }) => {
      const outgoing = env.outgoing as ServerResponse
      const answer = fetch(request)
      return answer instanceof Response ? attachSseResponse(answer, outgoing) : answer.then((response) => attachSseResponse(response, outgoing))
    },
    port: options.port,
    hostname: options.hostname,
    // The adapter's own listener, behind one check: a request target it cannot make a URL of.
    createServer: ((serverOptions: ServerOptions, listener: RequestListener) => createServer(serverOptions, (request, response) => {
      if (request.url?.startsWith('/') || request.url?.startsWith('http')) return listener(request, response)
      answerOtherTargets(request, response)
    })) as typeof createServer,
    serverOptions: {
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      keepAliveTimeout: keepAliveMs,
      // How often Node looks for requests past those two timeouts (its default, 30 s, let a
      // 60 s timeout run to 90): at most a second late, a quarter of the timeout for short ones.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(Math.min(headersMs, requestMs || headersMs) / 4))),
    },
  }, onListening) as Server
  answerClientErrorsAsJson(server)
  limitBodyIdle(server, bodyIdleMs)
  return server
}

/**
 * The asterisk form (`OPTIONS * HTTP/1.1`, which asks what the server supports) and other
 * targets that are no path: the adapter cannot make a URL of them and would answer an empty
 * 400. `OPTIONS *` is answered as RFC 9110 has it; anything else in the API's error shape.
 */
function answerOtherTargets(request: IncomingMessage, response: ServerResponse): void {
  if (request.method === 'OPTIONS' && request.url === '*') {
    response.writeHead(204, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' }).end()
    return
  }
  const body = JSON.stringify(errorBody('malformed_request', 'The request target must be a path, such as /bots'))
  response.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}

/**
 * Node bounds a request's body by the whole request's timeout only, which must leave room
 * for the largest upload over a slow link: a client that stops sending would hold its
 * connection that long. While a body is being received, a silence of `idleMs` is answered 408
 * (or, when the answer has begun, cuts the connection). Disarmed once the body is in: the
 * time taken to answer never counts. The silence is the client's: every route reads its body
 * whole before working on it, so the server never stops reading half-way for long.
 */
function limitBodyIdle(server: Server, idleMs: number): void {
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const hasBody = (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0') || request.headers['transfer-encoding'] !== undefined
    if (!hasBody || request.complete) return
    const socket = request.socket
    const onIdle = () => {
      if (request.complete) return
      // Answered already (a refusal that did not wait for the body): nothing more to say.
      if (response.headersSent) socket.destroy()
      else refuseConnection(socket, 408)
    }
    request.setTimeout(idleMs, onIdle)
    const disarm = () => {
      request.off('timeout', onIdle)
      // Node arms the keep-alive timeout on this same socket timer once the answer is sent.
      if (!response.writableFinished) socket.setTimeout(0)
    }
    request.once('end', disarm)
    request.once('close', disarm)
  })
}
