import { sql, type SQL } from 'drizzle-orm'
import type { Embedder } from '../local-embedder.ts'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import { COMMON_TERM_ROWS, CommonTerms, refreshedEvery, STATISTICS_REFRESH_MS } from './common-terms.ts'
import { filterToSql } from './filters.ts'
import { quoteLiteral } from './indexer.ts'
import type { KnowledgeSearch, SearchMode, SearchOutcome, SearchRequest, SearchResult } from './search-types.ts'
import { liveStoreIds, type VectorStoreService } from './stores.ts'

/** Reciprocal rank fusion's constant (Cormack et al. 2009): a result at rank r adds 1 / (K + r). */
const RRF_K = 60

export type SearchOptions = {
  /**
   * Up to this many chunks in the searched stores, the vector side is an exact
   * scan (perfect recall, and no HNSW over-fetching for a small store in a big
   * table); above it, the HNSW index with pgvector's iterative scan.
   */
  exactScanMaxChunks: number
  /**
   * With a filter, also an exact scan when the filter keeps at most this share of the stores' chunks
   * and at most `exactScanFilteredMaxChunks` of them. HNSW with a selective filter walks far through
   * the graph and may still come back short (one topic of 100,000 chunks: 80 ms for 40 of the 50
   * candidates); the exact scan of the same 2,400 chunks takes ~50 ms and is complete.
   */
  exactScanFilteredShare: number
  exactScanFilteredMaxChunks: number
  /** Candidates taken from each ranked list before fusion. */
  candidates: number
  /** HNSW's `ef_search`: the candidate list it keeps while walking the graph. */
  efSearch: number
  /**
   * pgvector's `hnsw.max_scan_tuples`: how far an iterative scan walks to find rows that pass the
   * store and attribute filters before it gives up with fewer. The budget is what finding
   * `candidates` rows twice over would take if the passing rows were spread evenly through the
   * table (2 × candidates ÷ their share of it), kept between these two. A store or filter holding
   * a small share of a shared table needs the long walk; a broad filter that happens to keep few of
   * the query's own neighbours (English words, Russian files only) does not get one: with
   * pgvector's default 20,000 for every search, those took 150–250 ms on PGlite for 100,000 chunks.
   */
  minScanTuples: number
  maxScanTuples: number
  /** A word in more chunks than this does not qualify a chunk for the full-text list on its own (see CommonTerms). */
  commonTermRows: number
}

const DEFAULTS: SearchOptions = {
  exactScanMaxChunks: 2_000,
  exactScanFilteredShare: 0.05,
  exactScanFilteredMaxChunks: 10_000,
  candidates: 50,
  efSearch: 100,
  minScanTuples: 5_000,
  maxScanTuples: 20_000,
  commonTermRows: COMMON_TERM_ROWS,
}

type Ranked = number[]
/**
 * How the vector side finds a query's nearest chunks (see plan()): an exact scan over these files'
 * chunks, or the HNSW index, where `rows` chunks pass the store and attribute filters.
 */
type VectorPlan = { exact: true; files: Array<{ storeId: string; fileId: string }> } | { exact: false; rows: number }

/**
 * Hybrid search over a project's vector stores: for each query, the chunks
 * nearest to its embedding (pgvector, cosine) and the best full-text matches
 * (`tsvector`, any of the query's words, ranked by cover density), fused with
 * reciprocal rank fusion. Exact terms (codes, names) that a lexical-grade or
 * semantic embedder blurs are found by the full-text side; paraphrases by the
 * vector side. Without pgvector, full text alone (`mode: 'full_text'`).
 *
 * Scores are the fused score divided by its maximum (first in every list), so
 * they lie in (0, 1]: 1 means the top hit of every ranking.
 */
export class VectorStoreSearch implements KnowledgeSearch {
  private readonly handle: DatabaseHandle
  private readonly stores: VectorStoreService
  private readonly embedder: Embedder | undefined
  private readonly options: SearchOptions
  private readonly commonTerms: CommonTerms

  /** `embedder` undefined: this database has no pgvector, so full text only. */
  constructor(handle: DatabaseHandle, stores: VectorStoreService, embedder: Embedder | undefined, options: Partial<SearchOptions> = {}) {
    this.handle = handle
    this.stores = stores
    this.embedder = embedder
    this.options = { ...DEFAULTS, ...options }
    this.commonTerms = new CommonTerms(handle, this.options.commonTermRows)
  }

  get mode(): SearchMode {
    return this.embedder ? 'hybrid' : 'full_text'
  }

  private get db(): Database {
    return this.handle.db
  }

