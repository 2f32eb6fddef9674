import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createScratchDatabase, dropScratchDatabase } from './harness.ts'
import { migratedDataDir } from './template.ts'

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
/** Workspace packages (`@worken/mcp`) are imported from their TypeScript source, as `npm start` does. */
const NODE_ARGS = ['--conditions=worken:source', MAIN]

/** Test processes share one key, as the processes of one deployment must. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64')

export type ServerProcess = {
  child: ChildProcess
  publicUrl: string
  internalUrl: string
  /** Everything the process printed to stdout so far. */
  output(): string
  stderr(): string
  /** Log lines (JSON) printed so far. */
  logs(): any[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * What a server process inherits from the test's environment: PATH, and the
 * compile cache that the global setup turns on (it saves a fraction of each start).
 */
function inherited(): Record<string, string> {
  const { PATH = '', NODE_COMPILE_CACHE } = process.env
  return NODE_COMPILE_CACHE ? { PATH, NODE_COMPILE_CACHE } : { PATH }
}

/** Runs `node src/main.ts` as a user would, on random ports, and waits until it listens. */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, NODE_ARGS, {
    env: { ...inherited(), PORT: '0', INTERNAL_PORT: '0', LOG_LEVEL: 'info', WORKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
  const listening = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${stdout}\n${stderr}`)), timeoutMs)
    const exited = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${stdout}\n${stderr}`))
    }
    // Once listening, no longer re-read the whole output at every chunk (a long run logs a lot).
    const check = () => {
      const line = logs().find((entry) => entry.msg === 'listening')
      if (line) {
        clearTimeout(timer)
        child.stdout!.off('data', check)
        child.off('exit', exited)
        resolve(line)
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', exited)
  })
  return {
    child,
    publicUrl: listening.publicUrl,
    internalUrl: listening.internalUrl,
    output: () => stdout,
    stderr: () => stderr,
    logs,
    async stop(signal = 'SIGTERM') {
      // A process killed by a signal has no exit code, only a signalCode: it is gone all the same.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = await once(child, 'exit')
      return code as number | null
    },
  }
}

/** `node src/main.ts` on random ports, not waited for: for tests of the start itself. */
export function spawnServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, NODE_ARGS, { env: { ...inherited(), PORT: '0', INTERNAL_PORT: '0', WORKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Runs the server expecting it to fail at start; resolves with its exit code and output. */
export async function runFailingStart(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnServer(env)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return { code: code as number | null, stdout, stderr }
}

/**
 * Where server processes of a test keep their data: a scratch Postgres
 * database when TEST_DATABASE_URL is set, else a PGlite data directory; both
 * start as a copy of the migrated template (template.ts), so a first start
 * skips initdb and the migrations. `env` goes into startServerProcess;
 * `cleanup` removes it.
 */
export async function processDatabase(prefix: string): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (serverUrl) {
    const url = await createScratchDatabase(serverUrl, 'worken_test', { migrated: true })
    return { env: { DATABASE_URL: url }, cleanup: () => dropScratchDatabase(serverUrl, url) }
  }
  const dir = await migratedDataDir(prefix)
  return { env: { WORKEN_DATA_DIR: dir }, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** JSON calls to a server process with an API key: `call(base, method, route, body?)`. */
export function keyCaller(key: string) {
  return async (base: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await fetch(base + route, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: response.status, body: (await response.json().catch(() => null)) as any }
  }
}
