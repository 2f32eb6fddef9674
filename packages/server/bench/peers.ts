/**
 * Peer benchmark (issue 17): the same streamed chat load, in one run, against
 *   - the model server straight (OpenAI Chat Completions streaming, the client keeps the history),
 *   - Worken on Postgres, Worken on Postgres with WORKEN_PROCESSES (skipped, saying so, when the
 *     server runs no worker processes), Worken on PGlite — each started as `npm start` starts it,
 *   - Mastra (@mastra/core agent stream served by @mastra/hono) with memory on LibSQL and on Postgres,
 * with the same paced model server, load, memory settings and measurement for all.
 *
 *   npm run bench:peers                                  # from the repo root: every target, 2 rounds
 *   npm run bench:peers -- --streams 50 --rounds 1       # a quick smoke run
 *   npm run bench:peers -- --only model,worken-postgres  # targets: model, worken-postgres, worken-postgres-processes,
 *                                                        #   worken-pglite, mastra-libsql, mastra-postgres
 *   npm run bench:peers -- --streams 300                 # measured streams per target and round (default 300)
 *   npm run bench:peers -- --concurrency 50              # concurrent streams = conversation threads (default 50)
 *   npm run bench:peers -- --rounds 2                    # rounds; targets run one after another within a round (default 2)
 *   npm run bench:peers -- --processes 2                 # WORKEN_PROCESSES of the multi-process target (default 2; 1 drops it)
 *   npm run bench:peers -- --warmup 10                   # warm-up streams per target, on threads of their own (default 10)
 *   npm run bench:peers -- --delay-ms 25 --chunk-delay-ms 5   # the paced model's timing (defaults: first word at 30 ms)
 *   npm run bench:peers -- --baseline /abs/checkout/packages/server  # (a path from packages/server) adds "Worken before" on Postgres and PGlite:
 *                                                        #   the server of another checkout (with its node_modules), for before/after in one run
 *
 * The load: every worker owns one conversation thread and sends its turns in it one after
 * another (so the history grows), one user message per turn; memory of the last 10 messages,
 * no titles, no semantic recall, no working memory. The paced model server (its own process,
 * test/support/llm-server.ts) answers every request, after `--delay-ms`, with a role event, then
 * 20 words one per event `--chunk-delay-ms` apart, then the finish and usage events and [DONE].
 * The load generator runs in its own process; each server under test in its own, on a fresh
 * database, started before and stopped after its part of each round.
 *
 * Per stream: TTFT (request sent → first non-empty text delta, parsed from the target's own
 * stream format) and total time (→ end of the stream); a stream whose text is not exactly the
 * 20 words is an error. Per target: TTFT and total p50/p99, streams/s (completed streams ÷ wall
 * time of the target's measured streams), CPU per reply of the server under test (utime + stime
 * of its process and children from /proc, from 2 s after the warm-up to 2 s after the last
 * stream), and on Postgres the database's backends' CPU, WAL bytes (that database's records,
 * read with pg_walinspect between two pg_current_wal_flush_lsn(); server-wide where the
 * extension cannot be installed) and committed transactions (pg_stat_database) per reply, and
 * the most messages a request to the model carried.
 *
 * Postgres: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); scratch
 * databases named worken_peers_* and mastra_peers_* are created next to it and dropped after
 * each target, and peers_stats_* (for the counters) at the end. Mastra: the pinned packages (bench/peers/mastra-install.ts) are installed with
 * `npm install --no-save` into ${XDG_CACHE_HOME:-~/.cache}/worken-bench/mastra (or
 * MASTRA_BENCH_DIR), outside the workspace, and reused on later runs. Everything listens on
 * 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { machineBusy, postgresAnswers, redact, runMain } from './common.ts'
import { Child } from './child.ts'
import { MASTRA_PACKAGES, ensureMastra } from './peers/mastra-install.ts'
import { descendants, treeCpuMs } from './peers/proc.ts'
import type { LoadReply, LoadRequest, LoadSpec, ModelReply, ModelRequest, PacedScript, Protocol } from './peers/protocol.ts'
import { figures, notes, roundTable, summaryTable, type TargetRun } from './peers/report.ts'
import { INSTRUCTIONS, LAST_MESSAGES, MODEL_ID, backendCpuBetween, killAll, pgSnapshot, startMastra, startWorken, walBetween, type Instance } from './peers/targets.ts'

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
/** Between the warm-up and the first sample, and between the last stream and the second: Postgres flushes its statistics within a second of idling. */
const SETTLE_MS = 2000
const WORDS = 'Streaming replies through a server should cost almost nothing on top of the model, so we measure every part carefully.'.split(' ')

