import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * Requests Node's HTTP parser refuses before any route runs (headers or URL
 * too large, malformed request lines) still get the API's JSON error shape.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy()
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const status = tooLarge ? 431 : 400
    const body = JSON.stringify(tooLarge
      ? { error: 'Request Header Fields Too Large', code: 'malformed_request', message: 'The request line or headers are too large' }
      : { error: 'Bad Request', code: 'malformed_request', message: 'The request could not be parsed' })
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    )
  })
}
