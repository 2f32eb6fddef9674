/**
 * Streaming benchmark: bursts of concurrent streamed chat turns through Worken
 * (`POST /chats/:chat_id/threads/:thread_id/stream`) to the local OpenAI-style
 * LLM server (test/support/llm-server.ts), against the same streams sent straight to
 * that server, on the embedded database (PGlite) and on Postgres.
 *
 *   npm run bench:streams                       # from the repo root
 *   npm run bench:streams -- --rounds 20        # measured bursts per target (default 10)
 *   npm run bench:streams -- --concurrency 50   # streams per burst (default 50)
 *   npm run bench:streams -- --only pglite      # or --only postgres
 *   npm run bench:streams -- --profile-rounds 0 --cpu-profile-rounds 0   # measurements only
 *   npm run bench:streams -- --delay-ms 50 --chunk-delay-ms 10 --chunks 20 # the scripted reply (defaults)
 *
 * Per stream: time to first token (TTFT: request sent → first non-empty text
 * delta) and total time (→ `[DONE]`), measured by the client with
 * performance.now(). Postgres: BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test); a scratch database is created next
 * to it and dropped at the end.
 *
 * Three processes: this one runs Worken (the public app on @hono/node-server);
 * a child runs the LLM server, so that the direct baseline and the Worken path
 * talk to the same, otherwise idle, upstream; another child runs the clients,
 * so that they share neither event loop. Everything listens on 127.0.0.1 only.
 *
 * After the measured rounds, for each database (src/ is untouched; the
 * instruments are wrappers installed from here):
 * - a phase profile (AsyncLocalStorage, wrapped service methods, a
 *   language-model middleware) splits Worken's path before the model call,
 *   at full concurrency and one stream at a time;
 * - each database step of that path alone, and the ingest transaction
 *   statement by statement (timers around the driver's query calls);
 * - a V8 CPU profile of plain bursts, summed by where the code comes from.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { Session } from 'node:inspector/promises'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { wrapLanguageModel, type LanguageModel, type LanguageModelMiddleware } from 'ai'
import { and, eq } from 'drizzle-orm'
import pino from 'pino'
import { loadHistory } from '../src/modules/conversations/history.ts'
import { createApp } from '../src/app.ts'
import { openDatabase, type DatabaseHandle } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import * as schema from '../src/schema.ts'
import { createServices, type Services } from '../src/services.ts'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { startLlmServer, type ChatCompletionBody, type ReplyScript } from '../test/support/llm-server.ts'
import { closeServer, listen, machineBusy, percentile, postJson, postgresAnswers, redact, runMain, seedProject } from './common.ts'
import { Child } from './child.ts'
import { postForEvents } from './sse-post.ts'

const HOST = '127.0.0.1'
const POOL_SIZE = 10 // the server's default DATABASE_POOL_SIZE
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
const ROLE_ENV = 'WORKEN_BENCH_STREAMS_ROLE'
const STREAM_TIMEOUT_MS = 30_000
const USER_TEXT = 'Hello! Could you tell me something about streaming benchmarks?'

// ---------------------------------------------------------------------------
// Wire types between the processes
// ---------------------------------------------------------------------------

type Protocol = 'openai' | 'worken'
type StreamRequest = { url: string; headers: Record<string, string>; body: string; protocol: Protocol }
type Sample = { ttft: number | null; total: number; ok: boolean; error?: string; text: string }
type BurstRequest = { id: number; type: 'burst'; requests: StreamRequest[] }
type BurstReply = { id: number; samples?: Sample[]; clientMaxDelayMs?: number; error?: string }

type LlmScript = { chunks: string[]; delayMs: number; chunkDelayMs: number }
type LlmRequest = { id: number; type: 'start'; script: LlmScript } | { id: number; type: 'last-chat-request' } | { id: number; type: 'chat-count' }
type LlmReply = { id: number; url?: string; body?: ChatCompletionBody; count?: number; error?: string }

// ---------------------------------------------------------------------------
// Child: the clients
// ---------------------------------------------------------------------------

/** One streamed request; never rejects: failures are samples with `ok: false`. */
async function runStream(request: StreamRequest, agent: http.Agent): Promise<Sample> {
  const started = performance.now()
  let ttft: number | null = null
  let doneAt: number | null = null
  let text = ''
  let failure: string | undefined
  const onFrame = (frame: string) => {
    for (const line of frame.split('\n')) {
      if (!line.startsWith('data:')) continue // `: keepalive` comments and the like
      const data = line.slice(5).trim()
      if (data === '[DONE]') {
        doneAt = performance.now()
        continue
      }
      let event: any
      try {
        event = JSON.parse(data)
      } catch {
        failure = `unparsable frame: ${data.slice(0, 80)}`
        continue
      }
      let delta = ''
      if (request.protocol === 'openai') {
        if (event.error) failure = `upstream error: ${JSON.stringify(event.error).slice(0, 200)}`
        delta = event.choices?.[0]?.delta?.content ?? ''
      } else if (event.type === 'text-delta') {
        delta = event.textDelta ?? ''
      } else if (event.type === 'error') {
        failure = `error frame: ${String(event.error).slice(0, 200)}`
      }
      if (delta) {
        if (ttft === null) ttft = performance.now() - started
        text += delta
      }
    }
  }
  const error = await postForEvents(request.url, { headers: request.headers, body: request.body, agent, timeoutMs: STREAM_TIMEOUT_MS, onFrame })
  const problem = error ?? failure ?? (doneAt === null ? 'stream ended without [DONE]' : undefined)
  return { ttft, total: (doneAt ?? performance.now()) - started, ok: problem === undefined, ...(problem ? { error: problem } : {}), text }
}