const TARGET_IDS = ['model', 'baseline-postgres', 'worken-postgres', 'worken-postgres-processes', 'baseline-pglite', 'worken-pglite', 'mastra-libsql', 'mastra-postgres'] as const
type TargetId = (typeof TARGET_IDS)[number]

type Options = {
  only: TargetId[]
  streams: number
  concurrency: number
  rounds: number
  warmup: number
  processes: number
  script: PacedScript
  postgresUrl: string
  /** packages/server of another checkout ("Worken before"), and its commit. */
  baseline: { dir: string; commit: string } | undefined
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      streams: { type: 'string', default: '300' },
      concurrency: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '10' },
      processes: { type: 'string', default: '2' },
      'delay-ms': { type: 'string', default: '25' },
      'chunk-delay-ms': { type: 'string', default: '5' },
      baseline: { type: 'string' },
    },
    strict: true,
  })
  const integer = (name: string, value: string, min: number, max: number) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got ${value}`)
    return n
  }
  const only = values.only === undefined ? [...TARGET_IDS] : values.only.split(',').map((id) => id.trim()).filter(Boolean)
  for (const id of only) if (!(TARGET_IDS as readonly string[]).includes(id)) throw new Error(`--only takes a comma-separated list of ${TARGET_IDS.join(', ')}; got ${id}`)
  const processes = integer('processes', values.processes, 1, 64)
  const baseline = values.baseline === undefined ? undefined : baselineAt(values.baseline)
  return {
    // In the order of TARGET_IDS, whatever the order given; a single process has no multi-process target,
    // and the "before" targets need --baseline.
    only: TARGET_IDS.filter((id) => only.includes(id) && !(id === 'worken-postgres-processes' && processes < 2) && (baseline !== undefined || !id.startsWith('baseline-'))),
    streams: integer('streams', values.streams, 1, 100_000),
    concurrency: integer('concurrency', values.concurrency, 1, 1000),
    rounds: integer('rounds', values.rounds, 1, 50),
    warmup: integer('warmup', values.warmup, 0, 1000),
    processes,
    script: {
      chunks: WORDS.map((word, i) => (i === 0 ? word : ` ${word}`)),
      delayMs: integer('delay-ms', values['delay-ms'], 0, 10_000),
      chunkDelayMs: integer('chunk-delay-ms', values['chunk-delay-ms'], 0, 1000),
    },
    postgresUrl: process.env.BENCH_DATABASE_URL || DEFAULT_POSTGRES_URL,
    baseline,
  }
}

/** The server directory of another checkout, and the commit it is at. */
function baselineAt(dir: string): { dir: string; commit: string } {
  const absolute = path.resolve(dir)
  if (!fs.existsSync(path.join(absolute, 'src', 'main.ts'))) throw new Error(`--baseline must be the packages/server directory of a checkout; no src/main.ts in ${absolute}`)
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: absolute, encoding: 'utf8' }).trim()
  return { dir: absolute, commit }
}

function label(id: TargetId, options: Options): string {
  switch (id) {
    case 'model': return 'model server straight'
    case 'baseline-postgres': return `Worken before (${options.baseline?.commit}) on Postgres`
    case 'baseline-pglite': return `Worken before (${options.baseline?.commit}) on PGlite`
    case 'worken-postgres': return 'Worken on Postgres'
    case 'worken-postgres-processes': return `Worken on Postgres, ${options.processes} processes`
    case 'worken-pglite': return 'Worken on PGlite'
    case 'mastra-libsql': return `Mastra ${MASTRA_PACKAGES['@mastra/core']}, memory on LibSQL`
    case 'mastra-postgres': return `Mastra ${MASTRA_PACKAGES['@mastra/core']}, memory on Postgres`
  }
}

const usesPostgres = (id: TargetId) => id === 'worken-postgres' || id === 'baseline-postgres' || id === 'worken-postgres-processes' || id === 'mastra-postgres'

type Context = {
  options: Options
  model: Child<ModelRequest, ModelReply>
  load: Child<LoadRequest, LoadReply>
  modelUrl: string
  /** A connection to the Postgres server for the counters; undefined when Postgres does not answer. */
  admin: pg.Client | undefined
  /** pg_walinspect answers on `admin`: WAL is counted per database, not server-wide. */
  walPerDatabase: boolean
  postgresProblem: string | undefined
  mastraServerFile: string | undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const say = (line: string) => process.stdout.write(`${line}\n`)

async function runLoad(ctx: Context, spec: LoadSpec): Promise<LoadReply> {
  // Generous: at worst every stream waits for its 60 s timeout, a thread's turns one after another.
  const turns = Math.ceil(spec.streams / Math.max(1, spec.threads))
  return ctx.load.call({ type: 'run', spec }, (turns + 1) * 70_000)
}

async function start(ctx: Context, id: TargetId): Promise<Instance | undefined> {
  const modelBaseUrl = `${ctx.modelUrl}/v1`
  const postgresUrl = usesPostgres(id) ? ctx.options.postgresUrl : undefined
  switch (id) {
    case 'model': return undefined
    case 'worken-postgres':
    case 'worken-pglite':
      return startWorken({ ...(postgresUrl ? { postgresUrl } : {}), modelBaseUrl })
    case 'baseline-postgres':
    case 'baseline-pglite':
      return startWorken({ ...(postgresUrl ? { postgresUrl } : {}), modelBaseUrl, serverDir: ctx.options.baseline!.dir })
    case 'worken-postgres-processes':
      return startWorken({ postgresUrl: postgresUrl!, processes: ctx.options.processes, modelBaseUrl })
    case 'mastra-libsql':
    case 'mastra-postgres':
      return startMastra({ serverFile: ctx.mastraServerFile!, ...(postgresUrl ? { postgresUrl } : {}), modelBaseUrl })
  }
}

async function measure(ctx: Context, id: TargetId, round: number): Promise<TargetRun> {
  const { options } = ctx
  const base: TargetRun = { label: label(id, options), samples: [], wallMs: 0, serverCpuMs: Number.NaN, maxModelMessages: 0, loadStallMs: 0 }
  if (usesPostgres(id) && !ctx.admin) return { ...base, skipped: `Postgres does not answer (${ctx.postgresProblem})` }
  const expectedText = options.script.chunks.join('')
  let instance: Instance | undefined
  try {
    const started = performance.now()
    instance = await start(ctx, id)
    const protocol: Protocol = instance?.protocol ?? { kind: 'openai', url: `${ctx.modelUrl}/v1/chat/completions`, model: MODEL_ID, instructions: INSTRUCTIONS, lastMessages: LAST_MESSAGES }
    if (instance) say(`  ${base.label}: up in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${instance.pid})`)

    if (options.warmup > 0) {
      const warm = await runLoad(ctx, { protocol, threadPrefix: `warmup-r${round}`, threads: Math.min(10, options.concurrency), streams: options.warmup, expectedText })
      const failed = warm.samples!.filter((s) => !s.ok)
      if (failed.length === warm.samples!.length) return { ...base, failed: `every warm-up stream failed; the first: ${failed[0]!.error}${instance ? `\n${instance.logTail()}` : ''}` }
      if (failed.length > 0) say(`  ${base.label}: ${failed.length} of ${warm.samples!.length} warm-up streams failed, the first: ${failed[0]!.error}`)
    }
    if (id === 'worken-postgres-processes') {
      const workers = descendants(instance!.pid)
      if (workers.length < options.processes - 1) return { ...base, skipped: `cluster mode not available (WORKEN_PROCESSES=${options.processes}, but the server runs ${workers.length === 0 ? 'no worker process' : `${workers.length + 1} processes`})` }
      say(`  ${base.label}: ${workers.length} processes under the server (pid ${instance!.pid})`)
    }

    await ctx.model.call({ type: 'stats' }, 10_000) // forget the warm-up's requests
    await sleep(SETTLE_MS)
    const cpuBefore = instance ? treeCpuMs(instance.pid) : Number.NaN
    const pgBefore = instance?.database && ctx.admin ? await pgSnapshot(ctx.admin, instance.database) : undefined

    const result = await runLoad(ctx, { protocol, threadPrefix: `r${round}`, threads: options.concurrency, streams: options.streams, expectedText })

    await sleep(SETTLE_MS)
    const cpuAfter = instance ? treeCpuMs(instance.pid) : Number.NaN
    const pgAfter = instance?.database && ctx.admin ? await pgSnapshot(ctx.admin, instance.database) : undefined
    const modelStats = await ctx.model.call({ type: 'stats' }, 10_000)
    const run: TargetRun = {
      ...base,
      samples: result.samples!,
      wallMs: result.wallMs!,
      serverCpuMs: cpuAfter - cpuBefore,
      ...(pgBefore && pgAfter ? { pg: { backendCpuMs: backendCpuBetween(pgBefore.backendCpuMs, pgAfter.backendCpuMs), walBytes: await walBetween(ctx.admin!, instance!.database!, pgBefore, pgAfter, ctx.walPerDatabase), xacts: pgAfter.xactCommit - pgBefore.xactCommit } } : {}),
      maxModelMessages: modelStats.maxMessages ?? 0,
      loadStallMs: result.maxStallMs ?? 0,
    }
    const f = figures(run)
    say(`  ${base.label}: ${f.streams} streams in ${(run.wallMs / 1000).toFixed(2)} s, ${f.errors} errors, TTFT p50 ${f.ttft50.toFixed(1)} ms`)
    return run
  } catch (error) {
    return { ...base, failed: (error as Error).message }
  } finally {
    await instance?.stop()
  }
}

function gitCommit(): string {
  const cwd = fileURLToPath(new URL('.', import.meta.url))
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${sha} with uncommitted changes` : sha
  } catch {
    return 'unknown (not a git checkout)'
  }
}

