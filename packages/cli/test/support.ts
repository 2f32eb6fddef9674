import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))

export type CliRun = { code: number | null; stdout: string; stderr: string }

/** A config directory of its own per test, so no test sees another's (or the user's) profiles. */
export function tempConfigDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'worken-cli-'))
}

/** `worken <args>` as a user runs it, with only the environment given (plus PATH). */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--conditions=worken:source', MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...(process.env.NODE_COMPILE_CACHE ? { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE } : {}), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

export async function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliRun> {
  const child = spawnCli(args, env)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin!.end(stdin ?? '')
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)))
  return { code, stdout, stderr }
}
