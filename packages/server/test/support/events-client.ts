import http from 'node:http'

/** One SSE frame as it came over the wire. */
export type RawFrame = { id?: string; data?: string; retry?: string; comments: string[]; text: string }

export type ReceivedEvent = { seq: number; event: any }

/**
 * A bare SSE reader over node:http, for tests that must see the exact bytes,
 * stop reading on purpose (a slow subscriber) or see how a stream ended.
 */
export class SseClient {
  readonly frames: RawFrame[] = []
  readonly events: ReceivedEvent[] = []
  /** Complete response ('end'): the server finished the stream cleanly. */
  ended = false
  /** The connection closed before the response was complete (cut). */
  aborted = false
  closed = false
  private buffer = ''
  private readonly waiters = new Set<() => void>()
  readonly request: http.ClientRequest
  readonly response: http.IncomingMessage

  private constructor(request: http.ClientRequest, response: http.IncomingMessage, paused: boolean) {
    this.request = request
    this.response = response
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => this.feed(chunk))
    response.on('end', () => {
      this.ended = true
      this.notify()
    })
    response.on('aborted', () => {
      this.aborted = true
      this.notify()
    })
    response.on('error', () => {
      this.aborted = true
      this.notify()
    })
    response.on('close', () => {
      this.closed = true
      if (!this.ended) this.aborted = true
      this.notify()
    })
    if (paused) response.pause()
  }

  /** Opens a stream; a non-200 answer resolves as `{ status, body }` instead. */
  static open(url: string, headers: Record<string, string>, options: { paused?: boolean } = {}): Promise<{ status: number; client?: SseClient; body?: any; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const request = http.get(url, { headers, agent: false }, (response) => {
        if (response.statusCode !== 200) {
          let text = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => (text += chunk))
          response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text), headers: response.headers }))
          return
        }
        resolve({ status: 200, client: new SseClient(request, response, options.paused ?? false), headers: response.headers })
      })
      request.on('error', reject)
    })
  }

  /** The `id:` of the last complete frame that had one: what EventSource would send as Last-Event-ID. */
  get lastEventId(): string | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) if (this.frames[i]!.id !== undefined) return this.frames[i]!.id
    return undefined
  }

  resume(): void {
    this.response.resume()
  }

  close(): void {
    this.request.destroy()
  }

  /** Resolves once `predicate` holds; fails after `timeoutMs` with what arrived so far. */
  waitFor(predicate: (client: SseClient) => boolean, label: string, timeoutMs = 20_000): Promise<void> {
    if (predicate(this)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out waiting for ${label}; got ${this.events.length} events: ${JSON.stringify(this.events.slice(-5).map((e) => [e.seq, e.event.type, e.event.thread_id]))}`))
      }, timeoutMs)
      const check = () => {
        if (!predicate(this)) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      this.waiters.add(check)
    })
  }

  /** Waits for a `message_created` whose content is `content`. */
  waitForMessage(content: string, timeoutMs?: number): Promise<void> {
    return this.waitFor((client) => client.events.some((e) => e.event.type === 'message_created' && e.event.message.content === content), `message '${content}'`, timeoutMs)
  }

  private feed(chunk: string): void {
    this.buffer += chunk
    let end: number
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const text = this.buffer.slice(0, end + 2)
      this.buffer = this.buffer.slice(end + 2)
      const frame: RawFrame = { comments: [], text }
      for (const line of text.slice(0, -2).split('\n')) {
        if (line.startsWith(':')) frame.comments.push(line.slice(1).trim())
        else if (line.startsWith('id: ')) frame.id = line.slice(4)
        else if (line.startsWith('data: ')) frame.data = line.slice(6)
        else if (line.startsWith('retry: ')) frame.retry = line.slice(7)
        else throw new Error(`unexpected SSE line: ${JSON.stringify(line.slice(0, 80))}`)
      }
      this.frames.push(frame)
      if (frame.data !== undefined) this.events.push({ seq: Number(frame.id), event: JSON.parse(frame.data) })
    }
    this.notify()
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter()
  }
}