  async search(request: SearchRequest): Promise<SearchOutcome> {
    const mode = this.mode
    // Only the project's live stores are searched; other ids are simply not searched.
    const storeIds = await liveStoreIds(this.db, request.projectId, request.vectorStoreIds)
    const queries = request.queries.map((query) => query.trim()).filter((query) => query.length > 0)
    if (storeIds.length === 0 || queries.length === 0) return { mode, results: [] }
    const filter = request.filters ? filterToSql(request.filters, sql`f.attributes`) : sql`true`

    const weights = request.weights ?? { embedding: 1, text: 1 }
    const vectorSide = this.embedder !== undefined && weights.embedding > 0
    const plan = vectorSide ? await this.plan(storeIds, filter, request.filters !== undefined) : undefined
    // Without an embedder, full text ranks alone whatever its weight.
    const textRanks = weights.text > 0 || !this.embedder
    const lists: Array<{ ids: Ranked; weight: number }> = []
    // The full-text candidates also feed the vector side's re-ranking on big stores (see nearest()).
    const textLists: Ranked[] = []
    if (textRanks || (plan && !plan.exact)) {
      for (const query of queries) textLists.push(await this.fullText(storeIds, query, filter))
    }
    if (textRanks) for (const ids of textLists) lists.push({ ids, weight: weights.text > 0 ? weights.text : 1 })
    if (plan) {
      const vectors = await this.embedder!.embed(queries)
      const lexical = [...new Set(textLists.flat())]
      for (const vector of vectors) lists.push({ ids: await this.nearest(storeIds, vector, filter, plan, lexical), weight: weights.embedding })
    }

    const fused = fuse(lists)
    const top = fused.filter((hit) => hit.score >= (request.scoreThreshold ?? 0)).slice(0, request.maxResults)
    void this.stores.touch(storeIds).catch(() => {})
    return { mode, results: await this.load(top) }
  }

  /**
   * How the vector side looks up the nearest chunks: an exact scan over the
   * files that pass the filter when the chunks it would rank (theirs) are few,
   * or a filter keeps a small share of the stores' chunks; otherwise the HNSW index.
   *
   * The files are looked up here, once, rather than joined into the exact
   * statement: the planner cannot estimate an attribute filter (a jsonb
   * expression) and, taking it to keep many files, would read every embedding
   * of the store first.
   */
  private async plan(storeIds: string[], filter: SQL, filtered: boolean): Promise<VectorPlan> {
    const [row] = await rowsOf<{ total: string | number; kept: string | number }>(this.db.execute(sql`
      select coalesce(sum(f.chunk_count), 0) as total, coalesce(sum(f.chunk_count) filter (where ${filter}), 0) as kept
      from vector_store_files f
      where f.vector_store_id in ${storeIds} and f.status = 'processed'`))
    const total = Number(row?.total ?? 0)
    const kept = Number(row?.kept ?? 0)
    const selective = filtered && kept <= total * this.options.exactScanFilteredShare && kept <= this.options.exactScanFilteredMaxChunks
    if (kept > this.options.exactScanMaxChunks && !selective) return { exact: false, rows: kept }
    const files = await rowsOf<{ vector_store_id: string; file_id: string }>(this.db.execute(sql`
      select f.vector_store_id, f.file_id
      from vector_store_files f
      where f.vector_store_id in ${storeIds} and f.status = 'processed' and f.chunk_count > 0 and ${filter}`))
    return { exact: true, files: files.map((file) => ({ storeId: file.vector_store_id, fileId: file.file_id })) }
  }

  /**
   * Full-text candidates, best first: chunks with every term of the query
   * (websearch syntax: quotes make a phrase, `-` excludes; a code such as
   * SKU-48213 is a phrase of its parts) first, then those with some of them,
   * each group by cover density (more of the terms, closer together). Any term
   * rather than the parser's all: a question rarely has every one of its words
   * in one chunk. But a chunk qualifies by its rarer terms only (see
   * CommonTerms): matching "how", "order" or "delivery" alone would have a big
   * store rank tens of thousands of chunks on every search. When every term is
   * common, the chunks must have all of them.
   */
  private async fullText(storeIds: string[], query: string, filter: SQL): Promise<Ranked> {
    const [parsed] = await rowsOf<{ every: string }>(this.db.execute(sql`select websearch_to_tsquery('russian', ${query})::text as every`))
    const every = parsed?.every ?? ''
    const groups = topLevelTerms(every)
    const wanted = groups.filter((group) => !group.startsWith('!'))
    if (wanted.length === 0) return [] // nothing asked for (stop words only, or only exclusions)
    const excluded = groups.filter((group) => group.startsWith('!')).map((group) => group.slice(1))
    const common = await this.commonTerms.common()
    const rare = wanted.filter((group) => lexemesOf(group).some((lexeme) => !common.has(lexeme)))
    const any = wanted.map((group) => `(${group})`).join(' | ')
    // What qualifies a chunk: a rare term, or (all of them common) every term, as websearch parsed them.
    const qualifies = rare.length > 0 ? rare.map((group) => `(${group})`).join(' | ') : every
    const exclusions = excluded.length > 0 ? sql`and not c.search @@ ${excluded.map((group) => `(${group})`).join(' | ')}::tsquery` : sql``
    const rows = await rowsOf<{ id: string | number }>(this.db.execute(sql`
      select c.id
      from vector_store_chunks c
      join vector_store_files f on f.vector_store_id = c.vector_store_id and f.file_id = c.file_id
      where c.vector_store_id in ${storeIds} and c.search @@ ${qualifies}::tsquery ${exclusions}
        and f.status = 'processed' and ${filter}
      order by c.search @@ ${every}::tsquery desc, ts_rank_cd(c.search, ${any}::tsquery) desc, c.id
      limit ${this.options.candidates}`))
    return rows.map((row) => Number(row.id))
  }

