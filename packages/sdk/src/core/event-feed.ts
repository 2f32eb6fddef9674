import type { ThreadEvent } from '../types.ts'
import { APIConnectionError, APIError, WorkenError } from './errors.ts'
import { isRetryableStatus, retryAfterMs, sleep } from './retry.ts'
import { sseFrames, type SseFrame } from './sse.ts'
import type { FinalRequestOptions, Performed } from './transport.ts'

export type EventFeedOptions = {
  /** Resume after this event (an `id:` of the feed, e.g. a previous feed's `lastEventId`); by default the feed starts now. */
  lastEventId?: string | number
  /** Ends the feed: the loop returns. */
  signal?: AbortSignal
  /** A short-lived `est_…` token (`client.threads.events.tokens.create`) sent as `?token=` instead of the API key. */
  token?: string
  /** Reconnect when nothing (not even a keep-alive) arrived for this long; 0 never. Default 60 s (the server's keep-alive is 15 s). */
  idleTimeout?: number
  /** Told of each reconnection before its wait, e.g. to log it. */
  onReconnect?: (info: ReconnectInfo) => void
}

export type ReconnectInfo = {
  /** Failed connections in a row, this one included (1 after a connection that worked was cut). */
  attempt: number
  delayMs: number
  /** Why: the error of the failed connection, or null when a stream ended or was cut. */
  error: unknown
}

/** Opens one connection of the feed: `GET` with the API key, retries left to the feed. */
export type FeedConnector = (options: FinalRequestOptions) => Promise<Performed>

/** The wait before the first reconnection when the server sent no `retry:`. */
const DEFAULT_RETRY_MS = 1_000
const MAX_DELAY_MS = 30_000
const DEFAULT_IDLE_TIMEOUT_MS = 60_000

/**
 * The live thread events of a project (`GET /threads/events`) or of one thread
 * (`GET /threads/events/:thread_id`), as an endless async iterable. A cut
 * connection or a restarted server is reconnected with `Last-Event-ID` after
 * the server's `retry:` delay (growing with each failure in a row), so no event
 * is lost and none is yielded twice. It ends only when the caller leaves the
 * loop or aborts `signal`/`controller`; an answer that retrying cannot fix
 * (401, 403, 404, 400) is thrown.
 *
 * @example
 * const feed = client.threads.events()
 * for await (const event of feed) {
 *   if (event.type === 'pending_count') console.log(event.thread_id, event.pending_count)
 * }
 * // later: client.threads.events({ lastEventId: feed.lastEventId }) resumes where it stopped
 */
export class EventFeed implements AsyncIterable<ThreadEvent> {
  /** Aborting it ends the feed. */
  readonly controller = new AbortController()
  /** The position after the last event yielded (or where the stream said it starts); pass it back as `lastEventId` to resume. */
  lastEventId: string | null
  /**
   * Settles once the first connection is open (from then on no event is
   * missed), or when the feed ends first. Iterating is what connects.
   */
  readonly opened: Promise<void>
  readonly #markOpened: () => void
  readonly #connect: FeedConnector
  readonly #path: string
  readonly #options: EventFeedOptions
  #consumed = false

