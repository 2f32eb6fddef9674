import type { Logger } from 'pino'
import type { EventHub, EventListener } from './hub.ts'
import type { OutboxRow } from './outbox.ts'
import { EVENT_STREAM_HEADERS, SseWriter } from '../http/sse.ts'

export { EVENT_STREAM_HEADERS }

export type EventStreamOptions = {
  hub: EventHub
  projectId: string
  /** Only this thread's events; every thread of the project when null. */
  threadId: string | null
  /** The client's `Last-Event-ID`: send everything after it first. Null: live events only. */
  lastEventId: number | null
  keepaliveMs: number
  /** Bytes a client may leave unread before the stream is cut. */
  maxBufferBytes: number
  logger: Logger
  /** Bytes the transport holds past the stream (Node's response and socket buffers), when it can tell. */
  transportBuffered?: () => number
  /** Drops the connection and what it buffers at once, when the transport allows; else the stream is errored. */
  abortConnection?: () => void
  /** Whether the caller may still read this project (its key not deleted, its membership not removed). */
  stillAuthorized?: () => Promise<boolean>
  reauthorizeMs?: number
  /**
   * Called first, with a function that ends this stream: may refuse it (throw, e.g. a 429 for a
   * credential over its cap) or keep the function to end it from outside (its key was deleted).
   * Returns the release, called once when the stream ends for any reason.
   */
  admit?: (close: () => void) => () => void
  /**
   * The SSE frame of one outbox row (`id:` + `data:`), or null for a row this
   * feed does not show. The same function for every stream, so that a batch's
   * frames are built once and shared.
   */
  frameOf: (row: OutboxRow) => Uint8Array | null
}

/** Rows per backlog query when a client resumes; small, because one row can be a 100,000-character message. */
const BACKLOG_PAGE = 100
/** How long a client over the cap has to bring its unread bytes down before it is cut. */
const SLOW_CHECK_MS = 1000
/** The stream's queue above which the backlog waits for the client to read (at most half the cap). */
const BACKLOG_HIGH_WATER_MARK = 64 * 1024

const encoder = new TextEncoder()
const batchChunks = new WeakMap<readonly OutboxRow[], Uint8Array | null>()

/** All frames of a batch as one chunk, built once and shared by every project-wide stream: one socket write each. */
function batchChunk(batch: readonly OutboxRow[], frameOf: (row: OutboxRow) => Uint8Array | null): Uint8Array | null {
  let chunk = batchChunks.get(batch)
  if (chunk === undefined) {
    const frames = batch.map(frameOf).filter((frame) => frame !== null)
    chunk = frames.length === 0 ? null : frames.length === 1 ? frames[0]! : Buffer.concat(frames)
    batchChunks.set(batch, chunk)
  }
  return chunk
}

/**
 * After a server restart every client reconnects; a spread of `retry:` hints
 * (1–5 s) keeps them from arriving, and reading their backlogs, all at once.
 */
function retryHintMs(): number {
  return 1000 + Math.floor(Math.random() * 4000)
}

/**
 * One client's `text/event-stream` of thread events: frames `id: <seq>` +
 * `data: <ThreadEvent JSON>`, keep-alive comments, and a first frame with a
 * `retry:` hint and the position the stream starts from (`id:` alone, which a
 * browser's EventSource records as its last event id without firing a message).
 *
 * Resuming is exact: the stream registers with the hub first (live rows are
 * buffered), then reads the backlog after `Last-Event-ID` from the outbox at
 * the client's pace, then sends the buffered live rows it has not sent yet.
 *
 * Memory is bounded: a client that does not read lets its bytes pile up in the
 * stream's queue and the transport's buffers (once the kernel's socket buffers
 * are full); with more than `maxBufferBytes` unread and not going down for a
 * second, it is cut, and resumes with its `Last-Event-ID`. So a stream holds
 * the cap plus what arrives in that second; batches are shared by every stream
 * of the project, so a burst costs its bytes once, not once per subscriber.
 */
export async function openEventStream(options: EventStreamOptions): Promise<Response> {
  return new EventStreamSession(options).open()
}

