/**
 * GET /threads at scale: a project with 1,000,000 messages in 50,000 threads
 * (defaults), searched and listed through the real public app over HTTP, one
 * request at a time; p50/p95/p99 per kind of query.
 *
 *   npm run bench:search                          # Postgres, then PGlite
 *   npm run bench:search -- --only postgres --requests 300
 *   npm run bench:search -- --threads 5000 --per-thread 20   # a smaller project
 *
 * Postgres is BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
 * a scratch database is created next to it and dropped at the end. PGlite runs
 * on disk in a temporary directory. The data is generated inside the database
 * (generate_series) from a Russian + English support-chat vocabulary with a
 * skewed (Zipf-like) word distribution; every thread's first message carries a
 * unique ticket code (`tk<number>`), the "exact term" case.
 */
import fs from 'node:fs'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { serve } from '@hono/node-server'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { createApp } from '../src/app.ts'
import { defaultBotSettings } from '../src/modules/bots/settings.ts'
import { openDatabase, type DatabaseHandle } from '../src/platform/db/client.ts'
import { newId } from '../src/platform/db/ids.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import { bots, chats, projects } from '../src/schema.ts'
import { createServices } from '../src/services.ts'
import { dropScratchDatabase } from '../test/support/harness.ts'
import { closeServer, percentile, benchPostgres, redact, runMain, seedProject } from './common.ts'

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    threads: { type: 'string', default: '50000' },
    'per-thread': { type: 'string', default: '20' },
    chats: { type: 'string', default: '20' },
    requests: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    /** Keep the loaded Postgres database and print its URL (for EXPLAIN sessions). */
    keep: { type: 'boolean', default: false },
    /** Measure on a database a --keep run left behind, without loading. */
    reuse: { type: 'string' },
  },
})
const THREADS = Number(args.threads)
const PER_THREAD = Number(args['per-thread'])
const CHATS = Number(args.chats)
const REQUESTS = Number(args.requests)
const WARMUP = Number(args.warmup)
const logger = pino({ level: 'silent' })

// Most frequent first: the generator picks index floor(n * random()^3), so early words dominate.
const WORDS = [
  'здравствуйте', 'hello', 'пожалуйста', 'please', 'спасибо', 'thanks', 'мой', 'my', 'где', 'where', 'когда', 'when',
  'заказ', 'order', 'заказа', 'orders', 'доставка', 'delivery', 'оплата', 'payment', 'помогите', 'help', 'можно', 'can',
  'вопрос', 'question', 'товар', 'product', 'деньги', 'money', 'возврат', 'refund', 'курьер', 'courier', 'адрес', 'address',
  'карта', 'card', 'заказы', 'shipping', 'доставки', 'delivered', 'оплаты', 'paid', 'номер', 'number', 'статус', 'status',
  'сегодня', 'today', 'завтра', 'tomorrow', 'неделю', 'week', 'отменить', 'cancel', 'изменить', 'change', 'пароль', 'password',
  'аккаунт', 'account', 'войти', 'login', 'скидка', 'discount', 'промокод', 'coupon', 'размер', 'size', 'цвет', 'color',
  'гарантия', 'warranty', 'сломался', 'broken', 'обмен', 'exchange', 'магазин', 'store', 'склад', 'warehouse', 'трек', 'tracking',
  'посылка', 'parcel', 'почта', 'mail', 'телефон', 'phone', 'оператор', 'operator', 'жалоба', 'complaint', 'подписка', 'subscription',
  'счёт', 'invoice', 'чек', 'receipt', 'рассрочка', 'installment', 'кредит', 'credit', 'бонусы', 'bonuses', 'баллы', 'points',
  'самовывоз', 'pickup', 'пункт', 'point', 'выдачи', 'issue', 'упаковка', 'packaging', 'повреждена', 'damaged', 'опоздал', 'late',
  'холодильник', 'fridge', 'ноутбук', 'laptop', 'кроссовки', 'sneakers', 'диван', 'sofa', 'велосипед', 'bicycle', 'чайник', 'kettle',
]

type Target = { name: string; handle: DatabaseHandle; drop(): Promise<void> }

async function postgresTarget(): Promise<Target | null> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const opened = await benchPostgres(serverUrl, args.reuse)
  if (!opened) return null
  const { url, handle } = opened
  const keep = args.keep || args.reuse !== undefined
  if (keep) console.log(`database kept: ${redact(url)} (reuse it with --reuse)`)
  return { name: 'Postgres', handle, drop: async () => { await handle.close(); if (!keep) await dropScratchDatabase(serverUrl, url) } }
}