function runClients(): void {
  // Keep-alive, no socket limit: after the warm-up every stream reuses an open connection, on both paths.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
  process.on('message', (message: BurstRequest) => {
    void (async () => {
      try {
        const delay = monitorEventLoopDelay({ resolution: 10 })
        delay.enable()
        // All at once: the burst is the load.
        const samples = await Promise.all(message.requests.map((request) => runStream(request, agent)))
        delay.disable()
        process.send?.({ id: message.id, samples, clientMaxDelayMs: delay.max / 1e6 } satisfies BurstReply)
      } catch (error) {
        process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) } satisfies BurstReply)
      }
    })()
  })
  process.on('disconnect', () => {
    agent.destroy()
    process.exit(0)
  })
}

// ---------------------------------------------------------------------------
// Child: the LLM server
// ---------------------------------------------------------------------------

function runLlm(): void {
  let server: Awaited<ReturnType<typeof startLlmServer>> | undefined
  const send = (reply: LlmReply) => process.send?.(reply)
  process.on('message', (message: LlmRequest) => {
    void (async () => {
      try {
        if (message.type === 'start') {
          server = await startLlmServer()
          const script: ReplyScript = { text: message.script.chunks, delayMs: message.script.delayMs, chunkDelayMs: message.script.chunkDelayMs }
          server.replyWith(script)
          send({ id: message.id, url: server.url })
        } else if (message.type === 'last-chat-request') {
          send({ id: message.id, body: server!.lastChatRequest() })
        } else {
          send({ id: message.id, count: server!.chatRequests().length })
        }
      } catch (error) {
        send({ id: message.id, error: (error as Error).stack ?? String(error) })
      }
    })()
  })
  process.on('disconnect', () => {
    const closing = server ? server.close() : Promise.resolve()
    closing.finally(() => process.exit(0))
  })
}

// ---------------------------------------------------------------------------
// Parent: child management
// ---------------------------------------------------------------------------

type Clients = Child<BurstRequest, BurstReply>
type Llm = Child<LlmRequest, LlmReply>

// ---------------------------------------------------------------------------
// Parent: options, statistics, formatting
// ---------------------------------------------------------------------------

type Options = {
  rounds: number
  warmup: number
  concurrency: number
  profileRounds: number
  cpuProfileRounds: number
  only: 'pglite' | 'postgres' | undefined
  postgresUrl: string
  script: LlmScript
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '50' },
      'profile-rounds': { type: 'string', default: '3' },
      'cpu-profile-rounds': { type: 'string', default: '2' },
      chunks: { type: 'string', default: '20' },
      'delay-ms': { type: 'string', default: '50' },
      'chunk-delay-ms': { type: 'string', default: '10' },
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
  const chunks = integer('chunks', values.chunks, 1, 1000)
  return {
    rounds: integer('rounds', values.rounds, 1, 200),
    warmup: integer('warmup', values.warmup, 0, 20),
    concurrency: integer('concurrency', values.concurrency, 1, 500),
    profileRounds: integer('profile-rounds', values['profile-rounds'], 0, 50),
    cpuProfileRounds: integer('cpu-profile-rounds', values['cpu-profile-rounds'], 0, 50),
    only: values.only,
    postgresUrl: process.env.BENCH_DATABASE_URL || DEFAULT_POSTGRES_URL,
    script: {
      chunks: Array.from({ length: chunks }, (_, i) => `${i === 0 ? 'Token' : ' token'} ${i + 1}`),
      delayMs: integer('delay-ms', values['delay-ms'], 0, 5000),
      chunkDelayMs: integer('chunk-delay-ms', values['chunk-delay-ms'], 0, 1000),
    },
  }
}

/** Nearest-rank percentile of unsorted values. */
function percentileOf(values: number[], p: number): number {
  return percentile([...values].sort((a, b) => a - b), p)
}

function ms(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–'
}

function signed(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–'
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}



const pause = (durationMs: number) => new Promise((resolve) => setTimeout(resolve, durationMs))

// ---------------------------------------------------------------------------
// Parent: one database
// ---------------------------------------------------------------------------

type DatabaseName = 'PGlite' | 'Postgres'

type TargetResult = {
  name: string
  database: DatabaseName
  kind: 'direct' | 'worken'
  samples: Sample[]
  /** This process's event-loop utilisation and longest stall over the measured bursts (meaningful for worken). */
  elu: number[]
  maxDelay: number
  clientMaxDelay: number
  /** This process's CPU time over the measured bursts, in ms. */
  cpu: number
}

/** Per stream: wall-clock marks, and this process's CPU time (ms) at two of them. */
type PhaseRecord = { marks: Map<string, number>; cpu: Map<string, number> }

/** This process's CPU time so far (all threads, user + system), in ms. */
function cpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