class EventStreamSession implements EventListener {
  private readonly options: EventStreamOptions
  private readonly highWaterMark: number
  private sse: SseWriter | undefined
  private state: 'catching-up' | 'live' | 'closed' = 'catching-up'
  /** Live batches that arrive while the backlog is read. */
  private pending: Array<readonly OutboxRow[]> = []
  private pendingBytes = 0
  /** The seq of the last row sent (or the start position): nothing at or before it is sent again. */
  private lastSent = 0
  private unsubscribe: () => void = () => {}
  private release: () => void = () => {}
  private reauthorizeTimer: NodeJS.Timeout | undefined
  private wakeBacklog: (() => void) | undefined
  private slowCheck: NodeJS.Timeout | undefined
  private unreadAtCheck = 0

  constructor(options: EventStreamOptions) {
    this.options = options
    this.highWaterMark = Math.max(1, Math.min(BACKLOG_HIGH_WATER_MARK, Math.floor(options.maxBufferBytes / 2)))
  }

  async open(): Promise<Response> {
    const { hub, projectId, lastEventId } = this.options
    if (this.options.admit) this.release = this.options.admit(() => this.revoke())
    let subscription
    try {
      subscription = await hub.subscribe(projectId, this)
    } catch (error) {
      this.finish()
      throw error
    }
    this.unsubscribe = subscription.unsubscribe
    let start = lastEventId ?? subscription.cursor
    if (lastEventId !== null && lastEventId > subscription.cursor) {
      try {
        // Ahead of this process's feed is normal (another process sent it, and our NOTIFY is
        // on its way); ahead of the database is not an id of this feed (a restored database,
        // another server): then start from now rather than wait for that seq.
        const latest = await hub.latestSeq(projectId)
        if (lastEventId > latest) start = latest
      } catch (error) {
        this.finish()
        throw error
      }
    }
    this.lastSent = start

    const sse = new SseWriter({
      keepaliveMs: this.options.keepaliveMs,
      highWaterMark: this.highWaterMark,
      onPull: () => this.wakeBacklog?.(),
      onCancel: () => this.finish(),
      // Unread data is as good as a comment for keeping proxies from timing out; don't add to it.
      keepaliveAllowed: () => this.buffered() === 0,
    })
    this.sse = sse
    const first = encoder.encode(`retry: ${retryHintMs()}\nid: ${start}\n\n`)
    if (this.state === 'closed') {
      // Ended before it began (the hub stopped, or a flood went past the cap meanwhile):
      // end at once, and the client reconnects from `start`.
      sse.write(first)
      sse.close()
    } else {
      this.write(first)
      this.armReauthorize()
      if (lastEventId === null) this.goLive()
      else void this.catchUp()
    }
    return sse.response
  }

  deliver(batch: readonly OutboxRow[]): void {
    if (this.state === 'closed') return
    if (this.slowCheck === undefined && this.unread() > this.options.maxBufferBytes) this.armSlowCheck()
    if (this.state === 'catching-up') {
      this.pending.push(batch)
      for (const row of batch) if (this.wants(row)) this.pendingBytes += this.options.frameOf(row)?.byteLength ?? 0
      return
    }
    const last = batch.at(-1)!.seq
    if (last <= this.lastSent) return
    if (this.options.threadId === null && batch[0]!.seq > this.lastSent) {
      const chunk = batchChunk(batch, this.options.frameOf)
      if (chunk) this.write(chunk)
    } else {
      for (const row of batch) {
        if (row.seq <= this.lastSent || !this.wants(row)) continue
        const frame = this.options.frameOf(row)
        if (frame) this.write(frame)
      }
    }
    this.lastSent = last
  }

  /** The hub is stopping (server shutdown): end the response so the drain does not wait for it. */
  close(): void {
    this.end()
  }

  private wants(row: OutboxRow): boolean {
    return this.options.threadId === null || row.threadId === this.options.threadId
  }

  /** Sends the backlog after `Last-Event-ID` at the pace the client reads it, then the live rows held meanwhile. */
  private async catchUp(): Promise<void> {
    const { hub, projectId, threadId } = this.options
    try {
      for (;;) {
        const rows = await hub.read(projectId, this.lastSent, { threadId, limit: BACKLOG_PAGE })
        for (const row of rows) {
          if (this.state === 'closed') return
          const frame = this.options.frameOf(row)
          if (frame) this.write(frame)
          this.lastSent = row.seq
          await this.roomToWrite()
        }
        if (rows.length < BACKLOG_PAGE) break
      }
      this.goLive()
    } catch (error) {
      if (this.state === 'closed') return
      // Ended, not cut: what was sent is whole, and the client resumes after it.
      this.options.logger.warn({ err: error, projectId }, 'reading the event backlog failed; ending the stream')
      this.end()
    }
  }