async function main(): Promise<void> {
  const options = parseOptions()
  const cpus = os.cpus()
  const ctx: Partial<Context> & { options: Options } = { options, walPerDatabase: false }

  // Postgres first: its version belongs in the header, and its absence skips three targets.
  let postgresVersion = 'not used'
  let walNote = ''
  let statsDatabase: string | undefined
  if (options.only.some(usesPostgres)) {
    ctx.postgresProblem = (await postgresAnswers(options.postgresUrl)) ?? undefined
    if (ctx.postgresProblem) {
      postgresVersion = `none (${redact(options.postgresUrl)} does not answer: ${ctx.postgresProblem}; set BENCH_DATABASE_URL)`
    } else {
      // The counters are read from a scratch database of their own, where pg_walinspect can be installed.
      statsDatabase = await createScratchDatabase(options.postgresUrl, 'peers_stats')
      ctx.admin = new pg.Client({ connectionString: statsDatabase })
      ctx.admin.on('error', () => {})
      await ctx.admin.connect()
      postgresVersion = `PostgreSQL ${(await ctx.admin.query<{ server_version: string }>('show server_version')).rows[0]!.server_version}`
      try {
        await ctx.admin.query('create extension if not exists pg_walinspect')
        ctx.walPerDatabase = true
        walNote = 'WAL per reply is the target database\'s own (pg_walinspect: records on its relations and the commits of their transactions).'
      } catch (error) {
        ctx.walPerDatabase = false
        walNote = `WAL per reply is server-wide (pg_walinspect unavailable: ${(error as Error).message}): anything else writing to the same Postgres meanwhile counts too.`
      }
    }
  }

  const { delayMs, chunkDelayMs, chunks } = options.script
  say('# Peer benchmark (npm run bench:peers)')
  say('')
  say(`- date: ${new Date().toISOString()}; commit: ${gitCommit()}`)
  say(`- machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; node ${process.version}; ${postgresVersion}`)
  say(`- load: ${options.concurrency} concurrent streams, ${options.streams} measured streams per target and round, ${options.concurrency} conversation threads (one per worker, turns one after another), one user message per turn; ${options.warmup} warm-up streams per target first; ${options.rounds} round(s), targets one after another within a round, each on a fresh database`)
  say(`- memory for every target: the last ${LAST_MESSAGES} messages, no semantic recall, no working memory, no titles`)
  say(`- paced model server (own process): the stream opens ${delayMs} ms after the request, then ${chunks.length} words, one per event, ${chunkDelayMs} ms apart (first word ≥ ${delayMs + chunkDelayMs} ms, last ≥ ${delayMs + chunks.length * chunkDelayMs} ms), then finish, usage and [DONE] (≥ ${delayMs + (chunks.length + 2) * chunkDelayMs} ms)`)
  if (options.only.some((id) => id.startsWith('mastra'))) say(`- Mastra: ${Object.entries(MASTRA_PACKAGES).map(([name, version]) => `${name} ${version}`).join(', ')}`)
  say(`- servers: Worken as \`npm start\` runs it (LOG_LEVEL default, info), Mastra with NODE_ENV=production (its logger at warn); Postgres pools of 10 connections for both`)
  const busy = await machineBusy(1000)
  say(`- machine ${Math.round(busy * 100)}% busy over 1 s before the run${busy > 0.2 ? ' (other processes: the figures will be noisy)' : ''}`)
  say('')

  if (options.only.some((id) => id.startsWith('mastra'))) ctx.mastraServerFile = await ensureMastra(say)

  ctx.model = new Child<ModelRequest, ModelReply>('the model server', fileURLToPath(new URL('./peers/model-server.ts', import.meta.url)))
  ctx.load = new Child<LoadRequest, LoadReply>('the load generator', fileURLToPath(new URL('./peers/load.ts', import.meta.url)))
  const rounds: TargetRun[][] = []
  try {
    ctx.modelUrl = (await ctx.model.call({ type: 'start', script: options.script }, 10_000)).url!
    if (new URL(ctx.modelUrl).hostname !== '127.0.0.1') throw new Error(`the model server listens on ${ctx.modelUrl}, expected 127.0.0.1`)
    for (let round = 1; round <= options.rounds; round++) {
      say(`Round ${round}/${options.rounds}`)
      const runs: TargetRun[] = []
      for (const id of options.only) {
        const run = await measure(ctx as Context, id, round)
        if (run.skipped) say(`  ${run.label}: skipped: ${run.skipped}`)
        if (run.failed) say(`  ${run.label}: failed: ${run.failed}`)
        runs.push(run)
      }
      rounds.push(runs)
    }
  } finally {
    await Promise.all([ctx.model.close(), ctx.load.close()])
    await ctx.admin?.end().catch(() => {})
    if (statsDatabase) await dropScratchDatabase(options.postgresUrl, statsDatabase).catch(() => {})
  }

  for (const [index, runs] of rounds.entries()) {
    say('')
    say(`## Round ${index + 1}`)
    say('')
    say(roundTable(runs))
    for (const note of notes(runs)) say(`- ${note}`)
  }
  say('')
  say(`## Summary (ranges over ${rounds.length} round${rounds.length === 1 ? '' : 's'})`)
  say('')
  say(summaryTable(options.only.map((id) => label(id, options)), rounds))
  for (const note of notes(rounds.flat())) say(`- ${note}`)
  say('')
  const stall = Math.max(0, ...rounds.flat().map((run) => run.loadStallMs))
  say(`Longest event-loop stall of the load generator: ${stall.toFixed(0)} ms.${walNote ? ` ${walNote}` : ''}`)
  const errors = rounds.flat().flatMap((run) => run.samples.filter((s) => !s.ok).slice(0, 3).map((s) => `  ${run.label}: ${s.error}`))
  if (errors.length > 0) say(`First errors:\n${errors.slice(0, 12).join('\n')}`)
}

// Whatever happens, the run ends within an hour, and no server under test outlives it.
const deadline = setTimeout(() => {
  process.stderr.write('bench:peers: still running after 60 minutes; giving up\n')
  killAll()
  process.exit(1)
}, 60 * 60_000)
deadline.unref()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}
await runMain('bench:peers', main)
