import type { StreamAccepted, StreamEvent } from '../types.ts'
import { APIConnectionError, StreamError, WorkenError } from './errors.ts'
import { sseFrames } from './sse.ts'
import type { Performed } from './transport.ts'

/**
 * A single-use async iterable over a streamed response. Leaving the loop early
 * (`break`, `return`, a throw) aborts the HTTP request, so the server sees the
 * client go; `controller.abort()` does the same from outside the loop.
 */
export class Stream<Item> implements AsyncIterable<Item> {
  /** Aborts the underlying request. */
  readonly controller: AbortController
  /** The HTTP response (status, headers); its body is what the iteration reads. */
  readonly response: Response
  readonly #items: () => AsyncGenerator<Item>
  #consumed = false

  constructor(items: () => AsyncGenerator<Item>, controller: AbortController, response: Response) {
    this.#items = items
    this.controller = controller
    this.response = response
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    if (this.#consumed) throw new WorkenError('This stream was already iterated; a stream can be read once.')
    this.#consumed = true
    let completed = false
    try {
      yield* this.#items()
      completed = true
    } finally {
      if (!completed) this.controller.abort()
    }
  }

  /**
   * The items as newline-delimited JSON bytes, e.g. to pass a reply from your
   * server to a browser; cancelling the readable aborts the request.
   */
  toReadableStream(): ReadableStream<Uint8Array> {
    const iterator = this[Symbol.asyncIterator]()
    const encoder = new TextEncoder()
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await iterator.next()
          if (done) controller.close()
          else controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`))
        } catch (error) {
          controller.error(error)
        }
      },
      async cancel() {
        await iterator.return?.(undefined)
      },
    })
  }
}

/**
 * A reply streamed by `POST /chats/:chat_id/threads/:thread_id/stream` (or an
 * approval decision): the spec's events until `data: [DONE]`. An in-band
 * `error` event throws a {@link StreamError}. When the thread's mode means no
 * reply streams (manual, operator, blocked, or `scheduledAt`), the server answers
 * 202 with JSON instead: `accepted` holds it and the iteration yields nothing.
 *
 * @example
 * const stream = await client.chats.threads.stream(chatId, 'support-42', {
 *   messages: [{ role: 'user', content: 'What is your return policy?' }],
 * })
 * for await (const event of stream) {
 *   if (event.type === 'text-delta') process.stdout.write(event.textDelta)
 * }
 */
export class ReplyStream extends Stream<StreamEvent> {
  /** The 202 answer when no reply was streamed; null when one was. */
  readonly accepted: StreamAccepted | null

  constructor(performed: Performed, accepted: StreamAccepted | null) {
    const { response, controller, release } = performed
    super(() => replyEvents(response, controller, release, accepted !== null), controller, response)
    this.accepted = accepted
  }

  /** Reads the rest of the stream and returns the reply's text (the `text-delta`s joined). */
  async finalText(): Promise<string> {
    let text = ''
    for await (const event of this) if (event.type === 'text-delta') text += event.textDelta
    return text
  }
}

async function* replyEvents(response: Response, controller: AbortController, release: () => void, accepted: boolean): AsyncGenerator<StreamEvent> {
  try {
    if (accepted || !response.body) return
    try {
      for await (const frame of sseFrames(response.body)) {
        if (frame.type !== 'message') continue
        if (frame.data === '[DONE]') return
        const event = parseEvent(frame.data)
        if (event.type === 'error') throw new StreamError(event as ErrorEvent)
        yield event as StreamEvent
      }
    } catch (error) {
      if (error instanceof WorkenError) throw error
      // Aborted by the consumer (controller.abort(), its signal): the loop just ends, as openai-node's does.
      if (controller.signal.aborted) return
      throw new APIConnectionError(`The stream broke before its end: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    // The server always ends a reply with [DONE]; without it the reply is incomplete.
    throw new APIConnectionError('The stream ended before [DONE]: the reply is incomplete.')
  } finally {
    release()
  }
}

type ErrorEvent = { type: 'error'; error: string }

function parseEvent(data: string): StreamEvent | ErrorEvent {
  try {
    const event = JSON.parse(data)
    if (typeof event === 'object' && event !== null && typeof event.type === 'string') return event as StreamEvent | ErrorEvent
  } catch {
    // reported below
  }
  throw new WorkenError(`Malformed stream event: ${data.slice(0, 200)}`)
}
