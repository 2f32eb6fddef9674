/**
 * Vector stores at scale: indexing throughput through the real indexer, and
 * search latency and HNSW recall on one store of 100,000 chunks (defaults).
 *
 *   npm run bench:vector-stores                              # PGlite, then Postgres (~30 min)
 *   npm run bench:vector-stores -- --chunks 2000 --queries 20 # smoke test, ~30 s
 *   npm run bench:vector-stores -- --only pglite --keep       # keep the database (EXPLAIN sessions)
 *   npm run bench:vector-stores -- --reuse <kept PGlite directory or Postgres URL>  # search it again
 *
 * Per database:
 * 1. **Indexing**: a generated corpus (Markdown documents from an English and a
 *    Russian vocabulary with a Zipf-like word distribution, topic words, product
 *    codes such as SKU-12345; no sentence repeated; seeded, so every run has the
 *    same) is uploaded with `files.create` and added to one store in file
 *    batches of 500 (`chunking_strategy` static `--max-tokens`/`--overlap`,
 *    default 200/50). The files are indexed by the indexer's job handler, called
 *    two at a time as the queue's workers would (the "direct" path: the work
 *    alone, extract → chunk → embed with the embedded `local/lexical-v1` → store,
 *    HNSW insert included). After the searches, a sample with the `auto`
 *    strategy (800/400) goes the same way, then a small sample through the real
 *    pg-boss queue at the server's default polling interval (the "queue" path).
 *    The chunker and the embedder alone are timed on the same texts, in-process.
 * 2. **Search latency**, one query at a time (exact codes, English and Russian
 *    2–5 word queries, queries with an attribute filter), through
 *    `services.vectorStores.search.search` (hybrid, full text only, vector only)
 *    and through `POST /vector_stores/:id/search` for a subset.
 * 3. **Recall@10** of the HNSW path against the exact scan (vector side only,
 *    `efSearch` 40/100/200), the latency of each, and how much of the fused top
 *    10 a user sees changes with the HNSW list instead of the exact one.
 * 4. **EXPLAIN ANALYZE** of the full-text and the vector statements of the
 *    slowest query of each kind, captured from the search service as it runs them.
 *
 * PGlite (pgvector bundled) runs on disk in a temporary directory. Postgres is
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a
 * scratch database dropped at the end; without pgvector there it indexes and
 * searches full text only, as the server does.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { PGlite } from '@electric-sql/pglite'
import { eq, sql } from 'drizzle-orm'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import pino from 'pino'
import { createLocalEmbedder, type Embedder } from '../src/modules/knowledge/local-embedder.ts'
import { createApp } from '../src/app.ts'
import { openDatabase, type Database, type DatabaseHandle } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import * as schema from '../src/schema.ts'
import { createServices, type Services } from '../src/services.ts'
import { chunkText, countTokens, resolveChunkingStrategy, type StaticChunkingStrategy } from '../src/modules/knowledge/vector-stores/chunking.ts'
import type { AttributeFilter } from '../src/modules/knowledge/vector-stores/filters.ts'
import { VectorStoreSearch, type SearchOptions } from '../src/modules/knowledge/vector-stores/search.ts'
import type { SearchRequest } from '../src/modules/knowledge/vector-stores/search-types.ts'
import type { VectorStoreIndexer } from '../src/modules/knowledge/vector-stores/indexer.ts'
import type { Workers } from '../src/services.ts'
import { dropScratchDatabase } from '../test/support/harness.ts'
import { closeServer, listen, percentile, benchPostgres, postJson, redact, runMain, seededRandom, seedProject } from './common.ts'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    chunks: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    'http-queries': { type: 'string', default: '50' },
    /** Chunks of the `auto` sample; default chunks / 20 (at least 100). */
    'auto-chunks': { type: 'string' },
    'max-tokens': { type: 'string', default: '200' },
    overlap: { type: 'string', default: '50' },
    'ef-search': { type: 'string', default: '40,100,200' },
    /** Files of the sample indexed through the job queue; default chunks / 2,500 (6–40). */
    'queue-files': { type: 'string' },
    /** The job queue's polling interval for that sample (the server's WORKEN_JOB_POLL_SECONDS, default 2). */
    'poll-seconds': { type: 'string', default: '2' },
    warmup: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    /** The whole run is cut short (exit code 1) after this long. */
    'max-minutes': { type: 'string', default: '240' },
    explain: { type: 'boolean', default: true },
    /** Recall against the exact scan (the slow part of a --reuse run: an exact scan per query and variant). */
    recall: { type: 'boolean', default: true },
    /** Print this many of the slowest queries of each search path. */
    slowest: { type: 'string', default: '0' },
    /** Keep the databases (PGlite's directory, the Postgres scratch database) and print where they are. */
    keep: { type: 'boolean', default: false },
    /** Search a database a --keep run left (PGlite directory or Postgres URL) without indexing again. */
    reuse: { type: 'string' },
    /** SearchOptions (JSON) for every search the benchmark makes, e.g. '{"feedbackChunks":0}': compare settings on one database. */
    'search-options': { type: 'string', default: '{}' },
  },
  allowNegative: true,
})
const CHUNKS = Number(args.chunks)
const QUERIES = Number(args.queries)
const HTTP_QUERIES = Math.min(QUERIES, Number(args['http-queries']))
const AUTO_CHUNKS = Number(args['auto-chunks'] ?? Math.max(100, Math.round(CHUNKS / 20)))
const SMALL: StaticChunkingStrategy = { type: 'static', static: { max_chunk_size_tokens: Number(args['max-tokens']), chunk_overlap_tokens: Number(args.overlap) } }
const AUTO = resolveChunkingStrategy({ type: 'auto' })
const EF_SEARCH = args['ef-search'].split(',').map(Number)
const QUEUE_FILES = Number(args['queue-files'] ?? Math.min(40, Math.max(6, Math.round(CHUNKS / 2500))))
const POLL_SECONDS = Number(args['poll-seconds'])
const WARMUP = Number(args.warmup)
const SEED = Number(args.seed)
const SEARCH_OPTIONS = JSON.parse(args['search-options']) as Partial<SearchOptions>
const MAX_RESULTS = 10
const FILES_PER_BATCH = 500
const deadline = Date.now() + Number(args['max-minutes']) * 60_000

