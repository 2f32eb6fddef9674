import { and, asc, eq, gt, max, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../db/client.ts'
import { events } from './tables.ts'
import { AppError } from '../errors.ts'
import { EVENTS_CHANNEL } from './outbox.ts'
import type { OutboxRow } from './outbox.ts'

/** Someone in this process who wants a project's new outbox rows as they commit. */
export interface EventListener {
  /** A batch of new rows, in `seq` order, each batch after the previous one. Must not throw or block. */
  deliver(batch: readonly OutboxRow[]): void
  /** The hub is stopping: end the stream. */
  close(): void
}

export type Subscription = {
  /** Every row with a larger seq reaches the listener; none up to it will. */
  cursor: number
  unsubscribe(): void
}

export type EventHubOptions = {
  /** How often projects with listeners are checked for rows a lost NOTIFY did not announce. */
  pollIntervalMs?: number
  /** Rows per query, when catching up. */
  pageSize?: number
}

/** One project's live feed: its listeners and how far the hub has read. */
type Feed = {
  projectId: string
  listeners: Set<EventListener>
  cursor: number
  ready: Promise<void>
  fetching: boolean
  /** A notification came while fetching: fetch again when done. */
  dirty: boolean
}

/**
 * Lets sockets take what was just delivered before the next query. On PGlite a
 * query runs in this thread, so back-to-back fetches would otherwise stack
 * batches unsent and make reading clients look like slow ones.
 */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))

const columns = {
  seq: events.seq,
  id: events.id,
  type: events.type,
  chatId: events.chatId,
  threadId: events.threadId,
  data: events.data,
  createdAt: events.createdAt,
}

/**
 * Fans the outbox out to the event streams of this process. One LISTEN on
 * `worken_events` for the whole process; a notification names a project, and
 * if anyone here follows it, ONE query reads its new rows (`seq > cursor`, in
 * pages) for all of its listeners. Notifications that arrive during that query
 * are coalesced into one more. Because `seq` order is commit order within a
 * project (see appendEvents), a cursor per project never skips a row.
 *
 * NOTIFY is best effort (a LISTEN connection that reconnects misses what was
 * sent meanwhile), so a slow poll also checks every followed project.
 *
 * @example
 *   const hub = new EventHub(database, logger)
 *   await hub.start()
 *   const { cursor, unsubscribe } = await hub.subscribe(projectId, { deliver: (rows) => …, close: () => … })
 */
export class EventHub {
  private readonly database: DatabaseHandle
  private readonly logger: Logger
  private readonly pollIntervalMs: number
  private readonly pageSize: number
  private readonly feeds = new Map<string, Feed>()
  private readonly fetches = new Set<Promise<void>>()
  private starting: Promise<void> | undefined
  private unlisten: (() => Promise<void>) | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(database: DatabaseHandle, logger: Logger, options: EventHubOptions = {}) {
    this.database = database
    this.logger = logger
    this.pollIntervalMs = options.pollIntervalMs ?? 5000
    this.pageSize = options.pageSize ?? 500
  }

  /** Opens the LISTEN and the poll. Idempotent; `subscribe` calls it too, so apps built without the server work. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.unlisten = await this.database.listen(EVENTS_CHANNEL, (projectId) => this.onNotify(projectId))
      this.pollTimer = setInterval(() => void this.poll(), this.pollIntervalMs)
      this.pollTimer.unref()
    })().catch((error: unknown) => {
      this.starting = undefined
      throw error
    })
    return this.starting
  }

  /**
   * Follows a project. Resolves once the hub knows where the project's feed
   * stands, with that position: rows after `cursor` reach the listener (in
   * batches, in order); rows up to it are the caller's to read (`read`).
   */
  async subscribe(projectId: string, listener: EventListener): Promise<Subscription> {
    if (this.stopped) throw new AppError('unavailable', 'The server is shutting down')
    await this.start()
    let feed = this.feeds.get(projectId)
    if (!feed) {
      const created: Feed = { projectId, listeners: new Set(), cursor: 0, ready: Promise.resolve(), fetching: false, dirty: false }
      created.ready = this.latestSeq(projectId).then((seq) => {
        created.cursor = seq
      })
      // A failed start must not leave a feed that every later subscriber would wait on.
      created.ready.catch(() => {
        if (this.feeds.get(projectId) === created) this.feeds.delete(projectId)
      })
      this.feeds.set(projectId, created)
      feed = created
    }
    await feed.ready
    if (this.stopped) throw new AppError('unavailable', 'The server is shutting down')
    // The feed may have been dropped (its last listener left) while we waited: follow the current one.
    if (this.feeds.get(projectId) !== feed) return this.subscribe(projectId, listener)
    const joined = feed
    joined.listeners.add(listener)
    return {
      // Read in the same turn as the add: no batch can fall between them.
      cursor: joined.cursor,
      unsubscribe: () => {
        joined.listeners.delete(listener)
        if (joined.listeners.size === 0 && this.feeds.get(projectId) === joined) this.feeds.delete(projectId)
      },
    }
  }

