// Helpers shared by the benchmark scripts.
import type http from 'node:http'
import os from 'node:os'
import { serve } from '@hono/node-server'
import pg from 'pg'
import { openDatabase, type DatabaseHandle } from '../src/platform/db/client.ts'
import { newId } from '../src/platform/db/ids.ts'
import * as schema from '../src/schema.ts'
import type { Services } from '../src/services.ts'
import { createScratchDatabase } from '../test/support/harness.ts'

/** Stops a server at once, cutting its open connections. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** Null when Postgres at `url` answers; else why not. */
export async function postgresAnswers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('select 1')
    return null
  } catch (error) {
    return (error as Error).message || String(error)
  } finally {
    await client.end().catch(() => {})
  }
}

/** The URL without its password, for printing. */
export function redact(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}

/** Share of all CPUs busy (any process) over `durationMs`, from the kernel's counters. */
export async function machineBusy(durationMs: number): Promise<number> {
  const sample = () => os.cpus().reduce((acc, cpu) => {
    const { idle, ...rest } = cpu.times
    acc.idle += idle
    acc.busy += Object.values(rest).reduce((a, b) => a + b, 0)
    return acc
  }, { idle: 0, busy: 0 })
  const before = sample()
  await new Promise((resolve) => setTimeout(resolve, durationMs))
  const after = sample()
  const busy = after.busy - before.busy
  const total = busy + after.idle - before.idle
  return total > 0 ? busy / total : 0
}

/**
 * Runs a benchmark's main, reports a failure as exit code 1, and exits anyway
 * if a forgotten handle keeps the process alive 10 s after the end.
 */
export async function runMain(label: string, main: () => Promise<void>): Promise<void> {
  try {
    await main()
  } catch (error) {
    process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`)
    process.exitCode = 1
  }
  setTimeout(() => {
    process.stderr.write(`${label}: something still holds the event loop 10 s after the end; exiting\n`)
    process.exit(process.exitCode ?? 1)
  }, 10_000).unref()
}

/** Serves `fetchHandler` on a free port of 127.0.0.1 with @hono/node-server, as the server does. */
export function listen(fetchHandler: (request: Request) => Response | Promise<Response>): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: fetchHandler, port: 0, hostname: '127.0.0.1' }, () => resolve(server)) as http.Server
    server.once('error', reject)
  })
}

/** POSTs JSON with an API key; anything but a 200 is an error. */
export async function postJson(url: string, key: string, body: unknown): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`)
  return JSON.parse(text)
}

/** One organization, user, project and API key, as the test harness seeds them. */
export async function seedProject(handle: DatabaseHandle, services: Services): Promise<{ projectId: string; key: string }> {
  const organizationId = newId('org')
  const userId = newId('usr')
  const projectId = newId('prj')
  const db = handle.db
  await db.insert(schema.organizations).values({ id: organizationId, name: 'Bench organization' })
  await db.insert(schema.users).values({ id: userId, email: `${userId}@example.test`, name: 'Bench user' })
  await db.insert(schema.memberships).values({ organizationId, userId, role: 'owner' })
  await db.insert(schema.projects).values({ id: projectId, organizationId, name: 'Bench project' })
  const created = await services.apiKeys.create(projectId, 'bench', { createdByUserId: userId })
  return { projectId, key: created.key }
}

/** Nearest-rank percentile of values sorted ascending; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/**
 * A seeded pseudo-random generator in [0, 1) (mulberry32), so that a generated
 * corpus is the same on every run.
 *
 * @example
 * const random = seededRandom(1)
 * random() // 0.6270739405881613, every time
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = state
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The Postgres database a benchmark runs on: `reuse` (one kept by an earlier run), or a new scratch database next to
 * `serverUrl`. Null, with the reason printed, when the server does not answer.
 */
export async function benchPostgres(serverUrl: string, reuse: string | undefined): Promise<{ url: string; handle: DatabaseHandle } | null> {
  const problem = await postgresAnswers(serverUrl)
  if (problem) {
    console.log(`Postgres at ${redact(serverUrl)} does not answer (${problem}); skipping it.`)
    return null
  }
  const url = reuse ?? (await createScratchDatabase(serverUrl, 'worken_bench'))
  return { url, handle: await openDatabase({ driver: 'postgres', url, poolSize: 10 }) }
}