// ---------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------

const EN_STOP = (
  'the of and to a in is that for it as was with be on not this are by or at from have an but which you they we ' +
  'can all there their if will one would so what about when more how other some these into only could then its ' +
  'also may after should any most our your each do'
).split(' ')
const EN_WORDS = (
  'order delivery payment refund return warranty product customer account password login invoice receipt ' +
  'shipping courier address card discount coupon size color store warehouse tracking parcel mail phone operator ' +
  'complaint subscription credit bonus points pickup packaging damaged late kettle laptop sneakers sofa bicycle ' +
  'fridge charger battery screen keyboard headphones camera printer router cable adapter blender vacuum heater ' +
  'mattress pillow blanket lamp chair desk shelf wardrobe mirror curtain carpet stove oven microwave dishwasher ' +
  'washer dryer iron toaster grinder scale thermometer monitor speaker microphone tablet phone watch bracelet ' +
  'install configure update reset restart replace repair cancel confirm verify activate register subscribe ' +
  'unsubscribe download upload connect disconnect charge clean assemble measure compare exchange deliver ship ' +
  'pay approve reject schedule reschedule contact escalate resolve close open check inspect test pack unpack ' +
  'price cost fee tax total balance limit period term policy rule condition requirement option feature setting ' +
  'mode level version model series manual guide instruction step section chapter page table figure note warning ' +
  'error problem issue fault defect failure noise leak crack scratch stain smell heat overheating vibration ' +
  'quickly slowly carefully usually always never often sometimes immediately later today tomorrow yesterday ' +
  'weekly monthly yearly daily hourly within before during until since between against without through ' +
  'new old free paid available unavailable standard express international domestic local regional national ' +
  'small medium large heavy light fragile secure safe broken missing wrong correct valid invalid expired ' +
  'manager support team department office branch partner supplier vendor carrier agent representative ' +
  'service center hotline chat email letter message notification reminder request ticket case claim report ' +
  'contract agreement offer deal plan tariff bundle package set kit accessory spare part component module ' +
  'steel plastic glass wood leather cotton wool rubber aluminium ceramic fabric paper cardboard foam ' +
  'water power voltage current temperature pressure speed weight length width height depth volume capacity'
).split(' ')
const RU_STOP = (
  'и в не на что с по как а но это для из к у о за от так же то все бы или до при если уже только ' +
  'вы мы они его ее их было быть был была есть нет да где когда ли чтобы'
).split(' ')
const RU_WORDS = (
  'заказ заказа заказы заказов заказом доставка доставки доставку оплата оплаты оплату возврат возврата ' +
  'гарантия гарантии гарантию товар товара товары покупатель клиент клиента аккаунт пароль вход счет чек ' +
  'курьер курьера адрес адреса карта карты скидка скидки промокод размер цвет магазин склад склада трек ' +
  'посылка посылки почта телефон оператор жалоба подписка кредит бонусы баллы самовывоз упаковка ' +
  'повреждена опоздал чайник чайника ноутбук ноутбука кроссовки диван велосипед холодильник холодильника ' +
  'зарядка батарея экран клавиатура наушники камера принтер роутер кабель адаптер блендер пылесос ' +
  'обогреватель матрас подушка одеяло лампа стул стол полка шкаф зеркало штора ковер плита духовка ' +
  'установить настроить обновить сбросить перезагрузить заменить отремонтировать отменить подтвердить ' +
  'проверить активировать зарегистрироваться подписаться скачать загрузить подключить отключить ' +
  'зарядить почистить собрать измерить сравнить обменять доставить отправить оплатить одобрить ' +
  'цена стоимость комиссия налог сумма баланс лимит срок правило условие требование функция настройка ' +
  'режим уровень версия модель серия инструкция руководство шаг раздел глава страница таблица ' +
  'ошибка проблема неисправность дефект поломка шум протечка трещина царапина пятно запах нагрев ' +
  'быстро медленно аккуратно обычно всегда никогда часто иногда сразу позже сегодня завтра вчера ' +
  'новый старый бесплатно платно доступно стандартная экспресс международная местная ' +
  'маленький средний большой тяжелый легкий хрупкий надежный сломанный неверный правильный ' +
  'менеджер поддержка отдел офис филиал партнер поставщик перевозчик сотрудник сервис центр ' +
  'сообщение уведомление напоминание заявка обращение претензия отчет договор соглашение предложение ' +
  'тариф комплект аксессуар запчасть деталь сталь пластик стекло дерево кожа хлопок резина ' +
  'вода мощность напряжение температура давление скорость вес длина ширина высота объем емкость'
).split(' ')
const LATIN_SYLLABLES = 'ka lo mi ren tor vi sa nel dor pra ex ul zen qua fi bro stel mar gon tri vek lux sor pen dal mon ter cal rio fen'.split(' ')
const CYRILLIC_SYLLABLES = 'ка ло ми рен тор ви са нел дор пра ус зен кво фи бро стел мар гон три век люк сор пен дал мон тер кал рио фен ша жу щи'.split(' ')
const TOPICS = 40
const TOPIC_WORDS = 20
const YEARS = [2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025]

type Random = () => number

/** Zipf–Mandelbrot over ranks 0..n-1: P(r) ∝ 1 / (r + q)^s. */
function zipf(n: number, random: Random, s = 1.0, q = 2.7): () => number {
  const cumulative = new Float64Array(n)
  let total = 0
  for (let rank = 0; rank < n; rank++) cumulative[rank] = total += 1 / (rank + q) ** s
  return () => {
    const target = random() * total
    let low = 0
    let high = n - 1
    while (low < high) {
      const middle = (low + high) >> 1
      if (cumulative[middle]! < target) low = middle + 1
      else high = middle
    }
    return low
  }
}

/** One language's words, most frequent first, and its topics' words. */
type Language = { code: 'en' | 'ru'; words: string[]; stopWords: number; draw: () => number; topics: string[][] }

