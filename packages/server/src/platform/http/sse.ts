/**
 * A Server-Sent Events response whose frames are `data: <JSON>\n\n`, with a
 * `: keepalive` comment after `keepaliveMs` of silence. Writing after the
 * client left is a no-op: the producer carries on regardless.
 */
export type SseChannel = {
  send(data: unknown): void
  /** Writes `data: [DONE]` and closes. */
  done(): void
  close(): void
  readonly clientGone: boolean
}

export function sseResponse(keepaliveMs: number, produce: (channel: SseChannel) => Promise<void>, headers: Record<string, string> = {}): Response {
  const encoder = new TextEncoder()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let closed = false
  let clientGone = false
  let timer: NodeJS.Timeout | undefined

  let lastWrite = performance.now()

  const write = (text: string) => {
    if (closed) return
    try {
      controller.enqueue(encoder.encode(text))
    } catch {
      closed = true
      clientGone = true
    }
    // Only a timestamp per frame: re-arming a timer on every write costs more than the frame itself.
    lastWrite = performance.now()
  }
  const armKeepalive = (delay: number) => {
    timer = setTimeout(() => {
      if (closed) return
      const silent = performance.now() - lastWrite
      if (silent >= keepaliveMs) write(': keepalive\n\n')
      armKeepalive(silent >= keepaliveMs ? keepaliveMs : keepaliveMs - silent)
    }, delay)
  }
  const close = () => {
    if (closed) return
    closed = true
    clearTimeout(timer)
    try {
      controller.close()
    } catch {
      // already closed by the client
    }
  }
  const channel: SseChannel = {
    send: (data) => write(`data: ${JSON.stringify(data)}\n\n`),
    done: () => {
      write('data: [DONE]\n\n')
      close()
    },
    close,
    get clientGone() {
      return clientGone
    },
  }

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
      armKeepalive(keepaliveMs)
      produce(channel).then(close, close)
    },
    cancel() {
      clientGone = true
      closed = true
      clearTimeout(timer)
    },
  })
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    },
  })
}