async function pgliteTarget(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-search-'))
  const handle = await openDatabase({ driver: 'pglite', dataDir: dir })
  return { name: 'PGlite', handle, drop: async () => { await handle.close(); fs.rmSync(dir, { recursive: true, force: true }) } }
}

/** Loads the project: chats, threads, messages, generated in SQL. Returns ids for the queries. */
async function load(handle: DatabaseHandle): Promise<{ projectId: string; chatId: string; key: string; seconds: number }> {
  const db = handle.db
  const { projectId, key } = await seedProject(handle, createServices(handle, logger))
  const botId = newId('bot')
  await db.insert(bots).values({ id: botId, projectId, name: 'Support', settings: defaultBotSettings() })
  const chatIds = Array.from({ length: CHATS }, () => newId('chat'))
  await db.insert(chats).values(chatIds.map((id, i) => ({ id, projectId, botId, name: `Chat ${i}` })))

  const started = performance.now()
  const words = sql.raw(`array[${WORDS.map((word) => `'${word}'`).join(',')}]`)
  // Threads spread over the last 30 days; messages a minute apart after the thread's start.
  await db.execute(sql`
    insert into threads (project_id, id, chat_id, bot_id, mode, created_at, last_message_at, updated_at)
    select ${projectId}, 'thr-' || g, (${sql.raw(`array[${chatIds.map((id) => `'${id}'`).join(',')}]`)})[1 + g % ${sql.raw(String(CHATS))}], ${botId},
           case when g % 10 = 0 then 'manual' else 'auto' end,
           now() - interval '30 days' + (g * interval '30 days' / ${sql.raw(String(THREADS))}),
           now() - interval '30 days' + (g * interval '30 days' / ${sql.raw(String(THREADS))}) + (${sql.raw(String(PER_THREAD))} * interval '1 minute'),
           now()
    from generate_series(1, ${sql.raw(String(THREADS))}) g`)
  // One statement per slice of threads keeps each transaction (and PGlite's memory) bounded.
  const slice = 2500
  for (let from = 1; from <= THREADS; from += slice) {
    const to = Math.min(THREADS, from + slice - 1)
    await db.execute(sql`
      insert into messages (id, project_id, thread_id, chat_id, bot_id, role, author, content, created_at)
      select 'msg-' || t || '-' || i, ${projectId}, 'thr-' || t,
             (${sql.raw(`array[${chatIds.map((id) => `'${id}'`).join(',')}]`)})[1 + t % ${sql.raw(String(CHATS))}], ${botId},
             case when i % 2 = 1 then 'user' else 'assistant' end,
             case when i % 2 = 1 then 'user' else 'bot' end,
             case when i = 1 then 'ticket tk' || (100000 + t) || ' ' else '' end ||
             (select string_agg((${words})[1 + floor(${sql.raw(String(WORDS.length))} * power(random(), 3))::int], ' ')
                from generate_series(1, 6 + ((t * 7 + i * 13) % 10)) w where w > 0 and t > 0),
             now() - interval '30 days' + (t * interval '30 days' / ${sql.raw(String(THREADS))}) + (i * interval '1 minute')
      from generate_series(${sql.raw(String(from))}, ${sql.raw(String(to))}) t, generate_series(1, ${sql.raw(String(PER_THREAD))}) i`)
    process.stdout.write(`\r  loaded ${to}/${THREADS} threads`)
  }
  process.stdout.write('\n')
  // What autovacuum would have done by now on a live server: statistics, and the GIN index's pending list merged.
  await db.execute(sql`vacuum analyze messages`)
  await db.execute(sql`analyze threads`)
  return { projectId, chatId: chatIds[3]!, key, seconds: (performance.now() - started) / 1000 }
}

/** The ids a --keep run loaded, and a fresh key. */
async function reuseLoaded(handle: DatabaseHandle): Promise<{ projectId: string; chatId: string; key: string; seconds: number }> {
  const [project] = await handle.db.select().from(projects).limit(1)
  const list = await handle.db.select({ id: chats.id }).from(chats).orderBy(chats.name)
  const { key } = await createServices(handle, logger).apiKeys.create(project!.id, 'bench')
  return { projectId: project!.id, chatId: list.find((_, i) => i === 3)?.id ?? list[0]!.id, key, seconds: 0 }
}