  private goLive(): void {
    if (this.state === 'closed') return
    this.state = 'live'
    const pending = this.pending
    this.pending = []
    this.pendingBytes = 0
    for (const batch of pending) this.deliver(batch)
  }

  /** Resolves when the client has read the queue below the high-water mark (the stream calls `pull`). */
  private roomToWrite(): Promise<void> {
    if (this.state === 'closed' || (this.sse?.desiredSize ?? 0) > 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.wakeBacklog = () => {
        this.wakeBacklog = undefined
        resolve()
      }
    })
  }

  /** Everything held for this client: live batches waiting for the backlog, and what was written but not sent. */
  private unread(): number {
    return this.pendingBytes + (this.sse ? this.buffered() : 0)
  }

  /**
   * More than the cap is unread. That alone does not mean the client stopped:
   * a burst (ten long messages) exceeds the cap at once, and on PGlite the
   * queries run in this thread, so the sockets may not have had a turn yet.
   * So look again a little later, once the event loop has done its I/O: a
   * client that did not bring its unread bytes down in that time (stalled, or
   * reading slower than events come) is cut; one that is catching up is given
   * another look.
   */
  private armSlowCheck(): void {
    this.unreadAtCheck = this.unread()
    this.slowCheck = setTimeout(() => {
      this.slowCheck = undefined
      if (this.state === 'closed') return
      const unread = this.unread()
      if (unread <= this.options.maxBufferBytes) return
      if (unread >= this.unreadAtCheck) return this.cut()
      this.armSlowCheck()
    }, SLOW_CHECK_MS)
  }

  /** Bytes written but not yet taken by the kernel: the stream's queue plus the transport's buffers. */
  private buffered(): number {
    const queue = this.highWaterMark - (this.sse?.desiredSize ?? this.highWaterMark)
    return queue + (this.options.transportBuffered?.() ?? 0)
  }

  private write(bytes: Uint8Array): void {
    if (this.state === 'closed') return
    this.sse?.write(bytes)
  }

  /**
   * A stream outlives the request that opened it; deleting the key (or the
   * membership) must still stop it. Checked every `reauthorizeMs`.
   */
  private armReauthorize(): void {
    const { stillAuthorized, reauthorizeMs } = this.options
    if (!stillAuthorized || !reauthorizeMs) return
    this.reauthorizeTimer = setTimeout(() => {
      if (this.state === 'closed') return
      stillAuthorized().then(
        (authorized) => {
          if (this.state === 'closed') return
          if (authorized) return this.armReauthorize()
          this.options.logger.info({ projectId: this.options.projectId }, 'event stream ended: the caller is no longer authorized')
          this.end()
        },
        // A database hiccup is not a revocation: check again next time.
        () => this.armReauthorize(),
      )
    }, reauthorizeMs)
    this.reauthorizeTimer.unref()
  }

  /** The client does not keep up: drop it with its buffered bytes. It resumes from the last event it received whole. */
  private cut(): void {
    const queuedBytes = this.unread()
    this.options.logger.info(
      { projectId: this.options.projectId, threadId: this.options.threadId, queuedBytes, maxBufferBytes: this.options.maxBufferBytes },
      'event stream cut: the client does not read fast enough',
    )
    this.finish()
    if (!this.sse) return
    if (this.options.abortConnection) {
      this.options.abortConnection()
      this.sse.close()
    } else {
      this.sse.error(new Error('The client does not keep up'))
    }
  }

  /** Ended from outside (the credential was deleted): at once, with nothing more sent. */
  private revoke(): void {
    if (this.state === 'closed') return
    this.options.logger.info({ projectId: this.options.projectId }, 'event stream ended: the caller is no longer authorized')
    this.end()
  }

  /** Ends the response cleanly: what is queued is still sent. */
  private end(): void {
    if (this.state === 'closed') return
    this.finish()
    this.sse?.close()
  }

  private finish(): void {
    this.state = 'closed'
    this.pending = []
    this.pendingBytes = 0
    clearTimeout(this.reauthorizeTimer)
    clearTimeout(this.slowCheck)
    this.unsubscribe()
    this.release()
    this.wakeBacklog?.()
  }
}
