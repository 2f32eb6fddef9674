/**
 * `GET /bots` throughput benchmark: the real public app against a bare
 * `node:http` server that runs the same SQL through the same driver, on the
 * embedded database (PGlite) and on Postgres.
 *
 *   npm run bench                       # from the repo root
 *   npm run bench -- --duration 20      # measured seconds per target (default 10)
 *   npm run bench -- --only pglite      # or --only postgres
 *   npm run bench -- --rounds 3         # alternate worken/bare 3 times, report medians
 *
 * Postgres: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
 * A scratch database is created next to it and dropped at the end; when the
 * server does not answer, the Postgres pair is skipped.
 *
 * The servers run in this process; the load (autocannon) runs in a child
 * process, so that it does not share the servers' event loop. Targets run one
 * after the other, never two at once.
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual, parseArgs } from 'node:util'
import type { PGlite } from '@electric-sql/pglite'
import { serve } from '@hono/node-server'
import autocannon from 'autocannon'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import pino from 'pino'
import { createApp } from '../src/app.ts'
import { BotService } from '../src/modules/bots/service.ts'
import { DEFAULT_PAGE_SIZE } from '../src/platform/http/fields.ts'
import { openDatabase, type Database, type DatabaseHandle } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import * as schema from '../src/schema.ts'
import { createServices, type Services } from '../src/services.ts'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { closeServer, machineBusy, postgresAnswers, redact, runMain, seedProject } from './common.ts'

const HOST = '127.0.0.1'
const POOL_SIZE = 10 // the server's default DATABASE_POOL_SIZE
const BOT_COUNT = 20
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
const ROLE_ENV = 'WORKEN_BENCH_ROLE'

// ---------------------------------------------------------------------------
// Load generator (child process)
// ---------------------------------------------------------------------------

type LoadRequest = { id: number; url: string; connections: number; duration: number; headers: Record<string, string> }
type LoadSummary = {
  requests: number
  durationS: number
  rps: number
  p50: number
  p99: number
  avg: number
  max: number
  errors: number
  timeouts: number
  non2xx: number
  ok2xx: number
}
type LoadReply = { id: number; summary?: LoadSummary; error?: string }

function runLoadGenerator(): void {
  const send = (reply: LoadReply) => process.send?.(reply)
  process.on('message', (message: LoadRequest) => {
    void (async () => {
      try {
        // Only ever load this machine's loopback interface.
        const target = new URL(message.url)
        if (target.hostname !== HOST || target.protocol !== 'http:') throw new Error(`refusing to load ${message.url}: only http://${HOST} is allowed`)
        const result = await autocannon({
          url: message.url,
          connections: message.connections,
          duration: message.duration, // bounds the run: autocannon stops by itself
          timeout: 5,
          headers: message.headers,
        })
        send({
          id: message.id,
          summary: {
            requests: result.requests.total,
            durationS: result.duration,
            rps: result.requests.total / result.duration,
            p50: result.latency.p50,
            p99: result.latency.p99,
            avg: result.latency.average,
            max: result.latency.max,
            errors: result.errors,
            timeouts: result.timeouts,
            non2xx: result.non2xx,
            ok2xx: result['2xx'],
          },
        })
      } catch (error) {
        send({ id: message.id, error: (error as Error).stack ?? String(error) })
      }
    })()
  })
  // The parent went away (or is done): stop.
  process.on('disconnect', () => process.exit(0))
}

class LoadClient {
  private readonly child: ChildProcess
  private nextId = 1
  private readonly waiting = new Map<number, { resolve(summary: LoadSummary): void; reject(error: Error): void }>()

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [ROLE_ENV]: 'load' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.child.on('message', (reply: LoadReply) => {
      const waiter = this.waiting.get(reply.id)
      if (!waiter) return
      this.waiting.delete(reply.id)
      if (reply.summary) waiter.resolve(reply.summary)
      else waiter.reject(new Error(`load generator failed: ${reply.error}`))
    })
    this.child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`load generator exited (code ${code}, signal ${signal})`))
      this.waiting.clear()
    })
  }

  /** One autocannon run; a watchdog kills the child if it overruns the duration by 30 s. */
  run(url: string, durationS: number, connections: number, headers: Record<string, string>): Promise<LoadSummary> {
    const id = this.nextId++
    return new Promise<LoadSummary>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        this.waiting.delete(id)
        this.child.kill('SIGKILL')
        reject(new Error(`load generator did not finish within ${durationS + 30} s; killed it`))
      }, (durationS + 30) * 1000)
      this.waiting.set(id, {
        resolve: (summary) => { clearTimeout(watchdog); resolve(summary) },
        reject: (error) => { clearTimeout(watchdog); reject(error) },
      })
      this.child.send({ id, url, connections, duration: durationS, headers } satisfies LoadRequest)
    })
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    if (this.child.connected) this.child.disconnect()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------------------
// Benchmark (parent process)
// ---------------------------------------------------------------------------

