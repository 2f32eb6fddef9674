/**
 * Webhook delivery benchmark: events committed in Worken, POSTed by the
 * webhook sender to a local receiver, on PGlite and on Postgres.
 *
 *   npm run bench:webhooks                       # from the repo root
 *   npm run bench:webhooks -- --events 5000 --writers 8 --only postgres
 *   npm run bench:webhooks -- --paced-seconds 10 --paced-share 0.5
 *
 * Two phases per database:
 * 1. **Throughput**: `--events` events committed by `--writers` concurrent
 *    writers (each `threads.storeUserMessages`: one `thread.message.created`
 *    event, one delivery) while the sender is stopped; then the sender starts
 *    and drains the backlog: deliveries per second = events / drain time.
 * 2. **Latency at a rate**: events committed at a steady pace, `--paced-share`
 *    of the lower of the drain rate and the writers' rate, for `--paced-seconds`; commit-to-delivery
 *    latency per event (commit = the writer's clock right after the commit
 *    returned; delivery = the receiver's clock when the request body arrived).
 *
 * The receiver runs in a child process (a plain node:http server answering 200)
 * so it does not share Worken's event loop; both read `performance.timeOrigin
 * + performance.now()`. The sender runs with the server's defaults
 * (concurrency 32, poll 1 s; it is woken by each commit's NOTIFY).
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { openDatabase, type DatabaseHandle } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import { createServices } from '../src/services.ts'
import { WebhookSender } from '../src/modules/webhooks/sender.ts'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { percentile, postgresAnswers, redact, runMain, seedProject } from './common.ts'

const ROLE_ENV = 'WORKEN_BENCH_WEBHOOKS_ROLE'
const now = () => performance.timeOrigin + performance.now()

type Receipt = { marker: string; at: number }

// ---------------------------------------------------------------------------
// The receiver (child process)
// ---------------------------------------------------------------------------

if (process.env[ROLE_ENV] === 'receiver') {
  const receipts: Receipt[] = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const at = now()
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { message?: { content?: string } } }
      receipts.push({ marker: event.data.message?.content ?? '', at })
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  server.keepAliveTimeout = 10_000
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }))
  process.on('message', (message: { take?: boolean; stop?: boolean }) => {
    if (message.take) process.send!({ receipts: receipts.splice(0) })
    if (message.stop) server.close(() => process.exit(0))
  })
} else {
  await runMain('bench:webhooks', main)
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      only: { type: 'string' },
      events: { type: 'string', default: '3000' },
      writers: { type: 'string', default: '8' },
      'paced-seconds': { type: 'string', default: '10' },
      'paced-share': { type: 'string', default: '0.5' },
    },
  })
  const options = { events: Number(args.events), writers: Number(args.writers), pacedSeconds: Number(args['paced-seconds']), pacedShare: Number(args['paced-share']) }
  console.log(`webhook deliveries: ${options.events} events by ${options.writers} writers, then ${options.pacedSeconds} s at ${options.pacedShare} × that rate (Node ${process.version}, ${os.cpus().length} CPUs)`)
  const rows: string[] = []
  if (args.only !== 'postgres') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-webhooks-'))
    const handle = await openDatabase({ driver: 'pglite', dataDir: dir })
    try {
      rows.push(...(await measure('PGlite', handle, options)))
    } finally {
      await handle.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  if (args.only !== 'pglite') {
    const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    const problem = await postgresAnswers(serverUrl)
    if (problem) console.log(`Postgres at ${redact(serverUrl)} does not answer (${problem}); skipping it.`)
    else {
      const url = await createScratchDatabase(serverUrl, 'worken_bench')
      const handle = await openDatabase({ driver: 'postgres', url, poolSize: 10 })
      try {
        rows.push(...(await measure('Postgres', handle, options)))
      } finally {
        await handle.close()
        await dropScratchDatabase(serverUrl, url)
      }
    }
  }
  console.log('\n| database | phase | events | deliveries/s | commit→delivery p50 (ms) | p99 (ms) | max (ms) |')
  console.log('|---|---|---:|---:|---:|---:|---:|')
  for (const row of rows) console.log(row)
}

type Options = { events: number; writers: number; pacedSeconds: number; pacedShare: number }

async function measure(name: string, handle: DatabaseHandle, options: Options): Promise<string[]> {
  console.log(`\n${name}`)
  await migrate(handle)
  const logger = pino({ level: 'silent' })
  const services = createServices(handle, logger, { webhooksAllowPrivate: true })
  const receiver = await startReceiverChild()
  const { projectId } = await seedProject(handle, services)
  const bot = await services.bots.create(projectId, { name: 'Bench' })
  const chat = await services.chats.create(projectId, { bot_id: bot.id, name: 'Bench' })
  const created = await services.webhooks.create(projectId, { url: `http://127.0.0.1:${receiver.port}/hook`, secret: 'bench-secret-0123456789abcdef' })
  const sender = new WebhookSender(handle, services.webhooks, logger, { concurrency: 32, pollMs: 1000, timeoutMs: 15_000, leaseMs: 35_000, random: Math.random })
  await sender.start()
  const commits = new Map<string, number>()
  let counter = 0
  const write = async (threadId: string) => {
    const marker = `m${counter++}`
    await services.threads.storeUserMessages(projectId, { id: chat.id, botId: bot.id }, threadId, [marker])
    commits.set(marker, now())
  }
  const threadIds = Array.from({ length: options.writers }, (_, i) => `bench-${i}`)
  // Warm-up: each writer's thread (thread.created + the first message), connections opened, statements planned.
  for (const id of threadIds) await write(id)
  await waitForReceipts(receiver, options.writers * 2, 30_000) // thread.created + message
  await receiver.take()
  commits.clear()

  // Phase 1: the sender's capacity. The events are committed while the sender is stopped
  // (a backlog), then it starts: deliveries per second = events / time to drain.
  await sender.stop()
  const writeStarted = now()
  let next = 0
  await Promise.all(threadIds.map(async (threadId) => {
    while (next < options.events) {
      next++
      await write(threadId)
    }
  }))
  const written = now()
  console.log(`  backlog: ${options.events} events committed in ${((written - writeStarted) / 1000).toFixed(2)} s by ${options.writers} writers (${(options.events / ((written - writeStarted) / 1000)).toFixed(0)}/s)`)
  const drainStarted = now()
  await sender.start()
  const phase1 = await collect(receiver, commits, options.events, 300_000)
  const lastReceipt = Math.max(...phase1.map((r) => r.at))
  const throughput = options.events / ((lastReceipt - drainStarted) / 1000)
  console.log(`  drained in ${((lastReceipt - drainStarted) / 1000).toFixed(2)} s → ${throughput.toFixed(0)} deliveries/s`)
  const rows = [`| ${name} | backlog drain | ${options.events} | ${throughput.toFixed(0)} | – | – | – |`]
  commits.clear()

  // Phase 2: a steady rate below the maximum (of the sender, or of the writers if lower).
  const writeRate = options.events / ((written - writeStarted) / 1000)
  const rate = Math.max(1, Math.floor(Math.min(throughput, writeRate) * options.pacedShare))
  const total = Math.floor(rate * options.pacedSeconds)
  const interval = 1000 / rate
  const pacedStart = now()
  const inFlight: Array<Promise<void>> = []
  for (let i = 0; i < total; i++) {
    const due = pacedStart + i * interval
    const wait = due - now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(write(threadIds[i % threadIds.length]!))
  }
  await Promise.all(inFlight)
  const phase2 = await collect(receiver, commits, total, 120_000)
  const pacedLast = Math.max(...phase2.map((r) => r.at))
  rows.push(row(name, `steady ${rate}/s`, total, total / ((pacedLast - pacedStart) / 1000), latencies(phase2, commits)))
  console.log(`  steady: ${total} events at ${rate}/s`)

  const failed = (await services.webhooks.deliveries(projectId, created.id, { limit: 100, status: 'failed' })).data.length
  if (failed > 0) console.log(`  ${failed} deliveries failed`)
  await sender.stop()
  await receiver.stop()
  return rows
}

function row(name: string, phase: string, events: number, rate: number, lat: number[]): string {
  const pick = (p: number) => percentile(lat, p).toFixed(1)
  return `| ${name} | ${phase} | ${events} | ${rate.toFixed(0)} | ${pick(50)} | ${pick(99)} | ${lat.at(-1)!.toFixed(1)} |`
}

function latencies(receipts: Receipt[], commits: Map<string, number>): number[] {
  const first = new Map<string, number>()
  for (const receipt of receipts) if (!first.has(receipt.marker)) first.set(receipt.marker, receipt.at)
  return [...first].map(([marker, at]) => at - commits.get(marker)!).sort((a, b) => a - b)
}

async function collect(receiver: ReceiverChild, commits: Map<string, number>, expected: number, timeoutMs: number): Promise<Receipt[]> {
  const receipts: Receipt[] = []
  const deadline = Date.now() + timeoutMs
  while (new Set(receipts.filter((r) => commits.has(r.marker)).map((r) => r.marker)).size < expected) {
    if (Date.now() > deadline) throw new Error(`only ${receipts.length} of ${expected} deliveries arrived`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    receipts.push(...(await receiver.take()))
  }
  return receipts.filter((r) => commits.has(r.marker))
}

async function waitForReceipts(receiver: ReceiverChild, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let seen = 0
  while (seen < count) {
    if (Date.now() > deadline) throw new Error(`only ${seen} of ${count} warm-up deliveries arrived`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    seen += (await receiver.peek())
  }
}

type ReceiverChild = { port: number; take(): Promise<Receipt[]>; peek(): Promise<number>; stop(): Promise<void> }

async function startReceiverChild(): Promise<ReceiverChild> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [ROLE_ENV]: 'receiver' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const port = await new Promise<number>((resolve) => child.once('message', (message: { port: number }) => resolve(message.port)))
  const take = () => new Promise<Receipt[]>((resolve) => {
    child.once('message', (message: { receipts: Receipt[] }) => resolve(message.receipts))
    child.send({ take: true })
  })
  let kept: Receipt[] = []
  return {
    port,
    async take() {
      const fresh = await take()
      const all = [...kept, ...fresh]
      kept = []
      return all
    },
    async peek() {
      const fresh = await take()
      kept.push(...fresh)
      return fresh.length
    },
    async stop() {
      child.send({ stop: true })
      await new Promise((resolve) => child.once('exit', resolve))
    },
  }
}
