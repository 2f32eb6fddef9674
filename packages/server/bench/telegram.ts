/**
 * Telegram channel benchmark: users' messages in as Telegram delivers them, through Worken (record,
 * ingest, the model, the stored reply, the outbox, the channel sender) and out as `sendMessage`
 * to the Bot API double, on PGlite and on Postgres, beside the bare model latency.
 *
 *   npm run bench:telegram                          # from the repo root: both databases, both modes
 *   npm run bench:telegram -- --only pglite         # or --only postgres
 *   npm run bench:telegram -- --updates 1000 --concurrency 20
 *   npm run bench:telegram -- --modes webhook       # or polling, or webhook,polling (default)
 *   npm run bench:telegram -- --delay-ms 30 --chunks 10 --chunk-delay-ms 5   # the model's pacing (defaults)
 *
 * A real server process per database (`node src/main.ts`, as test/support/process.ts starts it):
 * what is measured is server.ts's own wiring (the webhook route, the long poller, the channel
 * sender's poll and concurrency, the update sweep), not a copy of it. `WORKEN_PUBLIC_URL` is the
 * server's own address on a port chosen before it starts, so one bot (`settings.mode: auto`) gets a
 * webhook, and a second one (`settings.mode: polling`) long-polls the same double. Postgres:
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), a scratch database next to
 * it, dropped at the end; PGlite: a new data directory, removed at the end.
 *
 * Load: `--concurrency` Telegram chats, closed loop: each chat sends its next message when the bot's
 * answer to the previous one reached the double, until `--updates` messages were answered (after
 * `--warmup` unmeasured ones, on other chats). Webhook: the update is POSTed to the webhook with the
 * secret header, as Telegram does; polling: it is queued at the double and the poller's pending
 * getUpdates returns it. Latency per update: from the POST (or the queueing) to the double receiving
 * the `sendMessage` of that chat, both read in this process with performance.now(); also its first
 * part, from the POST to the model receiving the request (the model server's wall clock).
 *
 * The model is the tests' scripted OpenAI-compatible server (test/support/llm-server.ts) in a child
 * process: first chunk after `--delay-ms` (30), then `--chunks` (10) chunks `--chunk-delay-ms` (5)
 * apart. Its bare latency, to the full answer (Telegram gets the whole reply), is measured directly
 * at the same concurrency, with the server stopped. Everything listens on 127.0.0.1 only.
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { startLlmServer } from '../test/support/llm-server.ts'
import { keyCaller, startServerProcess, type ServerProcess } from '../test/support/process.ts'
import { startFakeBotApi, textMessageUpdate, type BotApiCall, type FakeBotApi } from '../test/support/telegram/fake-bot-api.ts'
import { percentile, postgresAnswers, redact, runMain } from './common.ts'

const ROLE_ENV = 'WORKEN_BENCH_TELEGRAM_ROLE'
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'
const KEY = `sk-${'be7c'.repeat(8)}`
const REPLY_TIMEOUT_MS = 30_000
/** Wall-clock milliseconds, comparable across this machine's processes. */
const wall = () => performance.timeOrigin + performance.now()

type Script = { chunks: string[]; delayMs: number; chunkDelayMs: number }
type LlmRequest = { id: number; type: 'start'; script: Script } | { id: number; type: 'take' }
type LlmReply = { id: number; url?: string; arrivals?: Array<[string, number]>; error?: string }
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

// ---------------------------------------------------------------------------
// Child: the model server. Records when each request arrived, by the user's last text.
// ---------------------------------------------------------------------------

