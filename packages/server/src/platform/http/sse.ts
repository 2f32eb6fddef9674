/**
 * The one Server-Sent Events writer, shared by reply streams (`POST …/stream`)
 * and event streams (`GET /threads/events`): a `text/event-stream` response, a
 * `: keepalive` comment after `keepaliveMs` of silence, and writes that become
 * no-ops once the client has left (the producer carries on regardless).
 *
 * Frames written in one turn of the event loop leave in one write. An unpaced
 * writer (no `highWaterMark`) served by our Node listener skips the web stream
 * altogether: the listener hands it the socket's response once every middleware
 * has set its headers (`attachSseResponse`), and frames go straight to it. Any
 * other way of serving the app (`app.request()` in tests, another runtime) reads
 * the `Response` body as usual.
 */
import type { ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'

export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
}

const encoder = new TextEncoder()
const KEEPALIVE = ': keepalive\n\n'
const DONE = 'data: [DONE]\n\n'

export type SseWriterOptions = {
  keepaliveMs: number
  /** Extra response headers (`x-request-id`, …). */
  headers?: Record<string, string>
  /**
   * Bytes the stream may queue before `desiredSize` goes to 0 (a reader that
   * paces itself waits for `pull`); unbounded pacing by default.
   */
  highWaterMark?: number
  /** The client read below the high-water mark. */
  onPull?: () => void
  /** The client went away. */
  onCancel?: () => void
  /** Whether a keep-alive comment may be written now (e.g. not while unread data waits, which keeps proxies awake as well). */
  keepaliveAllowed?: () => boolean
}

/**
 * Unpaced writers by their response: the listener finds them there (`attachSseResponse`). Keyed
 * by the Response object, not its body: reading `body` of `@hono/node-server`'s lightweight
 * Response turns it into a full one, which every other answer must not pay for.
 */
const attachable = new WeakMap<Response, SseWriter>()

/**
 * Called by the Node listener with the app's final response: an unpaced SSE response is
 * written straight to `outgoing` from now on, and the adapter is told to leave it alone.
 * Any other response is returned as it is.
 */
export function attachSseResponse(response: Response, outgoing: ServerResponse): Response {
  const writer = attachable.get(response)
  if (!writer) return response
  writer.attach(outgoing, response.status, response.headers)
  // The adapter's own marker for "written by the handler, leave it alone".
  return RESPONSE_ALREADY_SENT
}

export class SseWriter {
  readonly response: Response
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private readonly options: SseWriterOptions
  private timer: NodeJS.Timeout | undefined
  /** A timestamp per write; one timer checks it (re-arming a timer per frame costs more than the frame). */
  private lastWrite = performance.now()
  private ended = false
  private gone = false
  /**
   * Where frames go: `stream`, the response body (paced writers always); `direct`, the socket's
   * response, once the listener attached it; `waiting`, neither yet (an unpaced writer until the
   * listener attaches it or someone reads its body, whichever comes first).
   */
  private mode: 'waiting' | 'stream' | 'direct'
  /** Frames of this turn of the event loop, written together when it ends (unpaced writers). */
  private pending: string[] = []
  private flushing: NodeJS.Immediate | undefined
  private outgoing: ServerResponse | undefined

