// Helpers shared by the benchmark scripts.
import type http from 'node:http'
import os from 'node:os'
import pg from 'pg'

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