type Options = { duration: number; warmup: number; connections: number; rounds: number; only: 'pglite' | 'postgres' | undefined; postgresUrl: string }

type Measured = LoadSummary & { target: string; database: 'PGlite' | 'Postgres'; kind: 'worken' | 'bare'; cpu: number; elu: number; maxDelay: number; rounds?: number[] }

type Seeded = { projectId: string; key: string }

type BotJson = { id: string; name: string; description: string | null; status: string; project_id: string; created_at: string; updated_at: string }
type BotRow = { id: string; name: string; description: string | null; status: string; project_id: string; created_at: Date; updated_at: Date }

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '1' },
      only: { type: 'string' },
    },
    strict: true,
  })
  const positive = (name: string, value: string, min: number) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > 3600) throw new Error(`--${name} must be an integer between ${min} and 3600, got ${value}`)
    return n
  }
  if (values.only !== undefined && values.only !== 'pglite' && values.only !== 'postgres') throw new Error('--only must be pglite or postgres')
  return {
    duration: positive('duration', values.duration, 1),
    warmup: positive('warmup', values.warmup, 0),
    connections: positive('connections', values.connections, 1),
    rounds: positive('rounds', values.rounds, 1),
    only: values.only,
    postgresUrl: process.env.BENCH_DATABASE_URL || DEFAULT_POSTGRES_URL,
  }
}


function listen(handler: http.RequestListener | ((request: Request) => Response | Promise<Response>), kind: 'node' | 'fetch'): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    let server: http.Server
    if (kind === 'fetch') {
      server = serve({ fetch: handler as (request: Request) => Response | Promise<Response>, port: 0, hostname: HOST }, () => resolve(server)) as http.Server
    } else {
      server = http.createServer(handler as http.RequestListener)
      server.listen(0, HOST, () => resolve(server))
    }
    server.once('error', reject)
  })
}

function urlOf(server: http.Server, pathname: string): string {
  const { address, port } = server.address() as AddressInfo
  if (address !== HOST) throw new Error(`server bound to ${address}, expected ${HOST}`)
  return `http://${HOST}:${port}${pathname}`
}


/** A project as the test harness seeds it, then the bots. */
async function seed(handle: DatabaseHandle, services: Services): Promise<Seeded> {
  const seeded = await seedProject(handle, services)
  for (let i = 1; i <= BOT_COUNT; i++) {
    await services.bots.create(seeded.projectId, { name: `Bench bot ${i}`, description: i % 2 === 0 ? `Answers questions about topic ${i}` : null })
  }
  return seeded
}

const captured: Array<{ sql: string; params: unknown[] }> = []
const capturingLogger = { logQuery: (sql: string, params: unknown[]) => void captured.push({ sql, params }) }

/**
 * The SQL and parameters BotService.list really issues for `GET /bots`, captured
 * through a drizzle logger, so the baseline follows the service if its query changes.
 */