type Profile = {
  database: DatabaseName
  concurrency: number
  streams: number
  ttft: number[]
  phases: Array<{ name: string; values: number[] }>
  /** This process's CPU per stream between 'arrive' and 'model.call'; only meaningful one stream at a time. */
  cpuBeforeModel: number[]
  /** This process's CPU time over the pass, per stream. */
  cpuPerStream: number
  elu: number
  maxDelay: number
}

type Isolated = {
  database: DatabaseName
  steps: Array<{ name: string; values: number[] }>
  /** Inside storeUserMessages: each SQL statement's time (call → result), per call of the method. */
  ingest: { calls: number; wallMs: number[]; statements: Map<string, number[]> }
}

/** Where this process's CPU went during uninstrumented bursts through Worken, from V8's sampling profiler. */
type CpuBreakdown = { database: DatabaseName; streams: number; busyMs: number; categories: Array<{ name: string; ms: number }> }

type DatabaseResult = { targets: TargetResult[]; profiles: Profile[]; isolated: Isolated | undefined; cpu: CpuBreakdown | undefined; expectedText: string }

type Opened = { handle: DatabaseHandle; cleanup(): Promise<void> }

let runCounter = 0
const runTag = Math.random().toString(36).slice(2, 8)

async function benchDatabase(clients: Clients, llm: Llm, llmUrl: string, options: Options, database: DatabaseName, open: () => Promise<Opened>): Promise<DatabaseResult> {
  const { handle, cleanup } = await open()
  let server: http.Server | undefined
  try {
    await migrate(handle)
    const services = createServices(handle, pino({ level: 'silent' }), {
      providers: { openai: { apiKey: 'bench-key', baseUrl: `${llmUrl}/v1` }, anthropic: undefined, openrouter: undefined, compatible: [] },
      modelMaxRetries: 0,
    })
    await services.apiKeys.start()
    const { projectId, key } = await seedProject(handle, services)
    const app = createApp({ kind: 'public', services, logger: pino({ level: 'silent' }) })

    // The listener calls whichever handler is current: plain for the measured rounds, instrumented for the profile.
    let handler: (request: Request) => Response | Promise<Response> = (request) => app.fetch(request)
    server = await listen((request) => handler(request))
    const { port } = server.address() as AddressInfo
    const base = `http://${HOST}:${port}`

    const bot = await postJson(`${base}/bots`, key, { name: 'Bench bot' })
    const chat = await postJson(`${base}/chats`, key, { bot_id: bot.id, name: 'Bench chat' })
    const streamUrl = (threadId: string) => `${base}/chats/${chat.id}/threads/${threadId}/stream`
    const workenBody = JSON.stringify({ messages: [{ role: 'user', content: USER_TEXT }] })
    const workenRequest = (threadId: string): StreamRequest => ({ url: streamUrl(threadId), headers: { authorization: `Bearer ${key}` }, body: workenBody, protocol: 'worken' })

    // One turn through Worken; its request to the LLM becomes the direct baseline's body, byte for byte.
    const expectedText = options.script.chunks.join('')
    const [probe] = (await clients.call({ type: 'burst', requests: [workenRequest(`probe-${runTag}-${++runCounter}`)] }, 60_000)).samples!
    if (!probe?.ok || probe.text !== expectedText) throw new Error(`the probe stream through Worken failed: ${JSON.stringify(probe)}`)
    const upstream = (await llm.call({ type: 'last-chat-request' }, 10_000)).body!
    if (upstream.stream !== true) throw new Error('Worken did not ask the LLM server for a stream')
    const directBody = JSON.stringify(upstream)
    const directRequest: StreamRequest = { url: `${llmUrl}/v1/chat/completions`, headers: { authorization: 'Bearer bench-key' }, body: directBody, protocol: 'openai' }
    const [directProbe] = (await clients.call({ type: 'burst', requests: [directRequest] }, 60_000)).samples!
    if (!directProbe?.ok || directProbe.text !== expectedText) throw new Error(`the probe stream to the LLM server failed: ${JSON.stringify(directProbe)}`)
    process.stdout.write(`${database}: probe streams agree (${JSON.stringify(expectedText.slice(0, 30))}…, ${options.script.chunks.length} chunks); upstream body ${directBody.length} bytes\n`)

    const burst = async (kind: 'direct' | 'worken', label: string) => {
      const requests = Array.from({ length: options.concurrency }, () => (kind === 'direct' ? directRequest : workenRequest(`${label}-${runTag}-${++runCounter}`)))
      const eluBefore = performance.eventLoopUtilization()
      const cpuBefore = cpuMs()
      const delay = monitorEventLoopDelay({ resolution: 10 })
      delay.enable()
      const reply = await clients.call({ type: 'burst', requests }, STREAM_TIMEOUT_MS + 30_000)
      delay.disable()
      return { samples: reply.samples!, elu: performance.eventLoopUtilization(eluBefore).utilization, cpu: cpuMs() - cpuBefore, maxDelay: delay.max / 1e6, clientMaxDelay: reply.clientMaxDelayMs ?? 0 }
    }

    const targets: TargetResult[] = (['direct', 'worken'] as const).map((kind) => ({
      name: kind === 'direct' ? `direct to the LLM server (${database} run)` : `through Worken on ${database}`,
      database, kind, samples: [], elu: [], maxDelay: 0, clientMaxDelay: 0, cpu: 0,
    }))
    for (let round = 1; round <= options.warmup; round++) {
      for (const target of targets) await burst(target.kind, 'warmup')
      await pause(100)
    }
    // Rounds alternate the two targets, so that a disturbance hits both alike.
    for (let round = 1; round <= options.rounds; round++) {
      for (const target of targets) {
        const result = await burst(target.kind, `r${round}`)
        target.samples.push(...result.samples)
        target.elu.push(result.elu)
        target.cpu += result.cpu
        target.maxDelay = Math.max(target.maxDelay, result.maxDelay)
        target.clientMaxDelay = Math.max(target.clientMaxDelay, result.clientMaxDelay)
        await pause(100)
      }
      const [direct, worken] = targets.map((target) => target.samples.slice(-options.concurrency).map((s) => s.ttft ?? Number.NaN))
      process.stdout.write(`  round ${round}/${options.rounds}: TTFT p50 direct ${ms(percentileOf(direct!, 50))} ms, worken ${ms(percentileOf(worken!, 50))} ms\n`)
    }
    // A stream that ended well but with other text than the script's is an error too.
    for (const target of targets) {
      for (const sample of target.samples) {
        if (sample.ok && sample.text !== expectedText) Object.assign(sample, { ok: false, error: `wrong text: ${JSON.stringify(sample.text.slice(0, 60))}` })
      }
    }

    // Profile: the same bursts, instrumented, to see where Worken's time before the model call goes.
    const profiles: Profile[] = []
    let isolated: Isolated | undefined
    if (options.profileRounds > 0) {
      const instrumented = instrument(services, app.fetch.bind(app))
      handler = instrumented.fetch
      for (const concurrency of [options.concurrency, 1]) {
        const records: PhaseRecord[] = []
        const ttft: number[] = []
        const eluBefore = performance.eventLoopUtilization()
        const cpuBefore = cpuMs()
        const delay = monitorEventLoopDelay({ resolution: 10 })
        delay.enable()
        // At full concurrency `profileRounds` bursts; alone, ten streams per round (at most 50), one after the other.
        const bursts = concurrency === 1 ? Math.min(options.profileRounds * 10, 50) : options.profileRounds
        for (let round = 0; round < bursts; round++) {
          instrumented.records.length = 0
          const reply = await clients.call({ type: 'burst', requests: Array.from({ length: concurrency }, () => workenRequest(`p${concurrency}-${runTag}-${++runCounter}`)) }, STREAM_TIMEOUT_MS + 30_000)
          for (const sample of reply.samples!) if (sample.ttft !== null) ttft.push(sample.ttft)
          records.push(...instrumented.records)
          await pause(concurrency === 1 ? 20 : 100)
        }
        delay.disable()
        profiles.push({
          database, concurrency, streams: records.length, ttft,
          phases: PHASES.map(([name, from, to]) => ({ name, values: records.map((r) => (r.marks.get(to) ?? Number.NaN) - (r.marks.get(from) ?? Number.NaN)).filter(Number.isFinite) })),
          cpuBeforeModel: records.map((r) => (r.cpu.get('model.call') ?? Number.NaN) - (r.cpu.get('arrive') ?? Number.NaN)).filter(Number.isFinite),
          cpuPerStream: (cpuMs() - cpuBefore) / Math.max(1, records.length),
          elu: performance.eventLoopUtilization(eluBefore).utilization,
          maxDelay: delay.max / 1e6,
        })
      }
      handler = (request) => app.fetch(request)
      isolated = await isolatedSteps(services, database, projectId, chat.id, chat.bot_id ?? bot.id)
    }

    // CPU profile of plain bursts (a pass of its own: the profiler slows what it watches).
    let cpu: CpuBreakdown | undefined
    if (options.cpuProfileRounds > 0) {
      const session = new Session()
      session.connect()
      try {
        await session.post('Profiler.enable')
        await session.post('Profiler.setSamplingInterval', { interval: 500 })
        await session.post('Profiler.start')
        let streams = 0
        for (let round = 0; round < options.cpuProfileRounds; round++) {
          const requests = Array.from({ length: options.concurrency }, () => workenRequest(`cpu-${runTag}-${++runCounter}`))
          await clients.call({ type: 'burst', requests }, STREAM_TIMEOUT_MS + 30_000)
          streams += requests.length
        }
        const { profile } = await session.post('Profiler.stop')
        // The raw profile, for a closer look (Chrome DevTools, or an analysis by call stack).
        if (process.env.BENCH_CPU_PROFILE_OUT) fs.writeFileSync(process.env.BENCH_CPU_PROFILE_OUT.replace('{db}', database), JSON.stringify(profile))
        cpu = { database, streams, ...categorize(profile) }
      } finally {
        session.disconnect()
      }
    }
    return { targets, profiles, isolated, cpu, expectedText }
  } finally {
    if (server) await closeServer(server)
    // Replies are stored after the last token; give in-flight turns a moment before closing the database.
    await pause(200)
    await handle.close()
    await cleanup()
  }
}

