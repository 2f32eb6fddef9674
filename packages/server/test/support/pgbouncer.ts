import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Where Debian's package puts it (`apt-get install pgbouncer`); /usr/sbin is often not on a user's PATH. */
const CANDIDATES = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'].map((dir) => path.join(dir, 'pgbouncer'))

/** The pgbouncer binary, or null when it is not installed. */
export function pgbouncerBinary(): string | null {
  return CANDIDATES.find((file) => fs.existsSync(file)) ?? null
}

export type Pgbouncer = {
  /** `databaseUrl` with its host and port replaced by the pooler's. */
  urlFor(databaseUrl: string): string
  /** What pgbouncer printed (its log goes to stderr). */
  output(): string
  stop(): Promise<void>
}

/**
 * Starts pgbouncer in the foreground, in transaction pooling mode, in front of the Postgres server
 * of `serverUrl`, on a free loopback port, with a generated configuration in a temporary folder
 * (trust authentication for the server URL's user). As root, it runs as `nobody`: pgbouncer
 * refuses to run as root.
 */
export async function startPgbouncer(serverUrl: string, options: { poolSize?: number } = {}): Promise<Pgbouncer> {
  const binary = pgbouncerBinary()
  if (!binary) throw new Error('pgbouncer is not installed')
  const server = new URL(serverUrl)
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-pgbouncer-'))
  // Readable by `nobody`, the user it drops to as root; nothing secret is in it.
  fs.chmodSync(dir, 0o755)
  const user = decodeURIComponent(server.username || 'postgres')
  fs.writeFileSync(path.join(dir, 'users.txt'), `"${user}" ""\n`, { mode: 0o644 })
  fs.writeFileSync(path.join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'users.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 8}`,
    'max_client_conn = 500',
    'unix_socket_dir =',
    'logfile =',
    'pidfile =',
    '',
  ].join('\n'), { mode: 0o644 })
  const args = [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')]
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, child, () => output)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    output: () => output,
    stop,
  }
}

async function freePort(): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${output()}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} in time:\n${output()}`)
    await sleep(50)
  }
}