  constructor(options: SseWriterOptions) {
    this.options = options
    const paced = options.highWaterMark !== undefined
    this.mode = paced ? 'stream' : 'waiting'
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        pull: () => {
          // Read through the body: it is not going straight to a socket.
          if (this.mode === 'waiting') this.settle('stream')
          options.onPull?.()
        },
        cancel: () => this.left(),
      },
      // Unpaced: a high-water mark of 0, so that only a reader's read calls `pull`.
      paced ? new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark! }) : new CountQueuingStrategy({ highWaterMark: 0 }),
    )
    this.response = new Response(body, { status: 200, headers: { ...EVENT_STREAM_HEADERS, ...options.headers } })
    if (!paced) attachable.set(this.response, this)
    this.armKeepalive(options.keepaliveMs)
  }

  /** Whether the client has left (its connection closed or the stream was cancelled). */
  get clientGone(): boolean {
    return this.gone
  }

  get closed(): boolean {
    return this.ended
  }

  /** Room left below the high-water mark (≤ 0: the reader is behind; null once errored). */
  get desiredSize(): number | null {
    return this.controller.desiredSize
  }

  /** Writes raw frames: at once for a paced writer, with the rest of this turn's frames otherwise. */
  write(frames: Uint8Array | string): void {
    if (this.ended) return
    this.lastWrite = performance.now()
    if (this.options.highWaterMark !== undefined) {
      this.enqueue(typeof frames === 'string' ? encoder.encode(frames) : frames)
      return
    }
    this.pending.push(typeof frames === 'string' ? frames : Buffer.from(frames).toString('utf8'))
    this.flushing ??= setImmediate(() => this.flush())
  }

  /** A `data: <JSON>` frame. */
  send(data: unknown): void {
    this.write(`data: ${JSON.stringify(data)}\n\n`)
  }

  /** Writes `data: [DONE]` and ends the response. */
  done(): void {
    this.write(DONE)
    this.close()
  }

  /** Ends the response cleanly: what is queued is still sent. */
  close(): void {
    if (this.ended) return
    this.stop()
    this.flush()
    this.finish()
  }

  /** Ends the response as failed (the connection is cut, queued bytes are dropped). */
  error(reason: Error): void {
    this.stop()
    this.pending = []
    if (this.outgoing) {
      this.outgoing.destroy(reason)
      return
    }
    try {
      this.controller.error(reason)
    } catch {
      // already closed
    }
  }

  /** From now on frames go to `outgoing` (see `attachSseResponse`); what waits goes first. */
  attach(outgoing: ServerResponse, status: number, headers: Headers): void {
    if (this.mode !== 'waiting') return
    this.outgoing = outgoing
    const head: Record<string, string> = {}
    headers.forEach((value, name) => {
      head[name] = value
    })
    outgoing.writeHead(status, head)
    outgoing.flushHeaders()
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) this.left()
    })
    this.settle('direct')
  }

  private settle(mode: 'stream' | 'direct'): void {
    this.mode = mode
    attachable.delete(this.response)
    this.flush()
    if (this.ended) this.finish()
  }

  /** Ends the body or the socket's response, once where it goes is known. */
  private finish(): void {
    if (this.mode === 'direct') this.outgoing!.end()
    else if (this.mode === 'stream') {
      try {
        this.controller.close()
      } catch {
        // already closed or cancelled by the client
      }
    }
  }

  private flush(): void {
    if (this.flushing) {
      clearImmediate(this.flushing)
      this.flushing = undefined
    }
    if (this.pending.length === 0 || this.gone || this.mode === 'waiting') return
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('')
    this.pending = []
    if (this.mode === 'direct') {
      if (!this.outgoing!.destroyed) this.outgoing!.write(text)
    } else this.enqueue(encoder.encode(text))
  }

  private enqueue(bytes: Uint8Array): void {
    try {
      this.controller.enqueue(bytes)
    } catch {
      this.left()
    }
  }

  private left(): void {
    if (this.gone) return
    this.gone = true
    this.pending = []
    this.stop()
    this.options.onCancel?.()
  }

  private stop(): void {
    this.ended = true
    clearTimeout(this.timer)
  }

  private armKeepalive(delay: number): void {
    const { keepaliveMs } = this.options
    this.timer = setTimeout(() => {
      if (this.ended) return
      const silent = performance.now() - this.lastWrite
      if (silent >= keepaliveMs && (this.options.keepaliveAllowed?.() ?? true)) this.write(KEEPALIVE)
      this.armKeepalive(silent >= keepaliveMs ? keepaliveMs : keepaliveMs - silent)
    }, delay)
  }
}

/** What a reply producer writes to: `data: <JSON>` frames, then `[DONE]`. */
export type SseChannel = Pick<SseWriter, 'send' | 'done' | 'close' | 'clientGone'>

/**
 * A response whose frames `produce` writes; the response ends when `produce`
 * settles (if it has not written `[DONE]` itself).
 */
export function sseResponse(keepaliveMs: number, produce: (channel: SseChannel) => Promise<void>, headers: Record<string, string> = {}): Response {
  const writer = new SseWriter({ keepaliveMs, headers })
  produce(writer).then(() => writer.close(), () => writer.close())
  return writer.response
}