async function measureTarget(target: Target): Promise<void> {
  console.log(`\n${target.name}: loading ${THREADS} threads × ${PER_THREAD} messages…`)
  await migrate(target.handle)
  const loaded = args.reuse ? await reuseLoaded(target.handle) : await load(target.handle)
  const counts = (await target.handle.db.execute(sql`select (select count(*) from messages)::int as messages, (select count(*) from threads)::int as threads`)) as unknown as { rows: Array<{ messages: number; threads: number }> }
  console.log(`  ${counts.rows[0]!.messages} messages in ${counts.rows[0]!.threads} threads, loaded in ${loaded.seconds.toFixed(0)} s`)

  const services = createServices(target.handle, logger)
  await services.apiKeys.start()
  const app = createApp({ kind: 'public', services, logger })
  const server = await new Promise<http.Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as http.Server))
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const headers = { authorization: `Bearer ${loaded.key}` }
  const get = async (query: string) => {
    const response = await fetch(`${base}/threads?${query}`, { headers })
    const body = (await response.json()) as { data: unknown[]; next_cursor: string | null }
    if (response.status !== 200) throw new Error(`GET /threads?${query} → ${response.status} ${JSON.stringify(body)}`)
    return body
  }
  const hitsOf = async (term: string) => {
    const result = (await target.handle.db.execute(sql`select count(*)::int as n from messages where search @@ websearch_to_tsquery('russian', ${term})`)) as unknown as { rows: Array<{ n: number }> }
    return result.rows[0]!.n
  }
  const page2 = (await get('limit=20')).next_cursor!
  const searchPage2 = (await get(`search=${encodeURIComponent('холодильник')}&limit=20`)).next_cursor!
  let ticket = 0
  const cases: Array<{ label: string; query: () => string; term?: string }> = [
    { label: 'list, first page (limit 20)', query: () => 'limit=20' },
    { label: 'list, next page by cursor', query: () => `limit=20&cursor=${page2}` },
    { label: 'list, chat filter', query: () => `chat_id=${loaded.chatId}&limit=20` },
    { label: 'list, offset 10000', query: () => 'limit=20&offset=10000' },
    { label: 'search: exact ticket code (1 thread)', query: () => `search=tk${100001 + ((ticket += 7919) % THREADS)}`, term: 'tk100001' },
    { label: 'search: rare word "велосипед"', query: () => `search=${encodeURIComponent('велосипед')}`, term: 'велосипед' },
    { label: 'search: mid word "холодильника" (stemmed)', query: () => `search=${encodeURIComponent('холодильника')}`, term: 'холодильника' },
    { label: 'search: mid word, next page by cursor', query: () => `search=${encodeURIComponent('холодильник')}&limit=20&cursor=${searchPage2}`, term: 'холодильник' },
    { label: 'search: two words "refund card"', query: () => `search=${encodeURIComponent('refund card')}`, term: 'refund card' },
    { label: 'search: common word "orders"', query: () => 'search=orders', term: 'orders' },
    { label: 'search: common word + chat filter', query: () => `search=orders&chat_id=${loaded.chatId}`, term: 'orders' },
  ]
  const rows: string[] = []
  for (const item of cases) {
    for (let i = 0; i < WARMUP; i++) await get(item.query())
    const times: number[] = []
    let results = 0
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now()
      const body = await get(item.query())
      times.push(performance.now() - started)
      results = body.data.length
    }
    times.sort((a, b) => a - b)
    const matched = item.term ? String(await hitsOf(item.term)) : '–'
    const row = `| ${target.name.padEnd(8)} | ${item.label.padEnd(44)} | ${matched.padStart(33)} | ${String(results).padStart(4)} | ${percentile(times, 50).toFixed(1).padStart(8)} | ${percentile(times, 95).toFixed(1).padStart(8)} | ${percentile(times, 99).toFixed(1).padStart(8)} |`
    console.log(row)
    rows.push(row)
  }
  await closeServer(server)
  await services.apiKeys.flush()
  summary.push(...rows)
}

const summary: string[] = []

await runMain('bench:search', async () => {
  console.log(`GET /threads on ${THREADS} threads × ${PER_THREAD} messages; ${REQUESTS} sequential requests per case after ${WARMUP} warm-up (Node ${process.version}, ${os.cpus().length} CPUs)`)
  const targets: Array<() => Promise<Target | null>> = []
  if (args.only !== 'pglite') targets.push(postgresTarget)
  if (args.only !== 'postgres') targets.push(pgliteTarget)
  for (const open of targets) {
    const target = await open()
    if (!target) continue
    try {
      await measureTarget(target)
    } finally {
      await target.drop()
    }
  }
  console.log('\n| database | case                                         | messages matching in the project | rows | p50 (ms) | p95 (ms) | p99 (ms) |')
  console.log('|----------|----------------------------------------------|---------------------------------:|-----:|---------:|---------:|---------:|')
  for (const row of summary) console.log(row)
})
