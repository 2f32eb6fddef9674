/**
 * The one Server-Sent Events writer, shared by reply streams (`POST …/stream`)
 * and event streams (`GET /threads/events`): a `text/event-stream` response, a
 * `: keepalive` comment after `keepaliveMs` of silence, and writes that become
 * no-ops once the client has left (the producer carries on regardless).
 */

export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
}

const encoder = new TextEncoder()
const KEEPALIVE = encoder.encode(': keepalive\n\n')
const DONE = encoder.encode('data: [DONE]\n\n')

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

export class SseWriter {
  readonly response: Response
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private readonly options: SseWriterOptions
  private timer: NodeJS.Timeout | undefined
  /** A timestamp per write; one timer checks it (re-arming a timer per frame costs more than the frame). */
  private lastWrite = performance.now()
  private ended = false
  private gone = false

  constructor(options: SseWriterOptions) {
    this.options = options
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        pull: () => options.onPull?.(),
        cancel: () => {
          this.gone = true
          this.stop()
          options.onCancel?.()
        },
      },
      options.highWaterMark === undefined ? undefined : new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark }),
    )
    this.response = new Response(body, { status: 200, headers: { ...EVENT_STREAM_HEADERS, ...options.headers } })
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

  /** Writes raw bytes (one or more whole frames). */
  write(bytes: Uint8Array | string): void {
    if (this.ended) return
    try {
      this.controller.enqueue(typeof bytes === 'string' ? encoder.encode(bytes) : bytes)
    } catch {
      this.gone = true
      this.stop()
      this.options.onCancel?.()
    }
    this.lastWrite = performance.now()
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
    try {
      this.controller.close()
    } catch {
      // already closed or cancelled by the client
    }
  }

  /** Ends the response as failed (the connection is cut, queued bytes are dropped). */
  error(reason: Error): void {
    this.stop()
    try {
      this.controller.error(reason)
    } catch {
      // already closed
    }
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