// ---------------------------------------------------------------------------
// Parent: the profile instrumentation (wrappers around src/, which stays untouched)
// ---------------------------------------------------------------------------

/** Phases of one Worken stream, as [label, from mark, to mark]. */
const PHASES: Array<[string, string, string]> = [
  ['request in → handler (routing, auth, body, validation)', 'arrive', 'handler'],
  ['chat, bot and thread lookup (chats.requireConversable)', 'chat.start', 'chat.end'],
  ['ingest transaction (threads.storeUserMessages)', 'ingest.start', 'ingest.end'],
  ['lookup → model call (loadHistory, streamText; the ingest runs alongside)', 'chat.end', 'model.call'],
  ['request in → model call (all of the above)', 'arrive', 'model.call'],
  ['model call → first text from the model (HTTP hop + scripted wait)', 'model.call', 'model.first'],
  ['request in → first text from the model', 'arrive', 'model.first'],
]

function instrument(services: Services, fetchApp: (request: Request) => Response | Promise<Response>) {
  const storage = new AsyncLocalStorage<PhaseRecord>()
  const records: PhaseRecord[] = []
  const mark = (name: string) => storage.getStore()?.marks.set(name, performance.now())

  // 'handler' is the first service call of the route: the chat lookup, however the route does it.
  const wrap = <T extends object, K extends keyof T>(target: T, method: K, label: string) => {
    const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target)
    ;(target as Record<K, unknown>)[method] = async (...args: unknown[]) => {
      const record = storage.getStore()
      if (record && !record.marks.has('handler')) record.marks.set('handler', performance.now())
      mark(`${label}.start`)
      try {
        return await original(...args)
      } finally {
        mark(`${label}.end`)
      }
    }
  }
  wrap(services.chats, 'requireConversable', 'chat')
  wrap(services.chats, 'requireRow', 'chat')
  wrap(services.bots, 'requireRow', 'bot')
  wrap(services.threads, 'storeUserMessages', 'ingest')

  const middleware: LanguageModelMiddleware = {
    wrapStream: async ({ doStream }) => {
      const record = storage.getStore()
      record?.marks.set('model.call', performance.now())
      record?.cpu.set('model.call', cpuMs())
      const result = await doStream()
      record?.marks.set('model.headers', performance.now())
      let first = true
      const stream = result.stream.pipeThrough(new TransformStream({
        transform(part, controller) {
          if (first && part.type === 'text-delta' && part.delta) {
            first = false
            record?.marks.set('model.first', performance.now())
          }
          controller.enqueue(part)
        },
      }))
      return { ...result, stream }
    },
  }
  const languageModel = services.models.languageModel.bind(services.models)
  services.models.languageModel = (modelId: string): LanguageModel => wrapLanguageModel({ model: languageModel(modelId) as never, middleware })

  return {
    records,
    fetch(request: Request) {
      const record: PhaseRecord = { marks: new Map([['arrive', performance.now()]]), cpu: new Map([['arrive', cpuMs()]]) }
      records.push(record)
      return storage.run(record, () => fetchApp(request))
    },
  }
}

