/**
 * Event-feed benchmark: many concurrent SSE subscribers of `GET /threads/events`
 * on one Worken process, on the embedded database (PGlite) and on Postgres.
 *
 *   npm run bench:events                          # from the repo root
 *   npm run bench:events -- --subscribers 2000    # concurrent subscribers (default 2000)
 *   npm run bench:events -- --events 200 --interval-ms 100   # measured writes and their pace (defaults)
 *   npm run bench:events -- --only pglite         # or --only postgres
 *
 * Per (subscriber, event): latency from the commit (the writer takes the time
 * right after `threads.storeUserMessages` returns, i.e. after COMMIT; the
 * NOTIFY follows it) to the moment the subscriber's socket delivered the frame
 * to the client process. Both processes read `performance.timeOrigin +
 * performance.now()`, the same wall clock at sub-millisecond resolution.
 * Reported first with one subscriber (the path's own cost), then with all.
 *
 * Memory per idle subscriber: the server's RSS and JS memory (heap + external
 * + array buffers) after a forced GC, before and after the subscribers
 * connected and received their first frame, divided by their number.
 *
 * Two processes: this one runs Worken (the public app on @hono/node-server);
 * a child runs the subscribers, so they do not share its event loop. The
 * writer runs in this process, as a request handler would. Postgres:
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); a
 * scratch database is created next to it and dropped at the end.
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import vm from 'node:vm'
import pino from 'pino'
import { createApp } from '../src/app.ts'
import { openDatabase, type DatabaseHandle } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import * as schema from '../src/schema.ts'
import { createServices } from '../src/services.ts'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { closeServer, listen, machineBusy, percentile, postJson, postgresAnswers, redact, runMain, seedProject } from './common.ts'

const HOST = '127.0.0.1'
const POOL_SIZE = 10 // the server's default DATABASE_POOL_SIZE
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
const ROLE_ENV = 'WORKEN_BENCH_EVENTS_ROLE'
const THREAD_ID = 'bench-events'

const now = () => performance.timeOrigin + performance.now()

// ---------------------------------------------------------------------------
// Wire types between the processes
// ---------------------------------------------------------------------------

type LatencySummary = { count: number; expected: number; p50: number; p90: number; p99: number; max: number; allReachedP50: number; allReachedP99: number; allReachedMax: number }
type ClientRequest =
  | { id: number; type: 'open'; url: string; headers: Record<string, string>; count: number }
  | { id: number; type: 'reset' }
  | { id: number; type: 'collect'; committedAt: Record<string, number> }
  | { id: number; type: 'close' }
type ClientReply = { id: number; opened?: number; failed?: string[]; summary?: LatencySummary; clientMaxDelayMs?: number; error?: string }

// ---------------------------------------------------------------------------
// Child: the subscribers
// ---------------------------------------------------------------------------

function runSubscribers(): void {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
  const requests: http.ClientRequest[] = []
  /** Receipt times per message id, one per subscriber that got it. */
  let receipts = new Map<string, number[]>()
  const delay = monitorEventLoopDelay({ resolution: 10 })

  const subscribe = (url: string, headers: Record<string, string>): Promise<void> =>
    new Promise((resolve, reject) => {
      let buffer = ''
      let first = true
      const request = http.get(url, { agent, headers }, (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`HTTP ${response.statusCode}`))
          response.resume()
          return
        }
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          const at = now()
          buffer += chunk
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            if (first) {
              first = false
              resolve()
            }
            const data = frame.split('\n').find((line) => line.startsWith('data: '))
            if (!data) continue
            const event = JSON.parse(data.slice(6))
            if (event.type !== 'message_created') continue
            let list = receipts.get(event.message.id)
            if (!list) receipts.set(event.message.id, (list = []))
            list.push(at)
          }
        })
      })
      request.on('error', reject)
      requests.push(request)
    })

  process.on('message', (message: ClientRequest) => {
    const reply = (body: Omit<ClientReply, 'id'>) => process.send?.({ id: message.id, ...body })
    void (async () => {
      try {
        if (message.type === 'open') {
          const results = await Promise.allSettled(Array.from({ length: message.count }, () => subscribe(message.url, message.headers)))
          const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))
          reply({ opened: results.length - failed.length, failed: failed.slice(0, 5) })
        } else if (message.type === 'reset') {
          receipts = new Map()
          delay.reset()
          delay.enable()
          reply({})
        } else if (message.type === 'collect') {
          delay.disable()
          const latencies: number[] = []
          const allReached: number[] = []
          let expected = 0
          for (const [messageId, committedAt] of Object.entries(message.committedAt)) {
            expected += requests.length
            const list = receipts.get(messageId) ?? []
            for (const at of list) latencies.push(at - committedAt)
            if (list.length === requests.length) allReached.push(Math.max(...list) - committedAt)
          }
          latencies.sort((a, b) => a - b)
          allReached.sort((a, b) => a - b)
          reply({
            summary: {
              count: latencies.length, expected,
              p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN,
              allReachedP50: percentile(allReached, 50), allReachedP99: percentile(allReached, 99), allReachedMax: allReached.at(-1) ?? Number.NaN,
            },
            clientMaxDelayMs: delay.max / 1e6,
          })
        } else if (message.type === 'close') {
          for (const request of requests.splice(0)) request.destroy()
          reply({})
        }
      } catch (error) {
        reply({ error: (error as Error).stack ?? String(error) })
      }
    })()
  })
  process.on('disconnect', () => {
    for (const request of requests) request.destroy()
    process.exit(0)
  })
}

