import { createHash } from 'node:crypto'
import type { z } from '@hono/zod-openapi'
import { sql, type SQL } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { ID_PATTERN } from '../../platform/db/ids.ts'
import { AppError } from '../../platform/errors.ts'
import type { Thread, ThreadMode } from './threads.ts'
import type { ThreadListSchema } from './schemas.ts'

export type ThreadListQuery = {
  chatId?: string
  botId?: string
  search?: string
  limit: number
  offset: number
  cursor?: string
}

/** A page of `GET /threads` (the API object `ThreadList`), typed once from its schema. */
export type ThreadPage = z.infer<typeof ThreadListSchema>

/**
 * What a cursor remembers: the moment the first page was read (`snapshot`), the
 * position after the last row returned (`key`: activity time or search rank, and
 * the thread id), and which filters it belongs to.
 *
 * Paging is over the project **as it was at `snapshot`**: a thread that gets a
 * message while the client pages keeps the place it had then, so no thread is
 * skipped or repeated; threads created after the snapshot are not in the walk
 * (the live event stream, or a new first page, shows them).
 */
type CursorState = { v: 1; snapshot: string; key: [string | number, string]; filters: string }

/** Timestamps as text with microseconds: a JS Date (milliseconds) would make keyset comparisons drift. */
const isoMicros = (expression: SQL) => sql`to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

const threadColumns = sql`t.id, t.chat_id, t.bot_id, t.mode, t.title, t.pending_count,
  ${isoMicros(sql`t.last_message_at`)} as last_message_at, ${isoMicros(sql`t.created_at`)} as created_at`

type ThreadListRow = {
  id: string
  chat_id: string
  bot_id: string
  mode: string
  title: string | null
  pending_count: number | string
  last_message_at: string | null
  created_at: string
  sort_key: string | number
  snapshot: string
}

/**
 * `GET /threads`: most recent activity first, or best match first with `search`.
 * `offset` skips rows from where the page starts: the top without a cursor, the
 * cursor's position with one. `next_cursor` continues after the last row returned.
 */
export async function listThreads(db: Database, projectId: string, query: ThreadListQuery): Promise<ThreadPage> {
  const filters = filterFingerprint(query)
  const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, filters, query.search !== undefined)
  const take = query.limit + 1 // one more tells whether a next page exists
  const rows = query.search ? await searchPage(db, projectId, query, cursor, take) : await activityPage(db, projectId, query, cursor, take)
  const page = rows.slice(0, query.limit)
  const last = page.at(-1)
  const next = rows.length > query.limit && last
    ? encodeCursor({ v: 1, snapshot: cursor?.snapshot ?? last.snapshot, key: [typeof last.sort_key === 'string' ? last.sort_key : Number(last.sort_key), last.id], filters })
    : null
  return { data: page.map(toThreadFromRow), next_cursor: next }
}

function filterSql(query: ThreadListQuery): SQL {
  return sql.join([
    query.chatId !== undefined ? sql` and t.chat_id = ${query.chatId}` : sql``,
    query.botId !== undefined ? sql` and t.bot_id = ${query.botId}` : sql``,
  ])
}

async function activityPage(db: Database, projectId: string, query: ThreadListQuery, cursor: CursorState | null, take: number): Promise<ThreadListRow[]> {
  const filters = filterSql(query)
  if (!cursor) {
    return rowsOf(await db.execute(sql`
      select ${threadColumns}, ${isoMicros(sql`t.activity_at`)} as sort_key, ${isoMicros(sql`now()`)} as snapshot
      from threads t
      where t.project_id = ${projectId}${filters}
      order by t.activity_at desc nulls last, t.id desc nulls last
      limit ${take} offset ${query.offset}`))
  }
  const snapshot = sql`${cursor.snapshot}::timestamptz`
  const [afterActivity, afterId] = cursor.key
  // Two kinds of threads existed at the snapshot: untouched since (their activity is
  // still what the first page saw; the index walks them from the cursor on) and touched
  // since (few; their activity at the snapshot is their last message up to it).
  return rowsOf(await db.execute(sql`
    with walk as (
      (select ${threadColumns}, t.activity_at as as_of
        from threads t
        where t.project_id = ${projectId}${filters}
          and t.activity_at <= ${snapshot}
          and (t.activity_at, t.id) < (${afterActivity}::timestamptz, ${afterId})
        order by t.activity_at desc nulls last, t.id desc nulls last
        limit ${take + query.offset})
      union all
      (select ${threadColumns},
          coalesce((select m.created_at from messages m
                    where m.project_id = t.project_id and m.thread_id = t.id and m.created_at <= ${snapshot}
                    order by m.seq desc limit 1), t.created_at) as as_of
        from threads t
        where t.project_id = ${projectId}${filters}
          and t.activity_at > ${snapshot} and t.created_at <= ${snapshot})
    )
    select walk.*, ${isoMicros(sql`as_of`)} as sort_key, ${cursor.snapshot} as snapshot
    from walk
    where (as_of, id) < (${afterActivity}::timestamptz, ${afterId})
    order by as_of desc, id desc
    limit ${take} offset ${query.offset}`))
}

/**
 * How many matching messages, newest first, a search ranks. Ranking every match
 * of a common word in a large project costs a read of each (200,000 for "orders"
 * in the benchmark's 1M messages: ~450 ms); the newest N are found by walking an
 * index backwards and cost the same whatever the project's size.
 */
export const SEARCH_CANDIDATES = 2000

/**
 * Threads whose messages match, ranked by their best-matching message
 * (`ts_rank`) among the newest `SEARCH_CANDIDATES` matching messages (within
 * the filters), ties by id. Paging with a cursor considers only messages that
 * existed at the snapshot, so ranks (and the order) do not move under the client.
 */
async function searchPage(db: Database, projectId: string, query: ThreadListQuery, cursor: CursorState | null, take: number): Promise<ThreadListRow[]> {
  // The query inline (not in a CTE) so the planner sees its words and picks GIN or the newest-first walk.
  const tsquery = sql`websearch_to_tsquery('russian', ${query.search})`
  const messageFilters = sql.join([
    query.chatId !== undefined ? sql` and m.chat_id = ${query.chatId}` : sql``,
    query.botId !== undefined ? sql` and m.bot_id = ${query.botId}` : sql``,
    cursor ? sql` and m.created_at <= ${cursor.snapshot}::timestamptz` : sql``,
  ])
  const after = cursor ? sql` where (hit.rank, t.id) < (${Number(cursor.key[0])}::real, ${cursor.key[1]})` : sql``
  return rowsOf(await db.execute(sql`
    with candidates as (
      select m.thread_id, ts_rank(m.search, ${tsquery}) as rank
      from messages m
      where m.project_id = ${projectId}${messageFilters} and m.search @@ ${tsquery}
      order by m.seq desc
      limit ${SEARCH_CANDIDATES}
    ),
    hits as (select thread_id, max(rank) as rank from candidates group by thread_id)
    select ${threadColumns}, hit.rank as sort_key, ${cursor ? sql`${cursor.snapshot}` : isoMicros(sql`now()`)} as snapshot
    from hits hit
    -- One primary-key lookup per hit ("limit 1" keeps the planner from turning it into a scan of all threads).
    cross join lateral (select * from threads t where t.project_id = ${projectId} and t.id = hit.thread_id limit 1) t
    ${after}
    order by hit.rank desc, t.id desc
    limit ${take} offset ${query.offset}`))
}

function rowsOf(result: unknown): ThreadListRow[] {
  return (result as { rows: ThreadListRow[] }).rows
}

function toThreadFromRow(row: ThreadListRow): Thread {
  return {
    id: row.id,
    chat_id: row.chat_id,
    bot_id: row.bot_id,
    mode: row.mode as ThreadMode,
    title: row.title,
    last_message_at: row.last_message_at === null ? null : new Date(row.last_message_at).toISOString(),
    pending_count: Number(row.pending_count),
    created_at: new Date(row.created_at).toISOString(),
  }
}

/** A cursor is valid only with the filters it was issued for. */
function filterFingerprint(query: ThreadListQuery): string {
  return createHash('sha256').update(JSON.stringify([query.chatId ?? null, query.botId ?? null, query.search ?? null])).digest('base64url').slice(0, 16)
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url')
}

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

/** An ISO time with microseconds that names a real instant (Date rolls 02-31 over to March; Postgres would refuse it). */
function isMicrosTime(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_MICROS.test(value)) return false
  const date = new Date(value)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 23) === value.slice(0, 23)
}

function decodeCursor(text: string, filters: string, ranked: boolean): CursorState {
  const invalid = () => AppError.validation([{ path: 'cursor', message: 'is not a cursor this endpoint issued' }])
  let state: unknown
  try {
    state = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (!isCursorState(state) || typeof state.key[0] !== (ranked ? 'number' : 'string')) throw invalid()
  if (state.filters !== filters) throw AppError.validation([{ path: 'cursor', message: 'was issued for other filters (chat_id, bot_id, search); keep them unchanged while paging' }])
  return state
}

function isCursorState(value: unknown): value is CursorState {
  if (typeof value !== 'object' || value === null) return false
  const state = value as Record<string, unknown>
  if (state.v !== 1 || !isMicrosTime(state.snapshot) || typeof state.filters !== 'string') return false
  if (!Array.isArray(state.key) || state.key.length !== 2 || typeof state.key[1] !== 'string' || !ID_PATTERN.test(state.key[1])) return false
  const sortKey: unknown = state.key[0]
  return isMicrosTime(sortKey) || (typeof sortKey === 'number' && Number.isFinite(sortKey) && Math.abs(sortKey) < 1e30)
}
