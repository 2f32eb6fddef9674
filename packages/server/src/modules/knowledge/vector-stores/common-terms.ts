import { sql } from 'drizzle-orm'
import type { DatabaseHandle } from '../../../platform/db/client.ts'

/**
 * A word found in more chunks than this is "common": matching on it alone would
 * make a search rank that many chunks (each one's tsvector read and scored),
 * while telling little about relevance (BM25's idf of a word in 2 % of 100,000
 * chunks is a third of a rare word's).
 */
export const COMMON_TERM_ROWS = 2_000

/** How long the planner's statistics are used before they are read again. */
export const STATISTICS_REFRESH_MS = 60_000

/**
 * `load`, called at most once per `ms`: later calls get the last value, and
 * calls while it loads share that one load.
 */
export function refreshedEvery<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let cached: { at: number; value: T } | undefined
  let loading: Promise<T> | undefined
  return () => {
    if (cached && Date.now() - cached.at < ms) return Promise.resolve(cached.value)
    loading ??= load()
      .then((value) => {
        cached = { at: Date.now(), value }
        return value
      })
      .finally(() => (loading = undefined))
    return loading
  }
}

/**
 * Which lexemes of `vector_store_chunks.search` are common, from the planner's
 * own statistics (`pg_stats.most_common_elems`, kept by ANALYZE): nothing is
 * counted at search time. Table-wide, not per store: a word common in another
 * store is common here too, which costs that store's searches some recall on
 * that word in the full-text list only (the vector list still has it).
 */
export class CommonTerms {
  private readonly handle: DatabaseHandle
  private readonly rows: number
  /** The common lexemes, read again at most once a minute. */
  readonly common: () => Promise<Set<string>>

  constructor(handle: DatabaseHandle, rows = COMMON_TERM_ROWS) {
    this.handle = handle
    this.rows = rows
    this.common = refreshedEvery(STATISTICS_REFRESH_MS, () => this.load())
  }

  private async load(): Promise<Set<string>> {
    const result = (await this.handle.db.execute(sql`
      select x.elem
      from pg_stats s
      cross join lateral unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as x(elem, freq)
      where s.schemaname = current_schema() and s.tablename = 'vector_store_chunks' and s.attname = 'search'
        and x.elem is not null
        and x.freq * (select greatest(reltuples, 0) from pg_class where oid = 'vector_store_chunks'::regclass) > ${this.rows}`)) as unknown as { rows: Array<{ elem: string }> }
    return new Set(result.rows.map((row) => row.elem))
  }
}

/** The chunks table's statistics go stale as files are indexed; ANALYZE after this many new chunks. */
const ANALYZE_EVERY_CHUNKS = 5_000

/**
 * Keeps the planner's statistics (and so `CommonTerms`) current while files
 * are indexed. Postgres's autovacuum would get there too; the embedded
 * database has no autovacuum.
 */
export class ChunkStatistics {
  private readonly handle: DatabaseHandle
  private sinceAnalyze = 0
  private running: Promise<void> | undefined

  constructor(handle: DatabaseHandle) {
    this.handle = handle
  }

  /** Counts new chunks; past the threshold, analyzes the table in the background. */
  added(chunks: number, onError: (error: unknown) => void): void {
    this.sinceAnalyze += chunks
    if (this.sinceAnalyze < ANALYZE_EVERY_CHUNKS || this.running) return
    this.sinceAnalyze = 0
    this.running = this.handle.db.execute(sql`analyze vector_store_chunks`).then(() => undefined, onError).finally(() => (this.running = undefined))
  }
}
