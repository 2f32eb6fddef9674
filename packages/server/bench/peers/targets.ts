// The servers under test of bench/peers.ts, each a real process of its own: Worken started as
// `npm start` starts it (on a scratch Postgres database or a PGlite data directory in a temporary
// directory), and the Mastra peer (bench/peers/mastra-server.mjs) on LibSQL or Postgres.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createScratchDatabase, dropScratchDatabase } from '../../test/support/harness.ts'
import type { Protocol } from './protocol.ts'
import { cpuByPid } from './proc.ts'

const HOST = '127.0.0.1'
const SERVER_DIR = fileURLToPath(new URL('../../', import.meta.url))
const START_TIMEOUT_MS = 90_000

/** The model every target asks the paced server for, and the instruction all of them send. */
export const MODEL_ID = 'gpt-4o-mini'
export const INSTRUCTIONS = 'You are a helpful assistant.' // Worken's default; the Mastra agent's and the straight client's
export const LAST_MESSAGES = 10

/** A server under test, started and set up, until `stop`. */
export type Instance = {
  protocol: Protocol
  pid: number
  /** The scratch Postgres database, for the Postgres targets. */
  database?: string
  /** The last lines of the server's output, for an error message. */
  logTail(): string
  stop(): Promise<void>
}

/** A free TCP port on 127.0.0.1 (free when asked; taken by the server a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** This process's environment without anything that would configure the servers under test behind our back. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of Object.keys(env)) {
    if (/^(WORKEN_|DATABASE_|OPENAI_|ANTHROPIC_|OPENROUTER_|MASTRA_|INTERNAL_)/.test(name) || ['PORT', 'HOST', 'LOG_LEVEL', 'NODE_ENV'].includes(name)) delete env[name]
  }
  // Production mode for both: Mastra logs at `warn` there (else `info`); Worken does not read it.
  env.NODE_ENV = 'production'
  return env
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no output)'
  }
}

/** Servers running now, for killAll. */
const running = new Set<ChildProcess>()