function language(code: 'en' | 'ru', stop: string[], content: string[], syllables: string[], random: Random): Language {
  const synthetic = new Set<string>()
  while (synthetic.size < 6000) {
    const parts = 2 + Math.floor(random() * 3)
    synthetic.add(Array.from({ length: parts }, () => syllables[Math.floor(random() * syllables.length)]).join(''))
  }
  const rare = [...synthetic].filter((word) => !content.includes(word))
  const words = [...stop, ...content, ...rare]
  // Topic words: mostly real words, some of the rarer invented ones (names, terms of the trade).
  const topics = Array.from({ length: TOPICS }, () => Array.from({ length: TOPIC_WORDS }, () => (random() < 0.7 ? content[Math.floor(random() * content.length)]! : rare[Math.floor(random() * 1500)]!)))
  return { code, words, stopWords: stop.length, draw: zipf(words.length, random), topics }
}

type Document = { filename: string; text: string; tokens: number; attributes: { lang: string; topic: string; year: number; draft: boolean } }

/** Generates Markdown documents; remembers the product codes it used, for exact-code queries. */
class Corpus {
  private readonly random: Random
  readonly en: Language
  readonly ru: Language
  readonly codes: string[] = []
  private readonly codePool: number
  private serial = 0

  constructor(seed: number, codePool: number) {
    this.random = seededRandom(seed)
    this.en = language('en', EN_STOP, EN_WORDS, LATIN_SYLLABLES, this.random)
    this.ru = language('ru', RU_STOP, RU_WORDS, CYRILLIC_SYLLABLES, this.random)
    this.codePool = codePool
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!
  }

  word(lang: Language, topic: string[]): string {
    return this.random() < 0.25 ? this.pick(topic) : lang.words[lang.draw()]!
  }

  private sentence(lang: Language, topic: string[]): string {
    const length = 6 + Math.floor(this.random() * 14)
    const words = Array.from({ length }, () => this.word(lang, topic))
    if (this.random() < 0.2) {
      const code = `SKU-${10000 + Math.floor(this.random() * this.codePool)}`
      this.codes.push(code)
      words.splice(Math.floor(this.random() * words.length), 0, code)
    }
    if (this.random() < 0.1) words.splice(Math.floor(this.random() * words.length), 0, String(Math.floor(this.random() * 5000)))
    if (lang.code === 'ru' && this.random() < 0.1) words.splice(Math.floor(this.random() * words.length), 0, this.pick(EN_WORDS))
    if (length > 10 && this.random() < 0.4) words[Math.floor(length / 2)] += ','
    const text = words.join(' ')
    return `${text[0]!.toUpperCase()}${text.slice(1)}${this.pick(['.', '.', '.', '.', '?', '!'])}`
  }

  /** A document of about `words` words. */
  document(words: number): Document {
    const lang = this.random() < 0.7 ? this.en : this.ru
    const topicIndex = Math.floor(this.random() * TOPICS)
    const topic = lang.topics[topicIndex]!
    const title = Array.from({ length: 2 + Math.floor(this.random() * 3) }, () => this.word(lang, topic)).join(' ')
    const parts = [`# ${title[0]!.toUpperCase()}${title.slice(1)}`]
    let written = 0
    while (written < words) {
      if (this.random() < 0.15) parts.push(`## ${Array.from({ length: 2 + Math.floor(this.random() * 3) }, () => this.word(lang, topic)).join(' ')}`)
      const sentences = Array.from({ length: 2 + Math.floor(this.random() * 5) }, () => this.sentence(lang, topic))
      written += sentences.reduce((sum, sentence) => sum + sentence.split(' ').length, 0)
      parts.push(sentences.join(' '))
    }
    const text = `${parts.join('\n\n')}\n`
    this.serial++
    return {
      filename: `doc-${this.serial}.md`,
      text,
      tokens: countTokens(text),
      attributes: { lang: lang.code, topic: `t${topicIndex}`, year: this.pick(YEARS), draft: this.random() < 0.2 },
    }
  }

  /** Documents of log-normally spread lengths (median ~1,500 words) until they make `chunks` chunks. */
  documents(chunks: number, strategy: StaticChunkingStrategy): Document[] {
    const documents: Document[] = []
    let total = 0
    while (total < chunks) {
      const gaussian = Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random())
      const document = this.document(Math.round(Math.min(15_000, Math.max(150, 1500 * Math.exp(0.8 * gaussian)))))
      documents.push(document)
      total += chunksOf(document.tokens, strategy)
    }
    return documents
  }

  /** 2–5 content words, mostly from one topic, sometimes after a question phrase. */
  natural(lang: Language): string {
    const topic = this.pick(lang.topics)
    const count = 2 + Math.floor(this.random() * 4)
    const words = Array.from({ length: count }, () => (this.random() < 0.5 ? this.pick(topic) : lang.words[lang.stopWords + Math.floor(this.random() * (lang === this.en ? EN_WORDS : RU_WORDS).length)]!))
    const lead = lang.code === 'en' ? ['how to', 'what is the', 'where is my', ''] : ['как', 'где мой', 'что такое', '']
    const phrase = this.random() < 0.3 ? this.pick(lead) : ''
    return [phrase, ...words].filter(Boolean).join(' ')
  }

  filter(): AttributeFilter {
    const topic = `t${Math.floor(this.random() * TOPICS)}`
    return this.pick<AttributeFilter>([
      { type: 'eq', key: 'lang', value: 'ru' },
      { type: 'eq', key: 'topic', value: topic },
      { type: 'gte', key: 'year', value: 2023 },
      { type: 'and', filters: [{ type: 'in', key: 'topic', value: [topic, `t${(Number(topic.slice(1)) + 1) % TOPICS}`] }, { type: 'eq', key: 'draft', value: false }] },
    ])
  }

  /** The benchmark's queries: 25% exact codes, 35% English, 20% Russian, 20% with an attribute filter. */
  queries(count: number): Query[] {
    return Array.from({ length: count }, (_, index): Query => {
      const slot = index % 20
      if (slot < 5) return { kind: 'code', text: this.pick(this.codes) }
      if (slot < 12) return { kind: 'english', text: this.natural(this.en) }
      if (slot < 16) return { kind: 'russian', text: this.natural(this.ru) }
      return { kind: 'filtered', text: this.natural(this.random() < 0.6 ? this.en : this.ru), filters: this.filter() }
    })
  }
}

