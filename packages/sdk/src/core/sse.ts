import { createParser } from 'eventsource-parser'

/** One unit of a Server-Sent Events stream, as the SDK's readers need it. */
export type SseFrame =
  /** A message (a block with `data:`), with the block's `id:` if it had one. */
  | { type: 'message'; id: string | undefined; event: string | undefined; data: string }
  /** A block with an `id:` and no `data:` (the event feed's first frame says where it starts). */
  | { type: 'id'; id: string }
  /** `retry: <ms>`: how long to wait before reconnecting. */
  | { type: 'retry'; ms: number }

/**
 * Decodes a response body into SSE frames with eventsource-parser. Returning
 * early (the consumer's `break`) cancels the body. `onBytes` is told of every
 * chunk, keep-alive comments included (for idle detection).
 */
export async function* sseFrames(body: ReadableStream<Uint8Array>, onBytes?: () => void): AsyncGenerator<SseFrame> {
  const pending: SseFrame[] = []
  const parser = createParser({
    onId: (id) => {
      pending.push({ type: 'id', id })
    },
    onEvent: (message) => {
      // The parser reports a block's id just before its message: fold the two into one frame.
      const last = pending.at(-1)
      if (last?.type === 'id' && last.id === message.id) pending.pop()
      pending.push({ type: 'message', id: message.id, event: message.event, data: message.data })
    },
    onRetry: (ms) => {
      pending.push({ type: 'retry', ms })
    },
  })
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let finished = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      onBytes?.()
      parser.feed(decoder.decode(value, { stream: true }))
      while (pending.length > 0) yield pending.shift()!
    }
    parser.feed(decoder.decode())
    while (pending.length > 0) yield pending.shift()!
    finished = true
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}