  /** Committed rows of a project after `afterSeq`, oldest first; only one thread's when `threadId` is set. */
  async read(projectId: string, afterSeq: number, options: { threadId?: string | null; limit: number }): Promise<OutboxRow[]> {
    const conditions = [eq(events.projectId, projectId), gt(events.seq, afterSeq)]
    if (options.threadId) conditions.push(eq(events.threadId, options.threadId))
    return this.database.db.select(columns).from(events).where(and(...conditions)).orderBy(asc(events.seq)).limit(options.limit)
  }

  /** The seq of the project's latest committed row; 0 when it has none. */
  async latestSeq(projectId: string): Promise<number> {
    const [row] = await this.database.db.select({ seq: max(events.seq) }).from(events).where(eq(events.projectId, projectId))
    return Number(row?.seq ?? 0)
  }

  /** Number of projects with listeners in this process (for tests and metrics). */
  get followedProjects(): number {
    return this.feeds.size
  }

  /** Ends every stream, stops listening and waits for fetches under way. New subscriptions are refused. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.pollTimer)
    for (const feed of this.feeds.values()) {
      for (const listener of feed.listeners) listener.close()
    }
    this.feeds.clear()
    await this.starting?.catch(() => {})
    await this.unlisten?.().catch(() => {})
    await Promise.allSettled([...this.fetches])
  }

  private onNotify(projectId: string): void {
    const feed = this.feeds.get(projectId)
    if (feed) this.catchUp(feed)
  }

  /** Reads and delivers the feed's new rows; if already reading, reads again afterwards. */
  private catchUp(feed: Feed): void {
    if (feed.fetching) {
      feed.dirty = true
      return
    }
    feed.fetching = true
    const fetch = this.fetchNew(feed).finally(() => {
      feed.fetching = false
      this.fetches.delete(fetch)
    })
    this.fetches.add(fetch)
  }

  private async fetchNew(feed: Feed): Promise<void> {
    try {
      await feed.ready
      do {
        feed.dirty = false
        for (;;) {
          if (this.stopped || this.feeds.get(feed.projectId) !== feed) return
          const rows = await this.read(feed.projectId, feed.cursor, { limit: this.pageSize })
          if (rows.length === 0 || this.feeds.get(feed.projectId) !== feed) break
          feed.cursor = rows.at(-1)!.seq
          for (const listener of feed.listeners) {
            try {
              listener.deliver(rows)
            } catch (error) {
              this.logger.error({ err: error, projectId: feed.projectId }, 'event listener failed')
            }
          }
          if (rows.length < this.pageSize) break
          await yieldToIo()
        }
        if (feed.dirty) await yieldToIo()
      } while (feed.dirty)
    } catch (error) {
      // The next notification or the poll tries again from the same cursor: nothing is skipped.
      if (!this.stopped) this.logger.warn({ err: error, projectId: feed.projectId }, 'reading new events failed')
    }
  }

  /** The safety net for lost notifications: one query for the latest seq of every followed project. */
  private async poll(): Promise<void> {
    if (this.stopped || this.feeds.size === 0) return
    try {
      const followed = [...this.feeds.values()]
      for (let start = 0; start < followed.length; start += 1000) {
        const chunk = followed.slice(start, start + 1000)
        const ids = sql.join(chunk.map((feed) => sql`(${feed.projectId})`), sql`, `)
        // One index lookup per project ((project_id, seq), read backwards), however long its history.
        const result = await this.database.db.execute(
          sql`select p.id as project_id, (select max(e.seq) from events e where e.project_id = p.id) as latest from (values ${ids}) as p(id)`,
        )
        // Both drivers answer `{ rows }`; bigint comes back as a string from node-postgres.
        const { rows } = result as unknown as { rows: Array<{ project_id: string; latest: string | number | null }> }
        for (const row of rows) {
          const feed = this.feeds.get(row.project_id)
          if (feed && Number(row.latest ?? 0) > feed.cursor) this.catchUp(feed)
        }
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'event poll failed')
    }
  }
}