  /**
   * Chunks nearest to `vector` by cosine distance. Up to `exactScanMaxChunks`
   * an exact scan. Above, the model's HNSW index, whose top candidates are
   * re-ranked exactly together with the full-text side's (`lexical`): graph
   * search is weak when the query is almost equally far from every chunk, which
   * is the usual case for a short query under a lexical embedder such as the
   * embedded one (its true neighbours are the chunks sharing its rarer words,
   * which the full-text side finds). See BENCHMARKS.md for the recall of each.
   */
  private async nearest(storeIds: string[], vector: number[], filter: SQL, plan: VectorPlan, lexical: number[] = []): Promise<Ranked> {
    const model = this.embedder!.id
    const dimensions = vector.length
    const literal = `[${vector.join(',')}]`
    if (plan.exact) {
      if (plan.files.length === 0) return []
      // Chunks by the (store, file) index, then their embeddings by key: only the scope's vectors are read.
      // The pairs go as two comma-separated parameters (ids never hold a comma), whatever their number.
      // The dimension check is in the distance, not the WHERE clause: the planner takes `vector_dims(…) = n`
      // to keep 0.5% of the rows and then reads every embedding first (1.0–1.5 s against 50 ms, 3,760 chunks).
      const rows = await rowsOf<{ id: string | number; distance: number | null }>(this.db.execute(sql`
        select e.chunk_id as id, case when vector_dims(e.embedding) = ${dimensions} then e.embedding <=> ${literal}::vector end as distance
        from unnest(string_to_array(${plan.files.map((file) => file.storeId).join(',')}::text, ','),
                    string_to_array(${plan.files.map((file) => file.fileId).join(',')}::text, ',')) as scope(store_id, file_id)
        join vector_store_chunks c on c.vector_store_id = scope.store_id and c.file_id = scope.file_id
        join vector_store_chunk_embeddings e on e.chunk_id = c.id
        where e.model = ${model}
        order by distance nulls last, e.chunk_id
        limit ${this.options.candidates}`))
      return rows.filter((row) => row.distance !== null).map((row) => Number(row.id))
    }
    const scanTuples = scanBudget(plan.rows, await this.tableRows(), this.options)
    const graph = await this.hnsw(storeIds, literal, dimensions, model, filter, scanTuples)
    const candidates = [...new Set([...graph, ...lexical])]
    if (lexical.length === 0 || candidates.length === graph.length) return graph
    const rows = await rowsOf<{ id: string | number }>(this.db.execute(sql`
      select e.chunk_id as id
      from vector_store_chunk_embeddings e
      where e.chunk_id in ${candidates} and e.model = ${model} and vector_dims(e.embedding) = ${dimensions}
      order by e.embedding <=> ${literal}::vector, e.chunk_id
      limit ${this.options.candidates}`))
    return rows.map((row) => Number(row.id))
  }