function runLlm(): void {
  let server: Awaited<ReturnType<typeof startLlmServer>> | undefined
  const arrivals: Array<[string, number]> = []
  const send = (reply: LlmReply) => process.send?.(reply)
  process.on('message', (message: LlmRequest) => {
    void (async () => {
      try {
        if (message.type === 'start') {
          server = await startLlmServer()
          const { chunks, delayMs, chunkDelayMs } = message.script
          server.replyWith((turn) => {
            arrivals.push([turn.lastUserText, wall()])
            return { text: chunks, delayMs, chunkDelayMs }
          })
          send({ id: message.id, url: server.url })
        } else {
          // The request log keeps every body (whole histories): forget them between phases.
          server?.requests.splice(0)
          send({ id: message.id, arrivals: arrivals.splice(0) })
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

class LlmChild {
  private readonly child: ChildProcess
  private nextId = 1
  private readonly waiting = new Map<number, (reply: LlmReply) => void>()

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [ROLE_ENV]: 'llm' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (reply: LlmReply) => {
      this.waiting.get(reply.id)?.(reply)
      this.waiting.delete(reply.id)
    })
  }

  async call(request: WithoutId<LlmRequest>): Promise<LlmReply> {
    const id = this.nextId++
    const reply = await new Promise<LlmReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the model child did not answer in 30 s')), 30_000)
      this.waiting.set(id, (answer) => {
        clearTimeout(timer)
        resolve(answer)
      })
      this.child.send({ ...request, id })
    })
    if (reply.error) throw new Error(`model child: ${reply.error}`)
    return reply
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
// Options and figures
// ---------------------------------------------------------------------------

type Mode = 'webhook' | 'polling'
type Options = {
  only: 'pglite' | 'postgres' | undefined
  updates: number
  concurrency: number
  warmup: number
  modes: Mode[]
  script: Script
  postgresUrl: string
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      updates: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '60' },
      modes: { type: 'string', default: 'webhook,polling' },
      chunks: { type: 'string', default: '10' },
      'delay-ms': { type: 'string', default: '30' },
      'chunk-delay-ms': { type: 'string', default: '5' },
    },
    strict: true,
  })
  const integer = (name: string, value: string, min: number, max: number) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got ${value}`)
    return n
  }
  if (values.only !== undefined && values.only !== 'pglite' && values.only !== 'postgres') throw new Error('--only must be pglite or postgres')
  const modes = values.modes.split(',').map((mode) => mode.trim())
  if (modes.length === 0 || modes.some((mode) => mode !== 'webhook' && mode !== 'polling')) throw new Error('--modes must be webhook, polling or webhook,polling')
  const chunks = integer('chunks', values.chunks, 1, 500)
  return {
    only: values.only,
    updates: integer('updates', values.updates, 1, 100_000),
    concurrency: integer('concurrency', values.concurrency, 1, 500),
    warmup: integer('warmup', values.warmup, 0, 10_000),
    modes: modes as Mode[],
    script: {
      chunks: Array.from({ length: chunks }, (_, i) => `${i === 0 ? 'Token' : ' token'} ${i + 1}`),
      delayMs: integer('delay-ms', values['delay-ms'], 0, 10_000),
      chunkDelayMs: integer('chunk-delay-ms', values['chunk-delay-ms'], 0, 1000),
    },
    postgresUrl: process.env.BENCH_DATABASE_URL || DEFAULT_POSTGRES_URL,
  }
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b)
const ms = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–')
const pair = (values: number[]) => {
  const s = sorted(values)
  return `${ms(percentile(s, 50))} / ${ms(percentile(s, 99))}`
}

/** The server process's CPU time so far (user + system), in ms, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) ", in clock ticks (100 Hz on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

// ---------------------------------------------------------------------------
// One database
// ---------------------------------------------------------------------------

type ModeResult = {
  mode: Mode
  updates: number
  seconds: number
  latencies: number[]
  toModel: number[]
  cpuPerUpdate: number
}
type DatabaseResult = { name: 'PGlite' | 'Postgres'; modes: ModeResult[]; bare: { full: number[]; ttft: number[]; seconds: number } }

/** The answers the double receives, by `<token>:<chat>`: each waiting chat's next `sendMessage`. */
function replyWaiter(bot: FakeBotApi) {
  const waiting = new Map<string, (call: BotApiCall) => void>()
  bot.onCall((call) => {
    if (call.method !== 'sendMessage') return
    const key = `${call.token}:${String(call.params.chat_id)}`
    const resolve = waiting.get(key)
    waiting.delete(key)
    resolve?.(call)
  })
  return (token: string, chat: number): Promise<BotApiCall> => {
    const key = `${token}:${chat}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(key)
        reject(new Error(`no reply to chat ${chat} within ${REPLY_TIMEOUT_MS} ms`))
      }, REPLY_TIMEOUT_MS)
      waiting.set(key, (call) => {
        clearTimeout(timer)
        resolve(call)
      })
    })
  }
}

