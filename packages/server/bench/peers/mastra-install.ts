// The Mastra peer's packages, installed into a scratch folder outside the workspace (so the
// repository's package.json and package-lock.json, and `npm ci`, stay as they are), and reused
// while the pinned versions are the ones installed there.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Pinned: @mastra/core 1.71.0 is the version of issue 17's table. The adapters are the newest
 * releases whose peer range takes it; the AI SDK provider, Hono, its Node server and zod are the
 * versions Worken itself uses, so both sides run the same provider code and HTTP stack.
 */
export const MASTRA_PACKAGES: Record<string, string> = {
  '@mastra/core': '1.71.0',
  '@mastra/hono': '1.7.9',
  '@mastra/memory': '1.31.0',
  '@mastra/libsql': '1.23.1',
  '@mastra/pg': '1.27.1',
  '@ai-sdk/openai': '4.0.118',
  hono: '4.13.19',
  '@hono/node-server': '2.1.8',
  zod: '4.6.7',
}

const SERVER_FILE = 'mastra-server.mjs'

/** `${XDG_CACHE_HOME:-~/.cache}/worken-bench/mastra`, or MASTRA_BENCH_DIR. */
export function mastraDir(): string {
  if (process.env.MASTRA_BENCH_DIR) return path.resolve(process.env.MASTRA_BENCH_DIR)
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(cache, 'worken-bench', 'mastra')
}

function installedVersion(dir: string, name: string): string | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

/** Packages whose installed version is not the pinned one. */
function missing(dir: string): string[] {
  return Object.entries(MASTRA_PACKAGES).filter(([name, version]) => installedVersion(dir, name) !== version).map(([name]) => name)
}

/**
 * Installs the pinned packages into the scratch folder unless they are there already, copies
 * the Mastra server file next to them, and returns the path of that file.
 */
export async function ensureMastra(log: (line: string) => void): Promise<string> {
  const dir = mastraDir()
  fs.mkdirSync(dir, { recursive: true })
  // A package.json of its own, so that npm does not look for a project further up.
  const manifest = path.join(dir, 'package.json')
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, `${JSON.stringify({ name: 'worken-bench-mastra', private: true }, null, 2)}\n`)
  const absent = missing(dir)
  if (absent.length > 0) {
    log(`Installing the Mastra peer into ${dir} (${absent.join(', ')} missing or at another version)…`)
    const specs = Object.entries(MASTRA_PACKAGES).map(([name, version]) => `${name}@${version}`)
    // The npm that runs this script (npm run sets npm_execpath), else the one on PATH.
    const npm = process.env.npm_execpath
    const [command, args] = npm ? [process.execPath, [npm]] : ['npm', []]
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, [...args, 'install', '--no-save', '--no-audit', '--no-fund', '--prefix', dir, ...specs], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] })
      child.on('error', reject)
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm install of the Mastra peer exited with ${code}`))))
    })
    const still = missing(dir)
    if (still.length > 0) throw new Error(`after npm install, these are still not at their pinned versions in ${dir}: ${still.join(', ')}`)
  } else {
    log(`Mastra peer: reusing ${dir}`)
  }
  const source = fileURLToPath(new URL(SERVER_FILE, import.meta.url))
  const target = path.join(dir, SERVER_FILE)
  fs.copyFileSync(source, target)
  return target
}