  /** The HNSW index's nearest chunks (the expression and predicate must be the index's, written out: see indexer.ts vectorIndexName). */
  hnsw(storeIds: string[], literal: string, dimensions: number, model: string, filter: SQL, scanTuples: number): Promise<Ranked> {
    const distance = sql.raw(`(e.embedding::vector(${dimensions})) <=> `)
    const typedQuery = sql`${literal}::vector(${sql.raw(String(dimensions))})`
    return this.db.transaction(async (tx) => {
      // Iterative scans keep walking the graph until enough rows pass the filters
      // (relaxed order: re-sorted below), instead of returning fewer than asked.
      // One round trip for both settings (`set local` is one per statement); `true`: this transaction only.
      await tx.execute(sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', ${String(this.options.efSearch)}, true),
        set_config('hnsw.max_scan_tuples', ${String(scanTuples)}, true)`)
      const rows = await rowsOf<{ id: string | number }>(tx.execute(sql`
        with hits as materialized (
          select e.chunk_id as id, ${distance}${typedQuery} as distance
          from vector_store_chunk_embeddings e
          join vector_store_files f on f.vector_store_id = e.vector_store_id and f.file_id = e.file_id
          where e.model = ${sql.raw(quoteLiteral(model))} and e.vector_store_id in ${storeIds} and f.status = 'processed' and ${filter}
          order by ${distance}${typedQuery}
          limit ${this.options.candidates}
        )
        select id from hits order by distance, id`))
      return rows.map((row) => Number(row.id))
    })
  }

  /** The planner's estimate of the embeddings table's rows (kept by ANALYZE; -1 before the first). */
  private readonly tableRows = refreshedEvery(STATISTICS_REFRESH_MS, async () => {
    const [row] = await rowsOf<{ rows: string | number }>(this.db.execute(sql`select reltuples as rows from pg_class where oid = 'vector_store_chunk_embeddings'::regclass`))
    return Number(row?.rows ?? -1)
  })

  private async load(hits: Array<{ id: number; score: number }>): Promise<SearchResult[]> {
    if (hits.length === 0) return []
    const rows = await rowsOf<{ id: string | number; content: string; file_id: string; vector_store_id: string; filename: string; attributes: SearchResult['attributes'] }>(this.db.execute(sql`
      select c.id, c.content, c.file_id, c.vector_store_id, f.filename, f.attributes
      from vector_store_chunks c
      join vector_store_files f on f.vector_store_id = c.vector_store_id and f.file_id = c.file_id
      where c.id in ${hits.map((hit) => hit.id)}`))
    const byId = new Map(rows.map((row) => [Number(row.id), row]))
    return hits.flatMap((hit) => {
      const row = byId.get(hit.id)
      if (!row) return [] // removed between ranking and loading
      return [{
        file_id: row.file_id,
        filename: row.filename,
        score: hit.score,
        attributes: row.attributes,
        content: [{ type: 'text' as const, text: row.content }],
        vector_store_id: row.vector_store_id,
      }]
    })
  }
}

/** Weighted reciprocal rank fusion of ranked id lists, scores normalised to (0, 1]. */
export function fuse(lists: Array<{ ids: Ranked; weight: number }>): Array<{ id: number; score: number }> {
  const scores = new Map<number, number>()
  for (const { ids, weight } of lists) ids.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + weight / (RRF_K + index + 1)))
  const best = lists.reduce((sum, list) => sum + list.weight, 0) / (RRF_K + 1)
  return [...scores]
    .map(([id, score]) => ({ id, score: Math.min(1, score / best) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
}

/**
 * The iterative scan's budget (see SearchOptions.minScanTuples): enough index tuples to meet
 * `candidates` passing rows twice over if the `rows` that pass are spread evenly through the
 * table's `tableRows`, within [min, max]. An unknown table size (never analysed: -1) gets the max.
 */
export function scanBudget(rows: number, tableRows: number, options: Pick<SearchOptions, 'candidates' | 'minScanTuples' | 'maxScanTuples'>): number {
  if (!(tableRows > 0) || rows <= 0) return options.maxScanTuples
  const needed = Math.ceil((2 * options.candidates * tableRows) / rows)
  return Math.min(options.maxScanTuples, Math.max(options.minScanTuples, needed))
}

/**
 * The terms a websearch query ANDs together, as tsquery text: a word, a phrase
 * (`'a' <-> 'b'`), an exclusion (`!…`) or a parenthesised group. Split at the
 * ` & ` that stand outside quotes and parentheses.
 */
export function topLevelTerms(tsquery: string): string[] {
  const terms: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < tsquery.length; i++) {
    const char = tsquery[i]
    if (char === "'") quoted = !quoted // a doubled quote inside a lexeme toggles twice
    else if (!quoted && char === '(') depth++
    else if (!quoted && char === ')') depth--
    else if (!quoted && depth === 0 && tsquery.startsWith(' & ', i)) {
      terms.push(tsquery.slice(start, i).trim())
      start = i + 3
      i += 2
    }
  }
  const last = tsquery.slice(start).trim()
  if (last) terms.push(last)
  return terms
}

/** The lexemes quoted in tsquery text. */
function lexemesOf(tsquery: string): string[] {
  return [...tsquery.matchAll(/'((?:[^']|'')*)'/g)].map((match) => match[1]!.replaceAll("''", "'"))
}

async function rowsOf<Row>(result: Promise<unknown>): Promise<Row[]> {
  return ((await result) as { rows: Row[] }).rows
}
