import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ErrorCode } from '../errors.ts'

/** How long a refused client has to read its answer and close before the connection is cut. */
const LINGER_MS = 1000

const REFUSALS = {
  400: { reason: 'Bad Request', body: { error: 'Bad Request', code: 'malformed_request', message: 'The request could not be parsed' } },
  408: { reason: 'Request Timeout', body: { error: 'Request Timeout', code: 'request_timeout', message: 'The request was not received in time' } },
  431: { reason: 'Request Header Fields Too Large', body: { error: 'Request Header Fields Too Large', code: 'malformed_request', message: 'The request line or headers are too large' } },
} as const satisfies Record<number, { reason: string; body: { error: string; code: ErrorCode; message: string } }>

/**
 * Requests Node's HTTP parser refuses before any route runs (headers or URL
 * too large, malformed request lines) still get the API's JSON error shape, and
 * so do requests not received in time (Node's headers and request timeouts): 408.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    refuseConnection(socket, status)
  })
}

/**
 * Answers `status` in the JSON error shape straight on the connection, and closes it: at
 * once when a response is already under way there (another answer would corrupt it), else
 * once the client has read the answer, and at the latest a second later, so that a client
 * that keeps its end open (a slowloris) cannot hold the connection by doing so.
 */
export function refuseConnection(socket: Duplex, status: keyof typeof REFUSALS): void {
  // As Node does itself: the response in flight on this connection, if any (an internal field).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } })._httpMessage
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy()
    return
  }
  const { reason, body } = REFUSALS[status]
  const json = JSON.stringify(body)
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`)
  const cut = setTimeout(() => socket.destroy(), LINGER_MS)
  cut.unref()
  socket.once('close', () => clearTimeout(cut))
}