// ---------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------

class Subscribers {
  private readonly child: ChildProcess
  private nextId = 1
  private readonly waiting = new Map<number, { resolve(reply: ClientReply): void; reject(error: Error): void }>()

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [ROLE_ENV]: 'subscribers' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (reply: ClientReply) => {
      const waiter = this.waiting.get(reply.id)
      if (!waiter) return
      this.waiting.delete(reply.id)
      if (reply.error) waiter.reject(new Error(`subscribers child: ${reply.error}`))
      else waiter.resolve(reply)
    })
    this.child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`subscribers child exited (code ${code}, signal ${signal})`))
      this.waiting.clear()
    })
  }

  call(request: DistributiveOmit<ClientRequest, 'id'>, timeoutMs: number): Promise<ClientReply> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const watchdog = setTimeout(() => {
        this.waiting.delete(id)
        this.child.kill('SIGKILL')
        reject(new Error(`the subscribers child did not answer within ${timeoutMs} ms; killed it`))
      }, timeoutMs)
      this.waiting.set(id, {
        resolve: (reply) => { clearTimeout(watchdog); resolve(reply) },
        reject: (error) => { clearTimeout(watchdog); reject(error) },
      })
      this.child.send({ ...request, id })
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

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never

type Options = { subscribers: number; events: number; intervalMs: number; warmup: number; only: 'pglite' | 'postgres' | undefined; postgresUrl: string }

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '2000' },
      events: { type: 'string', default: '200' },
      'interval-ms': { type: 'string', default: '100' },
      warmup: { type: 'string', default: '20' },
      only: { type: 'string' },
    },
    strict: true,
  })
  const integer = (name: string, value: string, min: number, max: number) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got ${value}`)
    return n
  }
  if (values.only !== undefined && values.only !== 'pglite' && values.only !== 'postgres') throw new Error('--only must be pglite or postgres')
  return {
    subscribers: integer('subscribers', values.subscribers, 1, 10_000),
    events: integer('events', values.events, 1, 10_000),
    intervalMs: integer('interval-ms', values['interval-ms'], 0, 10_000),
    warmup: integer('warmup', values.warmup, 0, 1000),
    only: values.only,
    postgresUrl: process.env.BENCH_DATABASE_URL || DEFAULT_POSTGRES_URL,
  }
}

function ms(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–'
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

const pause = (durationMs: number) => new Promise((resolve) => setTimeout(resolve, durationMs))

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

type Memory = { rss: number; js: number }
async function settledMemory(): Promise<Memory> {
  for (let i = 0; i < 3; i++) {
    gc()
    await pause(200)
  }
  const usage = process.memoryUsage()
  return { rss: usage.rss, js: usage.heapUsed + usage.external + usage.arrayBuffers }
}

type Opened = { handle: DatabaseHandle; cleanup(): Promise<void> }

function openPglite(): () => Promise<Opened> {
  return async () => {
    // On disk, as the server runs by default (WORKEN_DATA_DIR), in a throwaway directory.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-events-'))
    try {
      const handle = await openDatabase({ driver: 'pglite', dataDir })
      return { handle, cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }) }
    } catch (error) {
      fs.rmSync(dataDir, { recursive: true, force: true })
      throw error
    }
  }
}

function openPostgres(serverUrl: string): () => Promise<Opened> {
  return async () => {
    const url = await createScratchDatabase(serverUrl, 'worken_bench')
    try {
      const handle = await openDatabase({ driver: 'postgres', url, poolSize: POOL_SIZE, onError: (error) => process.stderr.write(`pool error: ${error.message}\n`) })
      return { handle, cleanup: () => dropScratchDatabase(serverUrl, url) }
    } catch (error) {
      await dropScratchDatabase(serverUrl, url)
      throw error
    }
  }
}

type Row = { database: string; subscribers: number; summary: LatencySummary; elu: number; serverMaxDelayMs: number; clientMaxDelayMs: number; cpuMsPerEvent: number }
type MemoryRow = { database: string; subscribers: number; rssPerSubscriber: number; jsPerSubscriber: number }

async function benchDatabase(subscribers: Subscribers, options: Options, database: string, open: () => Promise<Opened>): Promise<{ rows: Row[]; memory: MemoryRow }> {
  const { handle, cleanup } = await open()
  let server: http.Server | undefined
  const silent = pino({ level: 'silent' })
  const services = createServices(handle, silent)
  try {
    await migrate(handle)
    await services.apiKeys.start()
    await services.events.start()
    const { projectId, key } = await seedProject(handle, services)
    server = await listen(createApp({ kind: 'public', services, logger: silent }).fetch)
    const base = `http://${HOST}:${(server.address() as AddressInfo).port}`
    const bot = await postJson(`${base}/bots`, key, { name: 'Bench bot' })
    const chat = await postJson(`${base}/chats`, key, { bot_id: bot.id, name: 'Bench chat' })
    // A thread in `blocked` mode: each write stores a user message (one outbox event) and calls no model.
    await handle.db.insert(schema.threads).values({ projectId, id: THREAD_ID, chatId: chat.id, botId: bot.id, mode: 'blocked' })
    const write = async (text: string): Promise<[string, number]> => {
      const { messageIds } = await services.threads.storeUserMessages(projectId, { id: chat.id, botId: bot.id }, THREAD_ID, [text])
      return [messageIds[0]!, now()]
    }
    const feed = { url: `${base}/threads/events`, headers: { authorization: `Bearer ${key}` } }

    const measure = async (count: number): Promise<Row> => {
      await subscribers.call({ type: 'reset' }, 10_000)
      for (let i = 0; i < options.warmup; i++) await write(`warm-up ${i}`)
      await pause(500)
      await subscribers.call({ type: 'reset' }, 10_000)
      const committedAt: Record<string, number> = {}
      const delay = monitorEventLoopDelay({ resolution: 10 })
      delay.enable()
      const eluBefore = performance.eventLoopUtilization()
      const cpuBefore = process.cpuUsage()
      for (let i = 0; i < options.events; i++) {
        const started = performance.now()
        const [messageId, at] = await write(`event ${i}`)
        committedAt[messageId] = at
        await pause(Math.max(0, options.intervalMs - (performance.now() - started)))
      }
      await pause(2000)
      delay.disable()
      const cpu = process.cpuUsage(cpuBefore)
      const elu = performance.eventLoopUtilization(eluBefore).utilization
      const reply = await subscribers.call({ type: 'collect', committedAt }, 60_000)
      const row: Row = {
        database, subscribers: count, summary: reply.summary!, elu, serverMaxDelayMs: delay.max / 1e6, clientMaxDelayMs: reply.clientMaxDelayMs ?? 0,
        cpuMsPerEvent: (cpu.user + cpu.system) / 1000 / options.events,
      }
      process.stdout.write(`  ${database}, ${count} subscriber(s): ${row.summary.count}/${row.summary.expected} deliveries, p50 ${ms(row.summary.p50)} ms, p99 ${ms(row.summary.p99)} ms, max ${ms(row.summary.max)} ms\n`)
      return row
    }

    // Warm the paths (auth cache, JIT, the hub's feed) with a few subscribers, then start from nothing.
    await subscribers.call({ type: 'open', ...feed, count: 50 }, 60_000)
    await write('first')
    await pause(500)
    await subscribers.call({ type: 'close' }, 10_000)
    await pause(500)

    const rows: Row[] = []
    const one = await subscribers.call({ type: 'open', ...feed, count: 1 }, 60_000)
    if (one.opened !== 1) throw new Error(`could not open one subscriber: ${one.failed?.join('; ')}`)
    rows.push(await measure(1))
    await subscribers.call({ type: 'close' }, 10_000)
    await pause(500)

    const before = await settledMemory()
    const started = performance.now()
    const opened = await subscribers.call({ type: 'open', ...feed, count: options.subscribers }, 120_000)
    if (opened.opened !== options.subscribers) throw new Error(`${opened.opened}/${options.subscribers} subscribers connected: ${opened.failed?.join('; ')}`)
    process.stdout.write(`  ${database}: ${options.subscribers} subscribers connected in ${ms(performance.now() - started, 0)} ms\n`)
    await pause(1000)
    const after = await settledMemory()
    const memory: MemoryRow = {
      database, subscribers: options.subscribers,
      rssPerSubscriber: (after.rss - before.rss) / options.subscribers,
      jsPerSubscriber: (after.js - before.js) / options.subscribers,
    }
    rows.push(await measure(options.subscribers))
    await subscribers.call({ type: 'close' }, 30_000)
    for (let i = 0; i < 50 && services.events.followedProjects > 0; i++) await pause(100)
    if (services.events.followedProjects !== 0) throw new Error('the hub still follows the project after every subscriber left')
    return { rows, memory }
  } finally {
    await services.events.stop()
    if (server) await closeServer(server)
    await services.apiKeys.flush()
    await handle.close()
    await cleanup()
  }
}