/** Each database step before the model call, alone (one at a time, nothing else running): its service time. */
async function isolatedSteps(services: Services, database: DatabaseName, projectId: string, chatId: string, botId: string): Promise<Isolated> {
  const db = services.database.db
  const repeat = 100
  const steps: Array<{ name: string; run(i: number): Promise<unknown> }> = [
    { name: 'for scale: `select 1` through the driver (database.ping)', run: () => services.database.ping() },
    { name: 'chats.requireConversable (chat, bot and a new thread id)', run: (i) => services.chats.requireConversable(projectId, chatId, `iso-${runTag}-${i}`) },
    { name: 'threads.storeUserMessages (new thread)', run: (i) => services.threads.storeUserMessages(projectId, { id: chatId, botId }, `iso-${runTag}-${i}`, [USER_TEXT]) },
    {
      name: 'working memory select (runTurn)',
      run: (i) => db.select({ workingMemory: schema.threads.workingMemory }).from(schema.threads).where(and(eq(schema.threads.projectId, projectId), eq(schema.threads.id, `iso-${runTag}-${i}`))),
    },
    { name: 'loadHistory (runTurn)', run: (i) => loadHistory(db, projectId, `iso-${runTag}-${i}`, 10, 1) },
  ]
  const results: Isolated['steps'] = []
  for (const step of steps) {
    const values: number[] = []
    for (let i = 0; i < repeat; i++) {
      const started = performance.now()
      await step.run(i)
      values.push(performance.now() - started)
    }
    results.push({ name: step.name, values })
  }
  // The fire-and-forget NOTIFY after each ingest runs on its own; let it drain.
  await pause(100)

  // The ingest transaction statement by statement: driver-level timers around every query.
  const timings: StatementTiming[] = []
  const restore = timeStatements(services.database, timings)
  const wallMs: number[] = []
  const statements = new Map<string, number[]>()
  try {
    for (let i = 0; i < repeat; i++) {
      timings.length = 0
      const started = performance.now()
      await services.threads.storeUserMessages(projectId, { id: chatId, botId }, `iso2-${runTag}-${i}`, [USER_TEXT])
      wallMs.push(performance.now() - started)
      await pause(5) // let the NOTIFY that follows the commit finish, so that it is timed alone
      for (const timing of timings) statements.set(timing.label, [...(statements.get(timing.label) ?? []), timing.ms])
    }
  } finally {
    restore()
  }
  return { database, steps: results, ingest: { calls: repeat, wallMs, statements } }
}

type StatementTiming = { label: string; ms: number }