type Query = { kind: 'code' | 'english' | 'russian' | 'filtered'; text: string; filters?: AttributeFilter }
const KINDS: Array<Query['kind']> = ['code', 'english', 'russian', 'filtered']

/** How many chunks chunkText makes of `tokens` tokens. */
function chunksOf(tokens: number, strategy: StaticChunkingStrategy): number {
  const { max_chunk_size_tokens: max, chunk_overlap_tokens: overlap } = strategy.static
  return tokens === 0 ? 0 : 1 + Math.ceil(Math.max(0, tokens - max) / (max - overlap))
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

type Target = { name: string; handle: DatabaseHandle; vector: boolean; drop(): Promise<void> }

async function pgliteTarget(): Promise<Target> {
  const dir = args.reuse ?? fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-vector-stores-'))
  const handle = await openDatabase({ driver: 'pglite', dataDir: dir })
  const { vector } = await migrate(handle)
  return {
    name: 'PGlite',
    handle,
    vector,
    drop: async () => {
      await handle.close()
      if (args.keep || args.reuse) console.log(`PGlite kept: ${dir}`)
      else fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function postgresTarget(): Promise<Target | null> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const opened = await benchPostgres(serverUrl, args.reuse)
  if (!opened) return null
  const { url, handle } = opened
  const { vector } = await migrate(handle)
  return {
    name: 'Postgres',
    handle,
    vector,
    drop: async () => {
      await handle.close()
      if (args.keep || args.reuse) console.log(`Postgres database kept: ${redact(url)}`)
      else await dropScratchDatabase(serverUrl, url)
    },
  }
}

/** What the indexer logs per file, collected from its pino output. */
class IndexerLog {
  readonly files: Array<{ chunks: number; ms: number }> = []
  failures = 0

  logger() {
    return pino({ level: 'info' }, {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg?: string; chunks?: number; ms?: number }
        if (entry.msg === 'file indexed') this.files.push({ chunks: entry.chunks!, ms: entry.ms! })
        else if (entry.msg === 'file not indexed' || entry.msg === 'job failed, no retries left') this.failures++
      },
    })
  }
}

function fail(message: string): never {
  throw new Error(message)
}

function checkDeadline(what: string): void {
  if (Date.now() > deadline) fail(`--max-minutes reached during ${what}`)
}

const milliseconds = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(value < 1 ? 2 : 1))
const integer = (value: number) => Math.round(value).toLocaleString('en-US')

type Indexed = { label: string; path: 'direct' | 'queue'; storeId: string; files: number; chunks: number; tokens: number; uploadSeconds: number; indexSeconds: number; fileMs: number[] }

/**
 * How the files get indexed. `direct`: the indexer's per-file job handler called
 * by the benchmark, two files at a time (the queue's local concurrency), so the
 * time is the indexing work alone. `queue`: the files are announced to the
 * real pg-boss queue and its workers take them as they poll.
 */
type IndexPath = { kind: 'direct'; indexer: VectorStoreIndexer } | { kind: 'queue' }