function report(options: Options, rows: Row[], memory: MemoryRow[]): void {
  process.stdout.write(`\nLatency, commit → frame received by the subscriber (${options.events} events, one every ${options.intervalMs} ms; ms):\n\n`)
  process.stdout.write(`${table(
    ['database', 'subscribers', 'deliveries', 'p50', 'p90', 'p99', 'max', 'all reached p50', 'all reached p99', 'server ELU', 'server CPU ms/event (write + fan-out)', 'server max loop delay', 'client max loop delay'],
    rows.map((row) => [
      row.database, String(row.subscribers), `${row.summary.count}/${row.summary.expected}`,
      ms(row.summary.p50), ms(row.summary.p90), ms(row.summary.p99), ms(row.summary.max),
      ms(row.summary.allReachedP50), ms(row.summary.allReachedP99),
      `${Math.round(row.elu * 100)}%`, ms(row.cpuMsPerEvent), ms(row.serverMaxDelayMs), ms(row.clientMaxDelayMs),
    ]),
  )}\n\n`)
  // RSS moves in pages the allocator keeps once touched (the warm-up touched many), so it is indicative only.
  process.stdout.write('Memory per idle subscriber (server process, after GC; KiB; RSS is indicative only):\n\n')
  process.stdout.write(`${table(['database', 'subscribers', 'RSS / subscriber', 'JS heap + external / subscriber'], memory.map((m) => [m.database, String(m.subscribers), ms(m.rssPerSubscriber / 1024), ms(m.jsPerSubscriber / 1024)]))}\n\n`)
}