async function captureListQuery(db: Database, projectId: string): Promise<{ sql: string; params: unknown[] }> {
  captured.length = 0
  await new BotService(db).list(projectId, { limit: DEFAULT_PAGE_SIZE, offset: 0 })
  const queries = captured.splice(0)
  if (queries.length !== 1) throw new Error(`expected BotService.list to issue one query, saw ${queries.length}`)
  return queries[0]!
}

function toBotJson(row: BotRow): BotJson {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    project_id: row.project_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** The baseline: no framework, no auth, no validation; the query, JSON.stringify, 200. */
function bareHandler(query: () => Promise<BotRow[]>): http.RequestListener {
  return (request, response) => {
    if (request.method !== 'GET' || request.url !== '/bots') {
      response.writeHead(404).end()
      return
    }
    query().then(
      (rows) => {
        const body = JSON.stringify(rows.map(toBotJson))
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
        response.end(body)
      },
      (error: unknown) => {
        process.stderr.write(`bare baseline query failed: ${(error as Error).message}\n`)
        response.writeHead(500).end()
      },
    )
  }
}

async function fetchJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const response = await fetch(url, { headers })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 200)}`)
  return JSON.parse(text)
}

type Target = { name: string; kind: 'worken' | 'bare'; url: string; headers: Record<string, string> }

async function measure(load: LoadClient, options: Options, database: 'PGlite' | 'Postgres', target: Target): Promise<Measured> {
  process.stdout.write(`  ${target.name}: ${options.warmup > 0 ? `warm-up ${options.warmup} s, ` : ''}measuring ${options.duration} s … `)
  if (options.warmup > 0) await load.run(target.url, options.warmup, options.connections, target.headers)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const cpuBefore = process.cpuUsage()
  const eluBefore = performance.eventLoopUtilization()
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const wallBefore = performance.now()
  const summary = await load.run(target.url, options.duration, options.connections, target.headers)
  const wallMs = performance.now() - wallBefore
  delay.disable()
  const cpu = process.cpuUsage(cpuBefore)
  const elu = performance.eventLoopUtilization(eluBefore).utilization
  const measured: Measured = {
    ...summary,
    target: target.name,
    database,
    kind: target.kind,
    cpu: (cpu.user + cpu.system) / 1000 / wallMs,
    elu,
    maxDelay: delay.max / 1e6,
  }
  process.stdout.write(`${Math.round(measured.rps)} req/s, p99 ${measured.p99} ms\n`)
  return measured
}

/** Sets up one database, runs worken then bare against it, tears everything down. */
async function benchDatabase(
  load: LoadClient,
  options: Options,
  database: 'PGlite' | 'Postgres',
  open: () => Promise<{ handle: DatabaseHandle; bare: (projectId: string) => Promise<{ query: () => Promise<BotRow[]>; sql: string; close(): Promise<void> }>; cleanup(): Promise<void> }>,
): Promise<Measured[]> {
  const { handle, bare, cleanup } = await open()
  const servers: http.Server[] = []
  let bareClose: (() => Promise<void>) | undefined
  try {
    await migrate(handle)
    const services = createServices(handle, pino({ level: 'silent' }))
    await services.apiKeys.start()
    const seeded = await seed(handle, services)

    const app = createApp({ kind: 'public', services, logger: pino({ level: 'silent' }) })
    const appServer = await listen(app.fetch, 'fetch')
    servers.push(appServer)
    const baseline = await bare(seeded.projectId)
    bareClose = baseline.close
    const bareServer = await listen(bareHandler(baseline.query), 'node')
    servers.push(bareServer)

    const auth = { authorization: `Bearer ${seeded.key}` }
    const targets: Target[] = [
      { name: `worken on ${database}`, kind: 'worken', url: urlOf(appServer, '/bots'), headers: auth },
      { name: `bare on ${database}`, kind: 'bare', url: urlOf(bareServer, '/bots'), headers: {} },
    ]

    // Both must answer the same body, or the comparison means nothing.
    const fromApp = await fetchJson(targets[0]!.url, auth)
    const fromBare = await fetchJson(targets[1]!.url, {})
    if (!Array.isArray(fromApp) || fromApp.length !== BOT_COUNT) throw new Error(`GET /bots on worken returned ${JSON.stringify(fromApp).slice(0, 200)}`)
    if (!isDeepStrictEqual(fromApp, fromBare)) throw new Error('the bare baseline and worken answer different bodies for GET /bots')
    process.stdout.write(`${database}: ${BOT_COUNT} bots, identical bodies (${JSON.stringify(fromApp).length} bytes); baseline SQL: ${baseline.sql}\n`)

    // Rounds alternate the two targets, so that a disturbance hits both alike.
    const runs: Measured[][] = targets.map(() => [])
    for (let round = 1; round <= options.rounds; round++) {
      if (options.rounds > 1) process.stdout.write(`  round ${round}/${options.rounds}\n`)
      for (const [i, target] of targets.entries()) runs[i]!.push(await measure(load, options, database, target))
    }
    await services.apiKeys.flush()
    return runs.map(combineRounds)
  } finally {
    await Promise.all(servers.map(closeServer))
    await bareClose?.()
    await handle.close()
    await cleanup()
  }
}

function openPglite() {
  return async () => {
    // On disk, as the server runs by default (WORKEN_DATA_DIR), in a throwaway directory.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-'))
    const handle = await openDatabase({ driver: 'pglite', dataDir })
    return {
      handle,
      async bare(projectId: string) {
        // The same PGlite instance the app uses, queried directly: the plain equivalent of pool.query.
        const client = handle.pglite!
        const { sql, params } = await captureListQuery(drizzlePglite(client as unknown as PGlite, { schema, logger: capturingLogger }) as unknown as Database, projectId)
        return {
          sql,
          query: async () => (await client.query<BotRow>(sql, params)).rows,
          close: async () => {},
        }
      },
      async cleanup() {
        fs.rmSync(dataDir, { recursive: true, force: true })
      },
    }
  }
}


function openPostgres(serverUrl: string) {
  return async () => {
    const url = await createScratchDatabase(serverUrl, 'worken_bench')
    let handle: DatabaseHandle
    try {
      handle = await openDatabase({ driver: 'postgres', url, poolSize: POOL_SIZE, onError: (error) => process.stderr.write(`pool error: ${error.message}\n`) })
    } catch (error) {
      await dropScratchDatabase(serverUrl, url)
      throw error
    }
    return {
      handle,
      async bare(projectId: string) {
        // Its own pool, as large as the app's, on the same database.
        const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE })
        pool.on('error', (error) => process.stderr.write(`bare pool error: ${error.message}\n`))
        try {
          const { sql, params } = await captureListQuery(drizzlePostgres(pool, { schema, logger: capturingLogger }) as unknown as Database, projectId)
          return {
            sql,
            // A named statement, as the service uses: parsed and planned once per connection.
            query: async () => (await pool.query<BotRow>({ name: 'bare_bots_list', text: sql, values: params })).rows,
            close: () => pool.end(),
          }
        } catch (error) {
          await pool.end()
          throw error
        }
      },
      async cleanup() {
        await dropScratchDatabase(serverUrl, url)
      },
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Several rounds of one target: medians of the rates and latencies, sums of the counts. */
function combineRounds(rounds: Measured[]): Measured {
  const first = rounds[0]!
  if (rounds.length === 1) return first
  const sum = (pick: (m: Measured) => number) => rounds.reduce((total, m) => total + pick(m), 0)
  const mid = (pick: (m: Measured) => number) => median(rounds.map(pick))
  return {
    ...first,
    requests: sum((m) => m.requests),
    durationS: sum((m) => m.durationS),
    rps: mid((m) => m.rps),
    p50: mid((m) => m.p50),
    p99: mid((m) => m.p99),
    avg: mid((m) => m.avg),
    max: Math.max(...rounds.map((m) => m.max)),
    errors: sum((m) => m.errors),
    timeouts: sum((m) => m.timeouts),
    non2xx: sum((m) => m.non2xx),
    ok2xx: sum((m) => m.ok2xx),
    cpu: mid((m) => m.cpu),
    elu: mid((m) => m.elu),
    maxDelay: Math.max(...rounds.map((m) => m.maxDelay)),
    rounds: rounds.map((m) => m.rps),
  }
}

function formatTable(results: Measured[]): string {
  const header = ['target', 'req/s', 'p50 (ms)', 'p99 (ms)', 'errors', 'non-2xx', 'requests', 'server CPU', 'event loop busy', 'longest stall (ms)']
  const rows = results.map((r) => [
    r.target,
    r.rps.toFixed(0),
    String(r.p50),
    String(r.p99),
    String(r.errors),
    String(r.non2xx),
    String(r.requests),
    `${Math.round(r.cpu * 100)}%`,
    `${Math.round(r.elu * 100)}%`,
    r.maxDelay.toFixed(0),
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}


async function main(): Promise<void> {
  const options = parseOptions()
  process.stdout.write(
    `GET /bots, ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per target` +
      `${options.rounds > 1 ? ` × ${options.rounds} rounds` : ''}, ${os.cpus().length} CPUs, node ${process.version}\n`,
  )
  const busyBefore = await machineBusy(1000)
  process.stdout.write(
    busyBefore > 0.2
      ? `Note: the machine is already ${Math.round(busyBefore * 100)}% busy before the run (other processes): the figures will be noisy.\n`
      : `Machine idle before the run (${Math.round(busyBefore * 100)}% CPU busy over 1 s).\n`,
  )
  const load = new LoadClient()
  const results: Measured[] = []
  const notes: string[] = []
  try {
    if (options.only !== 'postgres') results.push(...(await benchDatabase(load, options, 'PGlite', openPglite())))
    if (options.only !== 'pglite') {
      const problem = await postgresAnswers(options.postgresUrl)
      if (problem) {
        const note = `Postgres at ${redact(options.postgresUrl)} does not answer (${problem}): skipped the Postgres pair. Set BENCH_DATABASE_URL to run it.`
        notes.push(note)
        process.stdout.write(`${note}\n`)
      } else {
        results.push(...(await benchDatabase(load, options, 'Postgres', openPostgres(options.postgresUrl))))
      }
    }
  } finally {
    await load.close()
  }

  process.stdout.write(`\n${formatTable(results)}\n\n`)
  for (const database of ['PGlite', 'Postgres'] as const) {
    const worken = results.find((r) => r.database === database && r.kind === 'worken')
    const bare = results.find((r) => r.database === database && r.kind === 'bare')
    if (!worken || !bare) continue
    const ratio = worken.rps / bare.rps
    const goal = database === 'Postgres' ? ` (goal ≥ 70%: ${ratio >= 0.7 ? 'met' : 'NOT met'})` : ''
    process.stdout.write(`worken/bare on ${database}: ${(ratio * 100).toFixed(1)}% of the baseline's throughput${goal}\n`)
    if (worken.rounds && bare.rounds) {
      const perRound = worken.rounds.map((rps, i) => `${((rps / bare.rounds![i]!) * 100).toFixed(0)}%`)
      process.stdout.write(`  per round: ${perRound.join(', ')} (medians of ${worken.rounds.length} rounds above)\n`)
    }
  }
  for (const note of notes) process.stdout.write(`${note}\n`)
  const failures = results.filter((r) => r.errors > 0 || r.non2xx > 0)
  if (failures.length > 0) process.stdout.write(`Warning: errors or non-2xx answers in: ${failures.map((r) => r.target).join(', ')}\n`)
}

if (process.env[ROLE_ENV] === 'load') {
  runLoadGenerator()
} else {
  await runMain('bench', main)
}