/** Uploads the documents, adds them to a new store in file batches, indexes them; times the indexing. */
async function indexStore(services: Services, projectId: string, documents: Document[], strategy: StaticChunkingStrategy, log: IndexerLog, label: string, via: IndexPath): Promise<Indexed> {
  const db = services.database.db
  const uploadStarted = performance.now()
  const fileIds: string[] = []
  for (const document of documents) {
    const uploaded = await services.files.create(projectId, { filename: document.filename, purpose: 'assistants', mimeType: 'text/markdown', bytes: Buffer.from(document.text) })
    fileIds.push(uploaded.id)
    if (fileIds.length % 500 === 0) process.stdout.write(`\r  ${label}: uploaded ${fileIds.length}/${documents.length} files`)
    checkDeadline('upload')
  }
  const uploadSeconds = (performance.now() - uploadStarted) / 1000
  process.stdout.write(`\r  ${label}: uploaded ${documents.length} files in ${uploadSeconds.toFixed(1)} s\n`)

  const store = await services.vectorStores.create(projectId, { name: label })
  const logged = log.files.length
  const started = performance.now()
  for (let start = 0; start < documents.length; start += FILES_PER_BATCH) {
    await services.vectorStores.files.createBatch(projectId, store.id, {
      files: documents.slice(start, start + FILES_PER_BATCH).map((document, index) => ({ fileId: fileIds[start + index]!, attributes: document.attributes, chunkingStrategy: strategy })),
    })
  }
  const progress = async () => {
    const [counts] = (await db.execute(sql`
      select count(*) filter (where status = 'pending')::int as pending, count(*) filter (where status = 'error')::int as errors,
             coalesce(sum(chunk_count), 0)::int as chunks
      from vector_store_files where vector_store_id = ${store.id}`) as unknown as { rows: Array<{ pending: number; errors: number; chunks: number }> }).rows
    return counts!
  }
  const budgetMs = Math.max(120_000, documents.length * 3_000)
  let lastPrint = 0
  const report = (chunks: () => number, done: number) => {
    const elapsed = performance.now() - started
    if (elapsed - lastPrint < 10_000) return
    lastPrint = elapsed
    process.stdout.write(`\r  ${label}: ${integer(chunks())} chunks indexed, ${done}/${documents.length} files, ${(elapsed / 1000).toFixed(0)} s`)
  }
  if (via.kind === 'direct') {
    // The job handler itself (private: the queue is what calls it in the server).
    const run = (fileId: string) => via.indexer['run']({ projectId, vectorStoreId: store.id, fileId }, { id: `bench-${fileId}`, retryCount: 0, signal: new AbortController().signal })
    let next = 0
    const worker = async () => {
      while (next < fileIds.length) {
        const index = next++
        await run(fileIds[index]!)
        report(() => log.files.slice(logged).reduce((sum, file) => sum + file.chunks, 0), index + 1)
        if (performance.now() - started > budgetMs) fail(`${label}: indexing did not finish within ${budgetMs / 1000} s`)
        checkDeadline('indexing')
      }
    }
    await Promise.all([worker(), worker()])
  } else {
    for (;;) {
      const counts = await progress()
      if (counts.pending === 0) break
      report(() => counts.chunks, documents.length - counts.pending)
      if (performance.now() - started > budgetMs) fail(`${label}: indexing did not finish within ${budgetMs / 1000} s`)
      checkDeadline('indexing')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const indexSeconds = (performance.now() - started) / 1000
  const counts = await progress()
  if (counts.pending > 0 || counts.errors > 0) fail(`${label}: ${counts.pending} files still pending, ${counts.errors} in error`)
  const [row] = (await db.execute(sql`select count(*)::int as chunks, coalesce(sum(tokens), 0)::bigint::text as tokens from vector_store_chunks where vector_store_id = ${store.id}`) as unknown as { rows: Array<{ chunks: number; tokens: string }> }).rows
  process.stdout.write(`\r  ${label}: ${integer(row!.chunks)} chunks in ${documents.length} files indexed (${via.kind}) in ${indexSeconds.toFixed(1)} s${' '.repeat(30)}\n`)
  return { label, path: via.kind, storeId: store.id, files: documents.length, chunks: row!.chunks, tokens: Number(row!.tokens), uploadSeconds, indexSeconds, fileMs: log.files.slice(logged).map((file) => file.ms).sort((a, b) => a - b) }
}

type CpuFigures = { chunks: number; tokens: number; chunkSeconds: number; embedSeconds: number }

/** The chunker, then the embedder, alone on the documents' texts (in-process, no database). */
async function cpuAlone(documents: Document[], strategy: StaticChunkingStrategy, embedder: Embedder): Promise<CpuFigures> {
  const started = performance.now()
  const chunks = documents.flatMap((document) => chunkText(document.text, strategy))
  const chunkSeconds = (performance.now() - started) / 1000
  const texts = chunks.map((chunk) => chunk.text)
  const embedStarted = performance.now()
  // In batches of 256, as the indexer embeds.
  for (let start = 0; start < texts.length; start += 256) await embedder.embed(texts.slice(start, start + 256))
  const embedSeconds = (performance.now() - embedStarted) / 1000
  return { chunks: texts.length, tokens: chunks.reduce((sum, chunk) => sum + chunk.tokens, 0), chunkSeconds, embedSeconds }
}

type Timing = { kind: Query['kind']; ms: number; query: Query }

function summarize(times: Timing[]): Record<'all' | Query['kind'], number[]> {
  const groups = { all: [] as number[], code: [] as number[], english: [] as number[], russian: [] as number[], filtered: [] as number[] }
  for (const { kind, ms } of times) {
    groups.all.push(ms)
    groups[kind].push(ms)
  }
  for (const list of Object.values(groups)) list.sort((a, b) => a - b)
  return groups
}

function request(projectId: string, storeId: string, query: Query, weights?: SearchRequest['weights']): SearchRequest {
  return { projectId, vectorStoreIds: [storeId], queries: [query.text], maxResults: MAX_RESULTS, filters: query.filters, weights }
}

/** The share of `expected` that `got` holds (1 when nothing was expected). */
function recallOf(expected: string[], got: Set<string>): number {
  return expected.length === 0 ? 1 : expected.filter((key) => got.has(key)).length / expected.length
}

/** Runs the queries one at a time after a warm-up; the time of each. */
async function timeQueries(queries: Query[], run: (query: Query) => Promise<unknown>): Promise<Timing[]> {
  for (const query of queries.slice(0, WARMUP)) await run(query)
  const times: Timing[] = []
  for (const query of queries) {
    const started = performance.now()
    await run(query)
    times.push({ kind: query.kind, ms: performance.now() - started, query })
    checkDeadline('search')
  }
  return times
}

/** A search service whose SQL is recorded, on a second drizzle over the same database. */
function recordingSearch(target: Target, services: Services, embedder: Embedder | undefined, options: Partial<SearchOptions>) {
  const statements: Array<{ query: string; params: unknown[] }> = []
  const logger = { logQuery: (query: string, params: unknown[]) => void statements.push({ query, params }) }
  let pool: pg.Pool | undefined
  let db: Database
  if (target.handle.pglite) {
    db = drizzlePglite(target.handle.pglite as unknown as PGlite, { schema, logger }) as unknown as Database
  } else {
    pool = new pg.Pool({ connectionString: target.handle.url, max: 1 })
    db = drizzlePostgres(pool, { schema, logger }) as unknown as Database
  }
  const search = new VectorStoreSearch({ ...target.handle, db }, services.vectorStores.stores, embedder, options)
  return { search, statements, close: async () => { await pool?.end() } }
}

/** EXPLAIN (ANALYZE, BUFFERS) of each ranking statement of one search, with the settings (`set_config`) before it. */
async function explain(target: Target, services: Services, embedder: Embedder | undefined, request: SearchRequest, label: string): Promise<string[]> {
  const recorder = recordingSearch(target, services, embedder, SEARCH_OPTIONS)
  await recorder.search.search(request)
  await recorder.close()
  const out: string[] = []
  const settings: Array<{ query: string; params: unknown[] }> = []
  for (const statement of recorder.statements) {
    if (/^select set_config\(/i.test(statement.query)) {
      settings.push(statement)
      continue
    }
    const side = statement.query.includes('ts_rank_cd') ? 'full text' : statement.query.includes('<=>') ? 'vector' : null
    if (!side) continue
    const plan = await target.handle.withSession(async (session) => {
      await session.exec('begin')
      try {
        for (const setting of settings) await session.query(setting.query, setting.params)
        return await session.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${statement.query}`, statement.params)
      } finally {
        await session.exec('rollback')
      }
    })
    settings.length = 0
    out.push(`--- ${target.name}, ${label}, ${side} side ---`, ...plan.map((row) => row['QUERY PLAN'].replace(/'\[[^\]]{100,}\]'/g, "'[…the query vector…]'")))
  }
  return out
}

type Report = {
  target: string
  vector: boolean
  indexed: Indexed[]
  latency: Array<{ path: string; groups: Record<'all' | Query['kind'], number[]> }>
  recall: Array<{ variant: string; kinds: Array<Query['kind']>; recalls: number[]; tieAware: number[]; times: number[] }>
  plans: string[]
}

async function measureTarget(target: Target, corpus: { small: Document[]; auto: Document[]; queued: Document[]; queries: Query[] }): Promise<Report> {
  const log = new IndexerLog()
  const logger = log.logger()
  // Until the queue sample, files are indexed by calling the job handler; nothing is queued.
  let queueing = false
  const services = createServices(target.handle, logger, {
    workers: { embeddingModel: 'local/lexical-v1', vector: target.vector, pollingIntervalSeconds: POLL_SECONDS },
    onFilesAdded: (enqueue) => (projectId, storeId, fileIds) => (queueing ? enqueue(projectId, storeId, fileIds) : Promise.resolve()),
  })
  await services.apiKeys.start()
  const workers: Workers = services.workers!
  const direct: IndexPath = { kind: 'direct', indexer: workers.indexer }
  const report: Report = { target: target.name, vector: target.vector, indexed: [], latency: [], recall: [], plans: [] }
  const server = await listen(createApp({ kind: 'public', services, logger: pino({ level: 'silent' }) }).fetch)
  try {
    console.log(`\n${target.name} (${target.vector ? 'pgvector: hybrid search' : 'no pgvector: full text only'})`)
    const bigLabel = `static ${SMALL.static.max_chunk_size_tokens}/${SMALL.static.chunk_overlap_tokens}`
    let projectId: string
    let key: string
    let storeId: string
    if (args.reuse) {
      const [store] = await target.handle.db.select().from(schema.vectorStores).where(eq(schema.vectorStores.name, bigLabel))
      if (!store) fail(`no store named '${bigLabel}' in ${redact(args.reuse)}`)
      projectId = store.projectId
      storeId = store.id
      key = (await services.apiKeys.create(projectId, 'bench')).key
    } else {
      ;({ projectId, key } = await seedProject(target.handle, services))
      const big = await indexStore(services, projectId, corpus.small, SMALL, log, bigLabel, direct)
      report.indexed.push(big)
      storeId = big.storeId
      if (log.failures > 0) fail(`${log.failures} indexing failures`)
    }
    if (Object.keys(SEARCH_OPTIONS).length > 0) {
      services.vectorStores.search = new VectorStoreSearch(target.handle, services.vectorStores.stores, services.recallEmbedder && target.vector ? services.recallEmbedder : undefined, SEARCH_OPTIONS)
    }
    // What autovacuum does on a live Postgres after a bulk load (PGlite has no autovacuum; see BENCHMARKS.md).
    await target.handle.db.execute(sql`analyze`)

    const search = services.vectorStores.search
    const queries = corpus.queries
    const paths: Array<{ path: string; run: (query: Query) => Promise<unknown> }> = [
      { path: `search() ${search.mode}`, run: (query) => search.search(request(projectId, storeId, query)) },
    ]
    if (target.vector) {
      paths.push(
        { path: 'search() full text only', run: (query) => search.search(request(projectId, storeId, query, { embedding: 0, text: 1 })) },
        { path: 'search() vector only', run: (query) => search.search(request(projectId, storeId, query, { embedding: 1, text: 0 })) },
      )
    }
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/vector_stores/${storeId}/search`
    paths.push({
      path: `HTTP POST /search ${search.mode} (${HTTP_QUERIES} queries)`,
      run: (query) => postJson(url, key, { query: query.text, max_num_results: MAX_RESULTS, ...(query.filters ? { filters: query.filters } : {}) }),
    })
    const slowest = new Map<Query['kind'], Timing>()
    for (const { path: label, run } of paths) {
      const list = label.startsWith('HTTP') ? queries.slice(0, HTTP_QUERIES) : queries
      const times = await timeQueries(list, run)
      for (const timing of [...times].sort((a, b) => b.ms - a.ms).slice(0, Number(args.slowest))) {
        console.log(`    ${milliseconds(timing.ms)} ms ${timing.kind} ${JSON.stringify(timing.query.text)}${timing.query.filters ? ` ${JSON.stringify(timing.query.filters)}` : ''}`)
      }
      if (slowest.size === 0) for (const timing of times) if (timing.ms > (slowest.get(timing.kind)?.ms ?? -1)) slowest.set(timing.kind, timing)
      const groups = summarize(times)
      report.latency.push({ path: label, groups })
      console.log(`  ${label}: p50 ${milliseconds(percentile(groups.all, 50))} ms, p95 ${milliseconds(percentile(groups.all, 95))} ms, p99 ${milliseconds(percentile(groups.all, 99))} ms`)
    }

    const embedder = services.recallEmbedder
    if (target.vector && embedder && args.recall) {
      // Query embedding alone, for the breakdown.
      const embedTimes = summarize(await timeQueries(queries, (query) => embedder.embed([query.text])))
      report.latency.push({ path: 'embedding the query alone', groups: embedTimes })
      const vectorOnly = { embedding: 1, text: 0 }
      // Results carry no chunk id: a chunk is its file and text. Distances are recomputed
      // here (the stored vector is the embedding of the chunk's text) to count ties fairly.
      type Ranked = { keys: string[]; distances: number[] }
      const ranked = async (searcher: VectorStoreSearch, query: Query): Promise<Ranked> => {
        const { results } = await searcher.search(request(projectId, storeId, query, vectorOnly))
        return { keys: results.map((result) => `${result.file_id}\u0000${result.content[0]!.text}`), distances: [] }
      }
      const withDistances = async (query: Query, found: Ranked): Promise<Ranked> => {
        const [vector, ...vectors] = await embedder.embed([query.text, ...found.keys.map((key) => key.slice(key.indexOf('\u0000') + 1))])
        return { keys: found.keys, distances: vectors.map((other) => 1 - other.reduce((sum, value, index) => sum + value * vector![index]!, 0)) }
      }
      const exact = new VectorStoreSearch(target.handle, services.vectorStores.stores, embedder, { ...SEARCH_OPTIONS, exactScanMaxChunks: Infinity })
      const truth: Ranked[] = []
      const exactTimes: number[] = []
      for (const query of queries) {
        const started = performance.now()
        const found = await ranked(exact, query)
        exactTimes.push(performance.now() - started)
        truth.push(await withDistances(query, found))
        checkDeadline('exact search')
      }
      const kinds = queries.map((query) => query.kind)
      report.recall.push({ variant: 'exact scan', kinds, recalls: truth.map(() => 1), tieAware: truth.map(() => 1), times: exactTimes.sort((a, b) => a - b) })
      console.log(`  exact scan (vector only): p50 ${milliseconds(percentile(exactTimes, 50))} ms, p95 ${milliseconds(percentile(exactTimes, 95))} ms`)
      for (const efSearch of EF_SEARCH) {
        const hnsw = new VectorStoreSearch(target.handle, services.vectorStores.stores, embedder, { ...SEARCH_OPTIONS, exactScanMaxChunks: 0, exactScanFilteredShare: 0, efSearch })
        for (const query of queries.slice(0, WARMUP)) await ranked(hnsw, query)
        const recalls: number[] = []
        const tieAware: number[] = []
        const times: number[] = []
        const misses: string[] = []
        for (const [index, query] of queries.entries()) {
          const started = performance.now()
          const found = await ranked(hnsw, query)
          times.push(performance.now() - started)
          const expected = truth[index]!
          const got = new Set(found.keys)
          recalls.push(recallOf(expected.keys, got))
          // A hit as near as the exact scan's last one is as good as it (ties are ordered by chunk id).
          const measured = await withDistances(query, found)
          const limit = expected.distances.at(-1) ?? Infinity
          tieAware.push(expected.keys.length === 0 ? 1 : Math.min(expected.keys.length, measured.distances.filter((distance) => distance <= limit + 1e-4).length) / expected.keys.length)
          if (recalls.at(-1)! < 0.5 && misses.length < 5) {
            misses.push(`    ${query.kind} ${JSON.stringify(query.text)}${query.filters ? ` ${JSON.stringify(query.filters)}` : ''}: recall ${recalls.at(-1)!.toFixed(1)}, exact distances ${expected.distances.map((d) => d.toFixed(3)).join(' ')}; HNSW ${measured.distances.map((d) => d.toFixed(3)).join(' ')}`)
          }
          checkDeadline('HNSW search')
        }
        report.recall.push({ variant: `HNSW ef_search ${efSearch}`, kinds, recalls, tieAware, times: times.sort((a, b) => a - b) })
        console.log(`  HNSW ef_search ${efSearch}: recall@10 ${mean(recalls).toFixed(3)} (tie-aware ${mean(tieAware).toFixed(3)}), p50 ${milliseconds(percentile(times, 50))} ms, p95 ${milliseconds(percentile(times, 95))} ms`)
        if (misses.length > 0) console.log(`  lowest recalls:\n${misses.join('\n')}`)
      }
      // The vector side as served (default options: an exact scan for selective filters, HNSW otherwise).
      {
        const served = new VectorStoreSearch(target.handle, services.vectorStores.stores, embedder, SEARCH_OPTIONS)
        const recalls: number[] = []
        const times: number[] = []
        for (const [index, query] of queries.entries()) {
          const started = performance.now()
          const found = new Set((await ranked(served, query)).keys)
          times.push(performance.now() - started)
          const expected = truth[index]!
          recalls.push(recallOf(expected.keys, found))
          checkDeadline('served search')
        }
        report.recall.push({ variant: 'vector side as served (exact scan for selective filters)', kinds, recalls, tieAware: [], times: times.sort((a, b) => a - b) })
        console.log(`  vector side as served: recall@10 ${mean(recalls).toFixed(3)}, p50 ${milliseconds(percentile(times, 50))} ms, p95 ${milliseconds(percentile(times, 95))} ms`)
      }
      // What a user sees: the fused top 10 with the HNSW vector list against the same with the exact one.
      const fusedRecalls: number[] = []
      for (const query of queries) {
        const expected = (await exact.search(request(projectId, storeId, query))).results.map((result) => `${result.file_id}\u0000${result.content[0]!.text}`)
        const got = new Set((await search.search(request(projectId, storeId, query))).results.map((result) => `${result.file_id}\u0000${result.content[0]!.text}`))
        fusedRecalls.push(recallOf(expected, got))
        checkDeadline('hybrid recall')
      }
      report.recall.push({ variant: 'hybrid (fused) top 10, default HNSW vs exact vector list', kinds, recalls: fusedRecalls, tieAware: [], times: [] })
      console.log(`  hybrid top 10 with HNSW vs with the exact scan: ${mean(fusedRecalls).toFixed(3)}`)
    }

    if (args.explain) {
      // The slowest query of each kind in the first measured path: where the time goes.
      for (const kind of KINDS) {
        const query = slowest.get(kind)?.query
        if (!query) continue
        report.plans.push(...(await explain(target, services, target.vector ? embedder : undefined, request(projectId, storeId, query), `${kind} query ${JSON.stringify(query.text)}${query.filters ? ` filter ${JSON.stringify(query.filters)}` : ''}`)))
      }
    }

    if (args.reuse) return report
    report.indexed.push(await indexStore(services, projectId, corpus.auto, AUTO, log, 'auto 800/400', direct))
    queueing = true
    await workers.start()
    report.indexed.push(await indexStore(services, projectId, corpus.queued, SMALL, log, `static ${SMALL.static.max_chunk_size_tokens}/${SMALL.static.chunk_overlap_tokens}, job queue`, { kind: 'queue' }))
    if (log.failures > 0) fail(`${log.failures} indexing failures`)
  } finally {
    await closeServer(server)
    await workers.stop({ graceful: false })
    await services.apiKeys.flush()
  }
  return report
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

await runMain('bench:vector-stores', async () => {
  setTimeout(() => {
    process.stderr.write('bench:vector-stores: --max-minutes reached; exiting\n')
    process.exit(1)
  }, deadline - Date.now() + 60_000).unref()
  console.log(`Vector stores: ${integer(CHUNKS)} chunks (static ${SMALL.static.max_chunk_size_tokens}/${SMALL.static.chunk_overlap_tokens}), ${integer(AUTO_CHUNKS)} auto chunks, ${QUERIES} queries (Node ${process.version}, ${os.cpus().length} CPUs)`)

  const generated = performance.now()
  const corpus = new Corpus(SEED, Math.max(100, Math.round(CHUNKS / 4)))
  const small = corpus.documents(CHUNKS, SMALL)
  const auto = corpus.documents(AUTO_CHUNKS, AUTO)
  const queued = Array.from({ length: QUEUE_FILES }, () => corpus.documents(1, SMALL)[0]!)
  const queries = corpus.queries(QUERIES)
  const smallTokens = small.reduce((sum, document) => sum + document.tokens, 0)
  const autoTokens = auto.reduce((sum, document) => sum + document.tokens, 0)
  const megabytes = (documents: Document[]) => documents.reduce((sum, document) => sum + Buffer.byteLength(document.text), 0) / 1e6
  console.log(`corpus generated in ${((performance.now() - generated) / 1000).toFixed(1)} s: ${small.length} documents, ${integer(smallTokens)} tokens, ${megabytes(small).toFixed(1)} MB (${small.filter((document) => document.attributes.lang === 'ru').length} Russian); auto sample ${auto.length} documents, ${integer(autoTokens)} tokens, ${megabytes(auto).toFixed(1)} MB`)

  const embedder = createLocalEmbedder()
  const cpu = { small: await cpuAlone(small, SMALL, embedder), auto: await cpuAlone(auto, AUTO, embedder) }
  for (const [name, figures] of Object.entries(cpu)) {
    console.log(`  ${name}: chunking alone ${integer(figures.chunks / figures.chunkSeconds)} chunks/s, embedding alone ${integer(figures.chunks / figures.embedSeconds)} chunks/s (${figures.chunks} chunks)`)
  }

  const reports: Report[] = []
  const opens: Array<() => Promise<Target | null>> = []
  const reusingPostgres = args.reuse?.startsWith('postgres')
  if (args.reuse ? !reusingPostgres : args.only !== 'postgres') opens.push(pgliteTarget)
  if (args.reuse ? reusingPostgres : args.only !== 'pglite') opens.push(postgresTarget)
  for (const open of opens) {
    const target = await open()
    if (!target) continue
    try {
      reports.push(await measureTarget(target, { small, auto, queued, queries }))
    } finally {
      await target.drop()
    }
  }
  printSummary(reports, cpu)
})

function printSummary(reports: Report[], cpu: Record<'small' | 'auto', CpuFigures>): void {
  const strategies = { small: `static ${SMALL.static.max_chunk_size_tokens}/${SMALL.static.chunk_overlap_tokens}`, auto: 'auto (800/400)' }
  console.log('\n## Indexing (upload excluded; from the first file batch to the last file processed)\n')
  console.log('| database | store | path | files | chunks | chunk tokens | upload (s) | indexing (s) | files/s | chunks/s | per-file p50 / p95 (ms) |')
  console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const report of reports) {
    for (const indexed of report.indexed) {
      console.log(`| ${report.target}${report.vector ? '' : ' (no vectors)'} | ${indexed.label} | ${indexed.path} | ${integer(indexed.files)} | ${integer(indexed.chunks)} | ${integer(indexed.tokens)} | ${indexed.uploadSeconds.toFixed(1)} | ${indexed.indexSeconds.toFixed(1)} | ${(indexed.files / indexed.indexSeconds).toFixed(1)} | **${integer(indexed.chunks / indexed.indexSeconds)}** | ${integer(percentile(indexed.fileMs, 50))} / ${integer(percentile(indexed.fileMs, 95))} |`)
    }
  }
  console.log('\n| in-process, no database | strategy | chunks | chunking alone (chunks/s) | embedding alone (chunks/s) | chunk tokens/s embedded |')
  console.log('|---|---|---:|---:|---:|---:|')
  for (const which of ['small', 'auto'] as const) {
    const figures = cpu[which]
    console.log(`| local/lexical-v1 | ${strategies[which]} | ${integer(figures.chunks)} | ${integer(figures.chunks / figures.chunkSeconds)} | ${integer(figures.chunks / figures.embedSeconds)} | ${integer(figures.tokens / figures.embedSeconds)} |`)
  }

  console.log(`\n## Search latency, one query at a time, ${QUERIES} queries, max ${MAX_RESULTS} results (ms)\n`)
  console.log('| database | path | p50 | p95 | p99 | code p50 / p95 | English p50 / p95 | Russian p50 / p95 | filtered p50 / p95 |')
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const report of reports) {
    for (const { path: label, groups } of report.latency) {
      const pair = (list: number[]) => `${milliseconds(percentile(list, 50))} / ${milliseconds(percentile(list, 95))}`
      console.log(`| ${report.target} | ${label} | ${milliseconds(percentile(groups.all, 50))} | **${milliseconds(percentile(groups.all, 95))}** | ${milliseconds(percentile(groups.all, 99))} | ${pair(groups.code)} | ${pair(groups.english)} | ${pair(groups.russian)} | ${pair(groups.filtered)} |`)
    }
  }

  const withRecall = reports.filter((report) => report.recall.length > 0)
  if (withRecall.length > 0) {
    console.log(`\n## Recall@10 of HNSW against the exact scan (vector side only, ${QUERIES} queries)\n`)
    console.log('| database | variant | mean recall@10 | min | p5 | p10 | queries at 1.0 | code / English / Russian / filtered | tie-aware mean | p50 (ms) | p95 (ms) |')
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const report of withRecall) {
      for (const { variant, kinds, recalls, tieAware, times } of report.recall) {
        const sorted = [...recalls].sort((a, b) => a - b)
        const perfect = recalls.filter((recall) => recall === 1).length / recalls.length
        const byKind = KINDS.map((kind) => mean(recalls.filter((_, index) => kinds[index] === kind)).toFixed(2)).join(' / ')
        console.log(`| ${report.target} | ${variant} | **${mean(recalls).toFixed(3)}** | ${sorted[0]!.toFixed(1)} | ${percentile(sorted, 5).toFixed(1)} | ${percentile(sorted, 10).toFixed(1)} | ${(perfect * 100).toFixed(0)}% | ${byKind} | ${tieAware.length > 0 ? mean(tieAware).toFixed(3) : '–'} | ${milliseconds(percentile(times, 50))} | ${milliseconds(percentile(times, 95))} |`)
      }
    }
  }
  for (const report of reports) {
    if (!report.vector) console.log(`\n${report.target}: no pgvector on this server, so no vector search, no recall figures (Postgres-with-pgvector: not available on this machine).`)
  }
  const plans = reports.flatMap((report) => report.plans)
  if (plans.length > 0) console.log(`\n## EXPLAIN ANALYZE\n\n${plans.join('\n')}`)
}