async function main(): Promise<void> {
  const options = parseOptions()
  process.stdout.write(`Events benchmark: ${options.subscribers} SSE subscribers, ${options.events} events every ${options.intervalMs} ms, ${os.cpus().length} CPUs, node ${process.version}\n`)
  const busyBefore = await machineBusy(1000)
  process.stdout.write(
    busyBefore > 0.2
      ? `Note: the machine is already ${Math.round(busyBefore * 100)}% busy before the run (other processes): the figures will be noisy.\n`
      : `Machine idle before the run (${Math.round(busyBefore * 100)}% CPU busy over 1 s).\n`,
  )
  const subscribers = new Subscribers()
  const rows: Row[] = []
  const memory: MemoryRow[] = []
  const notes: string[] = []
  try {
    const collect = (result: { rows: Row[]; memory: MemoryRow }) => {
      rows.push(...result.rows)
      memory.push(result.memory)
    }
    if (options.only !== 'postgres') collect(await benchDatabase(subscribers, options, 'PGlite', openPglite()))
    if (options.only !== 'pglite') {
      const problem = await postgresAnswers(options.postgresUrl)
      if (problem) {
        notes.push(`Postgres at ${redact(options.postgresUrl)} does not answer (${problem}): skipped. Set BENCH_DATABASE_URL to run it.`)
        process.stdout.write(`${notes.at(-1)}\n`)
      } else {
        collect(await benchDatabase(subscribers, options, 'Postgres', openPostgres(options.postgresUrl)))
      }
    }
  } finally {
    await subscribers.close()
  }
  report(options, rows, memory)
  for (const note of notes) process.stdout.write(`${note}\n`)
  const busyAfter = await machineBusy(500)
  if (busyAfter > 0.2) process.stdout.write(`Note: other processes kept the machine ${Math.round(busyAfter * 100)}% busy after the run.\n`)
}

if (process.env[ROLE_ENV] === 'subscribers') {
  runSubscribers()
} else {
  // Bounded: whatever happens, the run ends within 15 minutes.
  const deadline = setTimeout(() => {
    process.stderr.write('bench:events: still running after 15 minutes; giving up\n')
    process.exit(1)
  }, 15 * 60_000)
  deadline.unref()
  await runMain('bench:events', main)
}