  constructor(connect: FeedConnector, path: string, options: EventFeedOptions = {}) {
    this.#connect = connect
    this.#path = path
    let markOpened!: () => void
    this.opened = new Promise((resolve) => (markOpened = resolve))
    this.#markOpened = markOpened
    this.#options = options
    this.lastEventId = options.lastEventId === undefined ? null : String(options.lastEventId)
    if (this.lastEventId !== null && !/^\d+$/.test(this.lastEventId)) throw new WorkenError(`lastEventId must be a non-negative integer, got '${this.lastEventId}'`)
    const signal = options.signal
    if (signal?.aborted) this.controller.abort(signal.reason)
    else signal?.addEventListener('abort', () => this.controller.abort(signal.reason), { once: true })
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ThreadEvent> {
    if (this.#consumed) throw new WorkenError('This event feed was already iterated; open a new one with its lastEventId.')
    this.#consumed = true
    const feedSignal = this.controller.signal
    let retryMs = DEFAULT_RETRY_MS
    let failures = 0
    try {
      while (!feedSignal.aborted) {
        let failure: unknown = null
        let waitAtLeast = 0
        const connection = new AbortController()
        const stopConnection = () => connection.abort()
        feedSignal.addEventListener('abort', stopConnection, { once: true })
        try {
          const performed = await this.#connect(this.#request(connection.signal))
          failures = 0
          this.#markOpened()
          for await (const frame of this.#frames(performed, connection)) {
            if (frame.type === 'retry') retryMs = frame.ms
            else if (frame.type === 'id') this.#advance(frame.id)
            else if (frame.type === 'message') {
              // Ids only grow; one that does not is an event already yielded (never twice).
              if (frame.id !== undefined && !this.#isAfterLast(frame.id)) continue
              const event = parseThreadEvent(frame.data)
              if (frame.id !== undefined) this.lastEventId = frame.id
              if (event) yield event
            }
          }
        } catch (error) {
          if (feedSignal.aborted) return
          if (error instanceof APIError && error.status !== undefined && !isRetryableStatus(error.status, error.headers ?? new Headers())) throw error
          if (error instanceof WorkenError && !(error instanceof APIError) && !(error instanceof APIConnectionError)) throw error
          failure = error
          waitAtLeast = error instanceof APIError ? (retryAfterMs(error.headers) ?? 0) : 0
        } finally {
          feedSignal.removeEventListener('abort', stopConnection)
          connection.abort()
        }
        if (feedSignal.aborted) return
        failures++
        const delayMs = Math.max(waitAtLeast, reconnectDelay(retryMs, failures))
        this.#options.onReconnect?.({ attempt: failures, delayMs, error: failure })
        try {
          await sleep(delayMs, feedSignal)
        } catch {
          return
        }
      }
    } finally {
      this.controller.abort()
      this.#markOpened()
    }
  }

  #request(signal: AbortSignal): FinalRequestOptions {
    const { token } = this.#options
    return {
      method: 'GET',
      path: this.#path,
      query: token ? { token } : undefined,
      headers: {
        ...(this.lastEventId !== null ? { 'last-event-id': this.lastEventId } : {}),
        // With a token the key stays home: the server would prefer the key anyway.
        ...(token ? { authorization: null } : {}),
      },
      signal,
      // Reconnection is the feed's own loop; the request itself is tried once.
      maxRetries: 0,
    }
  }

  /** The connection's frames; the connection is aborted when nothing arrives for `idleTimeout`. */
  async *#frames(performed: Performed, connection: AbortController): AsyncGenerator<SseFrame> {
    const { response, controller, release } = performed
    const stop = () => controller.abort()
    connection.signal.addEventListener('abort', stop, { once: true })
    const idleMs = this.#options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS
    let timer: ReturnType<typeof setTimeout> | undefined
    const armIdle = () => {
      if (idleMs <= 0) return
      clearTimeout(timer)
      timer = setTimeout(() => connection.abort(), idleMs)
    }
    try {
      if (!response.body) return
      armIdle()
      yield* sseFrames(response.body, armIdle)
    } finally {
      clearTimeout(timer)
      connection.signal.removeEventListener('abort', stop)
      controller.abort()
      release()
    }
  }

  #advance(id: string): void {
    if (this.#isAfterLast(id)) this.lastEventId = id
  }

  #isAfterLast(id: string): boolean {
    if (!/^\d+$/.test(id)) return false
    return this.lastEventId === null || BigInt(id) > BigInt(this.lastEventId)
  }
}

/** `retry:` for the first reconnection, then doubling per failure in a row, at most 30 s (or `retry:` if longer), less up to 25% jitter after the first. */
function reconnectDelay(retryMs: number, failures: number): number {
  if (failures <= 1) return retryMs
  const grown = Math.min(retryMs * 2 ** (failures - 1), Math.max(MAX_DELAY_MS, retryMs))
  return Math.max(retryMs, grown * (1 - Math.random() * 0.25))
}

function parseThreadEvent(data: string): ThreadEvent | null {
  try {
    const event = JSON.parse(data)
    return typeof event === 'object' && event !== null && typeof event.type === 'string' ? (event as ThreadEvent) : null
  } catch {
    return null
  }
}