type Sample = { text: string; startedAt: number; latency: number }

/** `total` messages over `chats` chats, closed loop: each chat's next message goes when the previous one's answer arrived. */
async function converse(bot: FakeBotApi, nextReply: ReturnType<typeof replyWaiter>, token: string, chats: number[], total: number, label: string): Promise<Sample[]> {
  const samples: Sample[] = []
  let next = 0
  await Promise.all(chats.map(async (chat) => {
    for (let turn = 1; next < total; turn++) {
      next++
      const text = `${label} ${chat} ${turn}`
      const answered = nextReply(token, chat)
      const startedAt = performance.now()
      const pushed = await bot.pushUpdate(token, textMessageUpdate({ chatId: chat, text, messageId: turn }))
      if (pushed.status !== undefined && pushed.status !== 200) throw new Error(`the webhook answered ${pushed.status}`)
      const call = await answered
      samples.push({ text, startedAt, latency: call.at - startedAt })
    }
  }))
  return samples
}

/** The bare model at the same concurrency: the same streamed request shape, straight to the model server. */
async function bareModel(llmUrl: string, total: number, concurrency: number, expected: string): Promise<{ full: number[]; ttft: number[]; seconds: number }> {
  const full: number[] = []
  const ttft: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++
      const t0 = performance.now()
      const response = await fetch(`${llmUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hello from Telegram' }] }),
      })
      let first: number | null = null
      let text = ''
      let buffer = ''
      const decoder = new TextDecoder()
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer.slice(0, end).replace(/^data: /, '')
          buffer = buffer.slice(end + 2)
          if (data === '[DONE]') continue
          const delta = JSON.parse(data).choices?.[0]?.delta?.content ?? ''
          if (delta && first === null) first = performance.now() - t0
          text += delta
        }
      }
      if (text !== expected) throw new Error(`the model answered ${JSON.stringify(text)}`)
      full.push(performance.now() - t0)
      ttft.push(first ?? Number.NaN)
    }
  }))
  return { full, ttft, seconds: (performance.now() - started) / 1000 }
}

async function runDatabase(name: DatabaseResult['name'], databaseEnv: Record<string, string>, llm: LlmChild, llmUrl: string, options: Options): Promise<DatabaseResult> {
  const bot = await startFakeBotApi()
  const nextReply = replyWaiter(bot)
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  let server: ServerProcess | undefined
  const modes: ModeResult[] = []
  try {
    server = await startServerProcess({
      ...databaseEnv,
      PORT: String(port),
      WORKEN_PUBLIC_URL: publicUrl,
      WORKEN_TELEGRAM_API_URL: bot.apiRoot,
      WORKEN_BOOTSTRAP_API_KEY: KEY,
      OPENAI_API_KEY: 'test',
      OPENAI_BASE_URL: `${llmUrl}/v1`,
    }, 120_000)
    const pid = server.child.pid!
    const call = keyCaller(KEY)
    const expect200 = (what: string, answer: { status: number; body: any }) => {
      if (answer.status !== 200) throw new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
      return answer.body
    }
    const worken = expect200('POST /bots', await call(server.publicUrl, 'POST', '/bots', { name: 'Telegram bench' }))
    expect200('POST /bots/:id/settings', await call(server.publicUrl, 'POST', `/bots/${worken.id}/settings`, { ai: { memory: { generateTitle: false } } }))
    const tokens: Record<Mode, string> = { webhook: `700001:BENCH-${'w'.repeat(30)}`, polling: `700002:BENCH-${'p'.repeat(30)}` }
    for (const mode of options.modes) {
      const integration = expect200('POST /integrations', await call(server.publicUrl, 'POST', '/integrations', { name: `${mode} bench bot`, vendor: 'telegram', auth_data: { token: tokens[mode] }, settings: { mode: mode === 'webhook' ? 'auto' : 'polling' } }))
      expect200('POST /integrations/:id/chats', await call(server.publicUrl, 'POST', `/integrations/${integration.id}/chats`, { bot_id: worken.id, name: `${mode} bench` }))
    }
    // The connector looks at the integrations every 5 s: wait for the webhook and the poller.
    const deadline = Date.now() + 30_000
    while (!options.modes.every((mode) => (mode === 'webhook' ? bot.webhook(tokens.webhook) : bot.callsTo('getUpdates').some((c) => c.token === tokens.polling)))) {
      if (Date.now() > deadline) throw new Error('the bots were not connected within 30 s')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const chats = (base: number) => Array.from({ length: options.concurrency }, (_, i) => base + i + 1)
    for (const mode of options.modes) {
      if (options.warmup > 0) await converse(bot, nextReply, tokens[mode], chats(100_000), options.warmup, `warm-up ${mode}`)
      await llm.call({ type: 'take' })
      const cpuBefore = processCpuMs(pid)
      const started = performance.now()
      const samples = await converse(bot, nextReply, tokens[mode], chats(200_000), options.updates, `measured ${mode}`)
      const seconds = (performance.now() - started) / 1000
      const cpu = processCpuMs(pid) - cpuBefore
      const arrivals = new Map((await llm.call({ type: 'take' })).arrivals!)
      const toModel = samples.map((sample) => (arrivals.get(sample.text) ?? Number.NaN) - (performance.timeOrigin + sample.startedAt)).filter(Number.isFinite)
      modes.push({ mode, updates: samples.length, seconds, latencies: samples.map((sample) => sample.latency), toModel, cpuPerUpdate: cpu / samples.length })
      console.log(`  ${name} ${mode}: ${samples.length} updates in ${seconds.toFixed(1)} s, reply sent p50 / p99 ${pair(samples.map((s) => s.latency))} ms`)
    }
  } finally {
    if (server) await server.stop('SIGTERM')
    await bot.close()
  }
  const bare = await bareModel(llmUrl, options.updates, options.concurrency, options.script.chunks.join(''))
  return { name, modes, bare }
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions()
  const modelMs = options.script.delayMs + (options.script.chunks.length + 2) * options.script.chunkDelayMs
  console.log(`Telegram bench: ${options.updates} updates per mode (${options.modes.join(', ')}) over ${options.concurrency} chats, after ${options.warmup} warm-up; model: first chunk after ${options.script.delayMs} ms, ${options.script.chunks.length} chunks ${options.script.chunkDelayMs} ms apart (≈${modelMs} ms to the full answer)`)
  const llm = new LlmChild()
  const results: DatabaseResult[] = []
  try {
    const { url: llmUrl } = await llm.call({ type: 'start', script: options.script })
    if (options.only !== 'postgres') {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-bench-telegram-'))
      try {
        results.push(await runDatabase('PGlite', { WORKEN_DATA_DIR: dataDir }, llm, llmUrl!, options))
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
    }
    if (options.only !== 'pglite') {
      const problem = await postgresAnswers(options.postgresUrl)
      if (problem) console.log(`Postgres at ${redact(options.postgresUrl)} does not answer (${problem}); skipping it.`)
      else {
        const url = await createScratchDatabase(options.postgresUrl, 'worken_bench')
        try {
          results.push(await runDatabase('Postgres', { DATABASE_URL: url }, llm, llmUrl!, options))
        } finally {
          await dropScratchDatabase(options.postgresUrl, url)
        }
      }
    }
  } finally {
    await llm.close()
  }

  console.log(`\n| database | mode | updates | chats | updates/s | update → reply sent p50 / p99 (ms) | update → model call p50 / p99 (ms) | bare model, full answer p50 / p99 (ms) | bare model updates/s | server CPU per update (ms) |`)
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const result of results) {
    for (const mode of result.modes) {
      console.log(`| ${result.name} | ${mode.mode} | ${mode.updates} | ${options.concurrency} | ${ms(mode.updates / mode.seconds)} | ${pair(mode.latencies)} | ${pair(mode.toModel)} | ${pair(result.bare.full)} | ${ms(result.bare.full.length / result.bare.seconds)} | ${ms(mode.cpuPerUpdate)} |`)
    }
  }
}

if (process.env[ROLE_ENV] === 'llm') runLlm()
else await runMain('bench:telegram', main)
