import { AppError } from '../errors.ts'

/** How long a client refused for holding too many streams is told to wait before trying again. */
const RETRY_AFTER_SECONDS = 5

/**
 * The event streams this process holds open, by who opened them (an API key's id,
 * or an internal user). Two jobs: a cap per holder, so one key cannot pin
 * thousands of connections; and `closeAll`, so that deleting a key ends its
 * streams at once rather than at the next periodic re-check.
 *
 * The cap is per process: N server processes let a key hold up to N times it
 * (docs/events.md). A count shared through the database would cost a write per
 * stream opened and closed, and a crashed process would leave its counts behind.
 */
export class OpenStreams {
  private readonly maxPerHolder: number
  private readonly byHolder = new Map<string, Set<() => void>>()

  constructor(options: { maxPerHolder: number }) {
    this.maxPerHolder = options.maxPerHolder
  }

  /**
   * Takes a slot for a stream of `holder`; `close` ends that stream. Throws a 429
   * `rate_limited` when the holder already has the most it may. The returned
   * function gives the slot back (idempotent); call it when the stream ends.
   */
  admit(holder: string, close: () => void): () => void {
    let streams = this.byHolder.get(holder)
    if (streams && streams.size >= this.maxPerHolder) {
      throw new AppError('rate_limited', `This credential already holds ${this.maxPerHolder} open event streams, the most one may (WORKEN_EVENTS_MAX_STREAMS_PER_KEY); close one before opening another`, {
        headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
      })
    }
    if (!streams) {
      streams = new Set()
      this.byHolder.set(holder, streams)
    }
    const entry = () => close()
    streams.add(entry)
    return () => {
      const current = this.byHolder.get(holder)
      if (!current?.delete(entry)) return
      if (current.size === 0) this.byHolder.delete(holder)
    }
  }

  /** Ends every stream of `holder` (its key was deleted). */
  closeAll(holder: string): number {
    const streams = this.byHolder.get(holder)
    if (!streams) return 0
    this.byHolder.delete(holder)
    for (const close of streams) close()
    return streams.size
  }

  /** Streams open for `holder` in this process (for tests and metrics). */
  count(holder: string): number {
    return this.byHolder.get(holder)?.size ?? 0
  }
}
