import http from 'node:http'

/** The only host the benchmarks' clients talk to. */
const HOST = '127.0.0.1'

/**
 * POSTs a JSON body to a loopback URL and hands each Server-Sent Events frame (the text
 * between two blank lines) to `onFrame` as it arrives. Resolves with what went wrong (a
 * refused URL, a status other than 200, a connection error, the timeout), or undefined once
 * the response has ended; never rejects. The clients of bench:streams and bench:peers.
 */
export function postForEvents(url: string, options: { headers: Record<string, string>; body: string; agent: http.Agent; timeoutMs: number; onFrame: (frame: string) => void }): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false
    let buffer = ''
    const finish = (error?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(error)
    }
    const target = new URL(url)
    if (target.hostname !== HOST || target.protocol !== 'http:') {
      resolve(`refusing ${url}: only http://${HOST} is allowed`)
      return
    }
    const req = http.request(target, {
      method: 'POST',
      agent: options.agent,
      headers: { ...options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) },
    }, (res) => {
      res.setEncoding('utf8')
      if (res.statusCode !== 200) {
        let answer = ''
        res.on('data', (chunk: string) => { answer += chunk })
        res.on('end', () => finish(`HTTP ${res.statusCode}: ${answer.slice(0, 200)}`))
        res.on('error', (error) => finish(error.message))
        return
      }
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          options.onFrame(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
        }
      })
      res.on('end', () => finish())
      res.on('error', (error) => finish(error.message))
    })
    const timer = setTimeout(() => {
      req.destroy()
      finish(`timed out after ${options.timeoutMs} ms`)
    }, options.timeoutMs)
    req.on('error', (error) => finish(error.message))
    req.end(options.body)
  })
}
