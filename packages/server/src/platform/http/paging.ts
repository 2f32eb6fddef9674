import { asc, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm'
import { AppError } from '../errors.ts'

/** `limit` and `offset` of an offset list, defaults applied (`Page` in fields.ts). */
export type PageParams = { limit: number; offset: number }

/** A page of an offset list: its items, and how many the whole list has (answered as `X-Total-Count`). */
export type OffsetPage<T> = { data: T[]; total: number }

/**
 * Selected beside a list's columns: how many rows the query matched before its LIMIT and
 * OFFSET, on every row, so a page and its total cost one statement. (Not for wide rows: the
 * window reads every matching row first; count those separately.)
 */
export const totalCount = () => sql<number>`count(*) over ()`.mapWith(Number)

/** Rows read with `totalCount` → the page. Past the end no row carries the total: only then is `countAll` asked. */
export async function toOffsetPage<Row extends { total: number }, T>(rows: Row[], page: PageParams, map: (row: Row) => T, countAll: () => Promise<number>): Promise<OffsetPage<T>> {
  if (rows.length > 0) return { data: rows.map(map), total: rows[0]!.total }
  return { data: [], total: page.offset > 0 ? await countAll() : 0 }
}

/** The header of an offset list's answer: `c.json(page.data, 200, totalHeader(page))`. */
export const totalHeader = (page: OffsetPage<unknown>) => ({ 'X-Total-Count': String(page.total) })

/** OpenAI's list parameters: `limit`, `order` (by creation), and an `after` or `before` cursor (an object id). */
export type CursorParams = { limit: number; order: 'asc' | 'desc'; after?: string | undefined; before?: string | undefined }

export type CursorList<T> = { object: 'list'; data: T[]; first_id: string | null; last_id: string | null; has_more: boolean }

/**
 * The keyset part of a list query: where to start and in which direction to
 * read. `cursorRow` selects the cursor's `(created_at, id)`; it is compared in
 * SQL because a JS Date would drop the microseconds. `before` reads backwards
 * and the caller reverses the rows (see `toCursorList`).
 */
export function keyset(params: CursorParams, createdAt: AnyColumn, id: AnyColumn, cursorRow: (cursorId: string) => SQL) {
  if (params.after !== undefined && params.before !== undefined) {
    throw AppError.validation([{ path: 'query', message: 'give `after` or `before`, not both' }])
  }
  const ascending = params.order === 'asc'
  const backwards = params.before !== undefined
  const readAscending = backwards ? !ascending : ascending
  const cursor = params.after ?? params.before
  const position = cursor === undefined
    ? undefined
    : readAscending
      ? sql`(${createdAt}, ${id}) > (${cursorRow(cursor)})`
      : sql`(${createdAt}, ${id}) < (${cursorRow(cursor)})`
  const orderBy = readAscending ? [asc(createdAt), asc(id)] : [desc(createdAt), desc(id)]
  return { position, orderBy, backwards, limit: params.limit + 1 }
}

/** Rows read with `keyset` (one more than the limit) → OpenAI's list page. */
export function toCursorList<Row, T extends { id: string }>(rows: Row[], params: CursorParams, backwards: boolean, map: (row: Row) => T): CursorList<T> {
  const hasMore = rows.length > params.limit
  const page = rows.slice(0, params.limit)
  if (backwards) page.reverse()
  const data = page.map(map)
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore }
}