/** Kills every server under test still running (an interrupted run must not leave them behind). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL')
}

/** Spawns a server with its output going to a file (no pipe for this process to drain while it measures). */
function spawnServer(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }): ChildProcess {
  const out = fs.openSync(options.logFile, 'w')
  try {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', out, out] })
    running.add(child)
    child.once('exit', () => running.delete(child))
    return child
  } finally {
    fs.closeSync(out)
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
function terminate(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Polls `probe` until it says the server is up; fails early when the process exits. */
async function untilUp(child: ChildProcess, logFile: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let exited: string | undefined
  child.once('exit', (code, signal) => { exited = `exited (code ${code}, signal ${signal})` })
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the server ${exited} before answering:\n${tail(logFile)}`)
    if (await probe().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`the server did not answer within ${START_TIMEOUT_MS / 1000} s:\n${tail(logFile)}`)
}

async function postJson(url: string, body: unknown, key: string): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text)
}

/** Directory for one instance's files (logs, PGlite or LibSQL data), removed at its stop. */
function workDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `worken-peers-${label}-`))
}

/**
 * A server under test's scratch space: a work directory with its log, and on Postgres the
 * scratch database; `cleanup` stops the server and removes both.
 */
class Scratch {
  readonly dir: string
  readonly logFile: string
  private readonly postgresUrl: string | undefined

  constructor(name: string, postgresUrl: string | undefined) {
    this.dir = workDir(name)
    this.logFile = path.join(this.dir, 'server.log')
    this.postgresUrl = postgresUrl
  }

  async cleanup(child: ChildProcess | undefined, database: string | undefined): Promise<void> {
    if (child) await terminate(child)
    if (database && this.postgresUrl) await dropScratchDatabase(this.postgresUrl, database).catch((error: unknown) => process.stderr.write(`could not drop ${new URL(database).pathname}: ${(error as Error).message}\n`))
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

type WorkenOptions = {
  /** The Postgres server to create the scratch database next to; undefined: PGlite. */
  postgresUrl?: string
  /** WORKEN_PROCESSES, when set. */
  processes?: number
  modelBaseUrl: string
  /** packages/server of the checkout to run (default: this one). */
  serverDir?: string
}

/**
 * Worken as `npm start` runs it (`node --conditions=worken:source src/main.ts` in packages/server),
 * on a fresh database whose first start stores a chosen API key (WORKEN_BOOTSTRAP_API_KEY), with
 * one bot (the paced model; memory of the last 10 messages, no recall, no working memory, no
 * titles) and one chat whose threads the load creates by streaming into new thread ids.
 */
export async function startWorken(options: WorkenOptions): Promise<Instance> {
  const scratch = new Scratch(options.postgresUrl ? 'worken-pg' : 'worken-pglite', options.postgresUrl)
  const { dir, logFile } = scratch
  const key = `sk-${randomBytes(16).toString('hex')}`
  let database: string | undefined
  let child: ChildProcess | undefined
  const cleanup = () => scratch.cleanup(child, database)
  try {
    const port = await freePort()
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      HOST,
      PORT: String(port),
      INTERNAL_HOST: HOST,
      INTERNAL_PORT: String(await freePort()),
      WORKEN_BOOTSTRAP_API_KEY: key,
      OPENAI_API_KEY: 'bench-key',
      OPENAI_BASE_URL: options.modelBaseUrl,
    }
    if (options.postgresUrl) {
      database = await createScratchDatabase(options.postgresUrl, 'worken_peers')
      env.DATABASE_URL = database
      env.WORKEN_ENCRYPTION_KEY = randomBytes(32).toString('base64')
    } else {
      env.WORKEN_DATA_DIR = path.join(dir, 'data')
    }
    if (options.processes !== undefined) env.WORKEN_PROCESSES = String(options.processes)
    child = spawnServer(process.execPath, ['--conditions=worken:source', 'src/main.ts'], { cwd: options.serverDir ?? SERVER_DIR, env, logFile })
    const base = `http://${HOST}:${port}`
    await untilUp(child, logFile, async () => (await fetch(`${base}/bots`, { headers: { authorization: `Bearer ${key}` } })).status === 200)

    const bot = await postJson(`${base}/bots`, { name: 'Bench bot' }, key)
    await postJson(`${base}/bots/${bot.id}/settings`, {
      ai: {
        instruction: INSTRUCTIONS,
        model: { id: `openai/${MODEL_ID}` },
        memory: { lastMessages: LAST_MESSAGES, semanticRecall: false, workingMemory: { enabled: false }, generateTitle: false },
      },
    }, key)
    const chat = await postJson(`${base}/chats`, { bot_id: bot.id, name: 'Bench chat' }, key)
    const started = child
    return {
      protocol: { kind: 'worken', base, key, chatId: chat.id },
      pid: started.pid!,
      ...(database ? { database: new URL(database).pathname.slice(1) } : {}),
      logTail: () => tail(logFile),
      stop: cleanup,
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}

type MastraOptions = {
  serverFile: string
  /** The Postgres server to create the scratch database next to; undefined: LibSQL in a file. */
  postgresUrl?: string
  modelBaseUrl: string
}

/** The Mastra peer (mastra-server.mjs, run from the scratch folder it was installed into). */
export async function startMastra(options: MastraOptions): Promise<Instance> {
  const scratch = new Scratch(options.postgresUrl ? 'mastra-pg' : 'mastra-libsql', options.postgresUrl)
  const { dir, logFile } = scratch
  let database: string | undefined
  let child: ChildProcess | undefined
  const cleanup = () => scratch.cleanup(child, database)
  try {
    const port = await freePort()
    const env: NodeJS.ProcessEnv = {
      ...cleanEnv(),
      PORT: String(port),
      MODEL_BASE_URL: options.modelBaseUrl,
      MODEL_ID,
      MASTRA_TELEMETRY_DISABLED: '1',
      MASTRA_BENCH_POOL: '10',
    }
    if (options.postgresUrl) {
      database = await createScratchDatabase(options.postgresUrl, 'mastra_peers')
      env.MASTRA_BENCH_STORE = 'pg'
      env.MASTRA_BENCH_DB = database
    } else {
      env.MASTRA_BENCH_STORE = 'libsql'
      env.MASTRA_BENCH_DB = `file:${path.join(dir, 'mastra.db')}`
    }
    child = spawnServer(process.execPath, [options.serverFile], { cwd: path.dirname(options.serverFile), env, logFile })
    const base = `http://${HOST}:${port}`
    await untilUp(child, logFile, async () => (await fetch(`${base}/api/agents`)).status === 200)
    const started = child
    return {
      protocol: { kind: 'mastra', base, agentId: 'bench' },
      pid: started.pid!,
      ...(database ? { database: new URL(database).pathname.slice(1) } : {}),
      logTail: () => tail(logFile),
      stop: cleanup,
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}

/** What the database counters say at one moment, for one scratch database. */
export type PgSnapshot = { walLsn: bigint; xactCommit: number; backendCpuMs: Map<number, number> }

function parseLsn(lsn: string): bigint {
  const [high, low] = lsn.split('/')
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`)
}

/**
 * The server's WAL position (flushed), the database's committed transactions (pg_stat_database,
 * flushed by each backend within about a second of going idle), and the CPU time of its backends so far.
 */
export async function pgSnapshot(admin: pg.Client, database: string): Promise<PgSnapshot> {
  const { rows } = await admin.query<{ lsn: string; xacts: string | null; pids: number[] }>(
    `select pg_current_wal_flush_lsn()::text as lsn,
            (select xact_commit from pg_stat_database where datname = $1)::text as xacts,
            (select coalesce(array_agg(pid), '{}') from pg_stat_activity where datname = $1) as pids`,
    [database],
  )
  const row = rows[0]!
  return { walLsn: parseLsn(row.lsn), xactCommit: Number(row.xacts ?? 0), backendCpuMs: cpuByPid(row.pids) }
}

/** Backends' CPU between two snapshots: those there at the end, from 0 for the ones that came in between. */
export function backendCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0)
  return total
}

function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/**
 * WAL bytes written between two snapshots. With pg_walinspect installed in the database `admin`
 * is connected to (`perDatabase`), only this database's: the records that touch its relations,
 * and the other records (commits…) of the transactions that wrote those; else the whole
 * server's, which counts whatever else writes to it meanwhile.
 */
export async function walBetween(admin: pg.Client, database: string, before: PgSnapshot, after: PgSnapshot, perDatabase: boolean): Promise<number> {
  if (!perDatabase) return Number(after.walLsn - before.walLsn)
  const { rows } = await admin.query<{ bytes: string }>(
    `with db as (select ' rel [0-9]+/' || oid || '/' as pattern from pg_database where datname = $3),
          r as (select xid::text as xid, record_length, block_ref from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)),
          ours as (select distinct r.xid from r, db where r.xid <> '0' and r.block_ref ~ db.pattern)
     select coalesce(sum(r.record_length), 0)::text as bytes from r, db
      where r.block_ref ~ db.pattern or r.xid in (select xid from ours)`,
    [formatLsn(before.walLsn), formatLsn(after.walLsn), database],
  )
  return Number(rows[0]!.bytes)
}
