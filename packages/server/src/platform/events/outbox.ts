import { sql, type SQL } from 'drizzle-orm'
import { executePrepared, type Database } from '../db/client.ts'
import { newId } from '../db/ids.ts'

/** An event to append; its `type` is the owning module's (`thread.created`, `chat.deleted`, …). */
export type OutboxEvent = {
  type: string
  chatId?: string | null
  threadId?: string | null
  data: Record<string, unknown>
}

/** An outbox row as the live feeds read it. */
export type OutboxRow = {
  seq: number
  id: string
  type: string
  chatId: string | null
  threadId: string | null
  data: unknown
  createdAt: Date
}

/** NOTIFY channel announcing new outbox rows (payload: the project id). */
export const EVENTS_CHANNEL = 'worken_events'

/** First key of the outbox's advisory locks (the second is the project's hash); 'Wout'. */
const OUTBOX_LOCK_CLASS = 0x576f7574

/**
 * Something more that must happen exactly when events are appended, in the
 * same transaction — a webhook delivery per subscribed endpoint, a channel
 * send. Its statement reads the new rows from `appended` (`id`, `type`,
 * `chat_id`, `thread_id`, `data`, `created_at`) and writes its own table; it
 * runs inside the statement that inserts the events, so the consumer costs no
 * round trip. Consumers are given to the `Outbox` when the process is built.
 */
export type OutboxConsumer = {
  /** For logs and errors. */
  name: string
  /** A data-modifying statement (an `insert … select … from appended …`) for one project's new events. */
  statement(projectId: string): SQL
}

/**
 * The outbox: every domain event, written in the transaction of the change that
 * caused it, in one order per project, with its consumers and the NOTIFY that
 * wakes the live feeds of every process (sent by Postgres at the commit, never
 * for a rollback). Built once per process.
 *
 * @example
 *   const outbox = new Outbox([webhookDeliveryWriter])
 *   await database.db.transaction(async (tx) => { …; await outbox.append(tx, projectId, [event]) })
 */
export class Outbox {
  private readonly consumers: readonly OutboxConsumer[]

  constructor(consumers: readonly OutboxConsumer[] = []) {
    this.consumers = consumers
  }

  /**
   * Appends events inside the caller's transaction, so they exist exactly when
   * the change that caused them does, runs the consumers on them and queues the
   * NOTIFY, all in one statement: one round trip.
   *
   * Within a project, `seq` order is commit order: the statement takes the
   * project's outbox lock before its rows get their `seq` (the rows are joined to
   * the lock, so none is formed without it) and the transaction keeps it until it
   * commits. Without it a reader could see seq 11 committed while seq 10 is still
   * in flight, move its cursor past 10 and never deliver it (SSE resume, webhooks).
   * Call this last in the transaction: the lock serialises the rest of it.
   */
  async append(tx: Database, projectId: string, list: OutboxEvent[]): Promise<void> {
    if (list.length === 0) return
    // The events go as one JSON parameter, so the statement's text is the same for every append
    // and Postgres keeps its plan (planning this statement, consumers and all, cost more than running it).
    const events = JSON.stringify(list.map((event) => ({ id: newId('evt'), type: event.type, chat_id: event.chatId ?? null, thread_id: event.threadId ?? null, data: event.data })))
    const locked = sql`locked as (select pg_advisory_xact_lock(${OUTBOX_LOCK_CLASS}, hashtext(${projectId})))`
    const appended = sql`appended as (
      insert into events (id, project_id, type, chat_id, thread_id, data)
      select new.id, ${projectId}, new.type, new.chat_id, new.thread_id, new.data
      from rows from (jsonb_to_recordset(${events}::jsonb) as (id text, type text, chat_id text, thread_id text, data jsonb))
        with ordinality as new (id, type, chat_id, thread_id, data, position), locked
      order by new.position
      returning id, type, chat_id, thread_id, data, created_at
    )`
    const consumers = this.consumers.map((consumer, index) => sql`${sql.raw(`consumer_${index}`)} as (${consumer.statement(projectId)})`)
    // Data-modifying CTEs all run, whether or not the final select reads them. NOTIFY in a
    // transaction is delivered at its commit (identical ones once), so a listener that wakes finds the rows.
    await executePrepared(tx, 'outbox_append', sql`with ${sql.join([locked, appended, ...consumers], sql`, `)} select count(*), pg_notify(${EVENTS_CHANNEL}, ${projectId}) from appended`)
  }
}