/** `insert threads`, `select threads for update`, `notify`…: what a statement does, without its values. */
function statementLabel(text: string): string {
  const sql = text.trim().toLowerCase()
  if (sql.includes('pg_notify')) return 'notify (after the commit, not awaited)'
  const verb = sql.split(/\s+/)[0] ?? sql
  const table = sql.match(/(?:into|from|update)\s+"?(\w+)"?/)?.[1]
  return `${verb}${table ? ` ${table}` : ''}${sql.includes(' for update') ? ' … for update' : ''}`
}

/**
 * Times every statement the app sends, from the driver call to its result, by
 * wrapping the driver objects of this handle (pg clients as the pool hands them
 * out; PGlite's query and transaction). Returns a function that undoes it.
 */
function timeStatements(handle: DatabaseHandle, sink: StatementTiming[]): () => void {
  const undo: Array<() => void> = []
  const wrapQuery = (target: any) => {
    const own = Object.hasOwn(target, 'query')
    const original = target.query
    target.query = function (this: unknown, ...args: any[]) {
      const text = typeof args[0] === 'string' ? args[0] : String(args[0]?.text ?? '')
      const started = performance.now()
      const done = () => void sink.push({ label: statementLabel(text), ms: performance.now() - started })
      const callback = args.at(-1)
      if (typeof callback === 'function') {
        // pool.query hands its client a callback: time until it is called.
        args[args.length - 1] = (...results: unknown[]) => {
          done()
          return callback(...results)
        }
        return original.apply(this, args)
      }
      const result = original.apply(this, args)
      if (result && typeof result.then === 'function') result.then(done, done)
      return result
    }
    undo.push(() => (own ? (target.query = original) : delete target.query))
  }
  if (handle.pglite) {
    const client: any = handle.pglite
    wrapQuery(client)
    const transaction = client.transaction
    client.transaction = function (this: unknown, fn: (tx: unknown) => unknown) {
      return transaction.call(this, (tx: any) => {
        wrapQuery(tx)
        return fn(tx)
      })
    }
    undo.push(() => delete client.transaction)
  } else {
    // Every query goes through a client from pool.connect (pool.query too, with a callback).
    const pool: any = (handle.db as unknown as { $client: unknown }).$client
    const wrapped = new WeakSet<object>()
    const wrapClient = (client: any) => {
      if (client && !wrapped.has(client)) {
        wrapped.add(client)
        wrapQuery(client)
      }
      return client
    }
    const connect = pool.connect
    pool.connect = function (this: unknown, callback?: (error: Error | undefined, client: unknown, release: unknown) => void) {
      if (typeof callback === 'function') return connect.call(this, (error: Error | undefined, client: unknown, release: unknown) => callback(error, wrapClient(client), release))
      return connect.call(this).then(wrapClient)
    }
    undo.push(() => delete pool.connect)
  }
  return () => {
    for (const step of undo.reverse()) step()
  }
}

/** Self time of a V8 CPU profile, by what the code belongs to. */
function categorize(profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>; samples?: number[]; timeDeltas?: number[] }): { busyMs: number; categories: Array<{ name: string; ms: number }> } {
  const rules: Array<[string, (name: string, url: string) => boolean]> = [
    ['idle', (name) => name === '(idle)'],
    ['the profiler itself', (_, url) => url === 'node:inspector'],
    ['garbage collection', (name) => name === '(garbage collector)'],
    ['socket writes (writev & co., kernel loopback work included)', (name, url) => !url && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(name)],
    ['PGlite in this thread (its client code; the database runs on its worker thread, not profiled here)', (_, url) => url.includes('@electric-sql/pglite') || url.startsWith('wasm://')],
    ['pg driver (pg, pg-pool, pg-protocol)', (_, url) => /node_modules\/pg(-pool|-protocol|-types)?\//.test(url)],
    ['drizzle-orm (query building, row mapping)', (_, url) => url.includes('/drizzle-orm/')],
    ['AI SDK (ai, @ai-sdk/*, eventsource-parser)', (_, url) => /node_modules\/(ai|@ai-sdk\/[^/]+|eventsource-parser)\//.test(url)],
    ['zod (request validation, model chunk parsing)', (_, url) => url.includes('/zod/')],
    ['web streams (Node internals)', (_, url) => url.startsWith('node:internal/webstreams')],
    ['undici (fetch to the model)', (_, url) => url.startsWith('node:internal/deps/undici')],
    ['HTTP server (hono, @hono/node-server, node:http)', (_, url) => /\/(hono|@hono\/[^/]+)\//.test(url) || /^node:_http|^node:http/.test(url)],
    ['Worken src/', (_, url) => url.includes('/packages/server/src/')],
    ['other Node internals (net, streams, timers, events…)', (_, url) => url.startsWith('node:')],
    ['other (V8 program, natives, the rest)', () => true],
  ]
  const category = new Map<number, string>()
  for (const node of profile.nodes) {
    const { functionName, url } = node.callFrame
    category.set(node.id, rules.find(([, test]) => test(functionName, url))![0])
  }
  const totals = new Map<string, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const name = category.get(samples[i]!) ?? 'other (V8 program, natives, the rest)'
    totals.set(name, (totals.get(name) ?? 0) + (deltas[i] ?? 0) / 1000)
  }
  totals.delete('idle')
  totals.delete('the profiler itself')
  const busyMs = [...totals.values()].reduce((a, b) => a + b, 0)
  return { busyMs, categories: [...totals].map(([name, value]) => ({ name, ms: value })).sort((a, b) => b.ms - a.ms) }
}

// ---------------------------------------------------------------------------
// Parent: databases
// ---------------------------------------------------------------------------

function openPglite(): () => Promise<Opened> {
  return async () => {
    // On disk, as the server runs by default (WORKEN_DATA_DIR), in a throwaway directory.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-streams-'))
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


// ---------------------------------------------------------------------------
// Parent: report
// ---------------------------------------------------------------------------

function report(options: Options, results: DatabaseResult[]): void {
  if (results.length === 0) return
  const stats = (target: TargetResult) => {
    const ok = target.samples.filter((s) => s.ok && s.ttft !== null)
    const ttft = ok.map((s) => s.ttft!)
    const total = ok.map((s) => s.total)
    return { ok: ok.length, errors: target.samples.length - ok.length, ttft50: percentileOf(ttft, 50), ttft99: percentileOf(ttft, 99), total50: percentileOf(total, 50), total99: percentileOf(total, 99) }
  }
  const rows: string[][] = []
  const overheads: string[][] = []
  const errors: string[] = []
  for (const result of results) {
    for (const target of result.targets) {
      const s = stats(target)
      const elu = target.elu.length ? percentileOf(target.elu, 50) : Number.NaN
      rows.push([
        target.name, String(target.samples.length), String(s.errors),
        ms(s.ttft50), ms(s.ttft99), ms(s.total50), ms(s.total99),
        target.kind === 'worken' ? `${Math.round(elu * 100)}%` : '–',
        target.kind === 'worken' ? ms(target.maxDelay, 0) : '–',
        target.kind === 'worken' ? ms(target.cpu / Math.max(1, target.samples.length)) : '–',
      ])
      for (const sample of target.samples) if (!sample.ok && errors.length < 10) errors.push(`${target.name}: ${sample.error}`)
    }
    const direct = result.targets.find((t) => t.kind === 'direct')
    const worken = result.targets.find((t) => t.kind === 'worken')
    if (direct && worken) {
      const d = stats(direct)
      const w = stats(worken)
      const p50 = w.ttft50 - d.ttft50
      const p99 = w.ttft99 - d.ttft99
      overheads.push([
        worken.database,
        `${signed(p50)}${p50 <= 5 ? ' (met)' : ' (NOT met)'}`,
        `${signed(p99)}${p99 <= 20 ? ' (met)' : ' (NOT met)'}`,
        signed(w.total50 - d.total50),
        signed(w.total99 - d.total99),
      ])
    }
  }
  const { delayMs, chunkDelayMs, chunks } = options.script
  process.stdout.write(`\nStreams: ${options.concurrency} at once per burst, ${options.rounds} measured bursts per target after ${options.warmup} warm-up; ` +
    `reply = ${chunks.length} chunks, ${delayMs} ms before the first event, ${chunkDelayMs} ms between events ` +
    `(first text ≥ ${delayMs + chunkDelayMs} ms, last ≥ ${delayMs + (chunks.length + 2) * chunkDelayMs} ms after the request reaches the LLM server)\n\n`)
  process.stdout.write(`${table(['target', 'streams', 'errors', 'TTFT p50 (ms)', 'TTFT p99 (ms)', 'total p50 (ms)', 'total p99 (ms)', 'Worken event loop busy', 'longest stall (ms)', 'Worken CPU / stream (ms)'], rows)}\n\n`)
  process.stdout.write(`${table(['added by Worken', 'TTFT p50 (aim ≤ 5 ms)', 'TTFT p99 (aim ≤ 20 ms)', 'total p50', 'total p99'], overheads)}\n\n`)
  const clientStall = Math.max(...results.flatMap((r) => r.targets.map((t) => t.clientMaxDelay)))
  process.stdout.write(`Longest event-loop stall in the client process during the measured bursts: ${ms(clientStall, 0)} ms.\n\n`)
  if (errors.length > 0) process.stdout.write(`First errors:\n${errors.map((e) => `  ${e}`).join('\n')}\n\n`)

  for (const result of results) {
    if (result.cpu) {
      const { database, streams, busyMs, categories } = result.cpu
      const cpuRows = categories.map((c) => [c.name, ms(c.ms / streams, 2), `${Math.round((100 * c.ms) / busyMs)}%`])
      cpuRows.push(['all (busy, not idle)', ms(busyMs / streams, 2), '100%'])
      process.stdout.write(`Worken's CPU on ${database}, V8 sampling profile of ${streams} streams (uninstrumented bursts of ${options.concurrency}; self time, main thread):\n\n`)
      process.stdout.write(`${table(['where', 'ms per stream', 'share'], cpuRows)}\n\n`)
    }
    if (result.profiles.length === 0) continue
    const database = result.profiles[0]!.database
    const header = ['phase (ms)', ...result.profiles.flatMap((p) => [`p50 @${p.concurrency}`, `p99 @${p.concurrency}`])]
    const profileRows = PHASES.map(([name], index) => [name, ...result.profiles.flatMap((p) => [ms(percentileOf(p.phases[index]!.values, 50), 2), ms(percentileOf(p.phases[index]!.values, 99), 2)])])
    profileRows.push(['Worken CPU, request in → model call (one stream at a time only)', ...result.profiles.flatMap((p) => p.concurrency === 1 ? [ms(percentileOf(p.cpuBeforeModel, 50), 2), ms(percentileOf(p.cpuBeforeModel, 99), 2)] : ['–', '–'])])
    profileRows.push(['Worken CPU per stream, whole turn (mean)', ...result.profiles.flatMap((p) => [ms(p.cpuPerStream, 2), ''])])
    profileRows.push(['client TTFT (for reference)', ...result.profiles.flatMap((p) => [ms(percentileOf(p.ttft, 50), 2), ms(percentileOf(p.ttft, 99), 2)])])
    process.stdout.write(`Profile on ${database} (instrumented; ${result.profiles.map((p) => `@${p.concurrency}: ${p.streams} streams, event loop busy ${Math.round(p.elu * 100)}%, longest stall ${ms(p.maxDelay, 0)} ms`).join('; ')}):\n\n`)
    process.stdout.write(`${table(header, profileRows)}\n\n`)
    if (result.isolated) {
      const isoRows = result.isolated.steps.map((step) => [step.name, ms(percentileOf(step.values, 50), 2), ms(percentileOf(step.values, 99), 2)])
      const sum = result.isolated.steps.filter((step) => !step.name.startsWith('for scale')).reduce((total, step) => total + percentileOf(step.values, 50), 0)
      isoRows.push(['sum of the p50s of the steps of a stream', ms(sum, 2), ''])
      process.stdout.write(`Each database step alone on ${database} (${result.isolated.steps[0]!.values.length} calls each, one at a time):\n\n`)
      process.stdout.write(`${table(['step (ms)', 'p50', 'p99'], isoRows)}\n\n`)
      const { calls, wallMs, statements } = result.isolated.ingest
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
      const wall = mean(wallMs)
      let inside = 0
      const ingestRows: string[][] = []
      for (const [label, values] of statements) {
        const perCall = values.reduce((a, b) => a + b, 0) / calls
        if (!label.startsWith('notify')) inside += perCall
        ingestRows.push([label, (values.length / calls).toFixed(1), ms(mean(values), 2), ms(perCall, 2)])
      }
      ingestRows.push(['all statements of the transaction', '', '', ms(inside, 2)])
      ingestRows.push(['the rest: JS (query building, row mapping), pool, transaction bookkeeping', '', '', ms(wall - inside, 2)])
      ingestRows.push(['storeUserMessages, call → result (mean)', '', '', ms(wall, 2)])
      process.stdout.write(`Inside threads.storeUserMessages on ${database} (${calls} calls, one at a time; each statement timed at the driver):\n\n`)
      process.stdout.write(`${table(['statement', 'per call', 'mean (ms)', 'ms per ingest'], ingestRows)}\n\n`)
    }
  }
}

// ---------------------------------------------------------------------------
// Parent: main
// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions()
  process.stdout.write(`Streams benchmark: ${options.concurrency} concurrent streams × ${options.rounds} bursts per target, ${os.cpus().length} CPUs, node ${process.version}\n`)
  const busyBefore = await machineBusy(1000)
  process.stdout.write(
    busyBefore > 0.2
      ? `Note: the machine is already ${Math.round(busyBefore * 100)}% busy before the run (other processes): the figures will be noisy.\n`
      : `Machine idle before the run (${Math.round(busyBefore * 100)}% CPU busy over 1 s).\n`,
  )
  const llm: Llm = new Child('llm child', fileURLToPath(import.meta.url), { [ROLE_ENV]: 'llm' })
  const clients: Clients = new Child('clients child', fileURLToPath(import.meta.url), { [ROLE_ENV]: 'clients' })
  const results: DatabaseResult[] = []
  const notes: string[] = []
  try {
    const { url: llmUrl } = await llm.call({ type: 'start', script: options.script }, 10_000)
    if (!llmUrl || new URL(llmUrl).hostname !== HOST) throw new Error(`the LLM server listens on ${llmUrl}, expected ${HOST}`)
    if (options.only !== 'postgres') results.push(await benchDatabase(clients, llm, llmUrl, options, 'PGlite', openPglite()))
    if (options.only !== 'pglite') {
      const problem = await postgresAnswers(options.postgresUrl)
      if (problem) {
        notes.push(`Postgres at ${redact(options.postgresUrl)} does not answer (${problem}): skipped. Set BENCH_DATABASE_URL to run it.`)
        process.stdout.write(`${notes.at(-1)}\n`)
      } else {
        results.push(await benchDatabase(clients, llm, llmUrl, options, 'Postgres', openPostgres(options.postgresUrl)))
      }
    }
  } finally {
    await Promise.all([clients.close(), llm.close()])
  }
  report(options, results)
  for (const note of notes) process.stdout.write(`${note}\n`)
  const busyAfter = await machineBusy(500)
  if (busyAfter > 0.2) process.stdout.write(`Note: other processes kept the machine ${Math.round(busyAfter * 100)}% busy after the run.\n`)
}

const role = process.env[ROLE_ENV]
if (role === 'clients') {
  runClients()
} else if (role === 'llm') {
  runLlm()
} else {
  // Bounded: whatever happens, the run ends within 15 minutes.
  const deadline = setTimeout(() => {
    process.stderr.write('bench:streams: still running after 15 minutes; giving up\n')
    process.exit(1)
  }, 15 * 60_000)
  deadline.unref()
  await runMain('bench:streams', main)
}
