import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * How long a start waits for a live holder of the data directory to go before refusing: a
 * supervisor's restart right after a crash finds the killed process still exiting for a
 * second or two. Long enough for that, short enough that a second server is refused promptly.
 */
export const DATA_DIR_LOCK_WAIT_MS = 5000
const POLL_MS = 50

/** Another live process holds the data directory. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
  readonly holder: number

  constructor(dataDir: string, holder: number) {
    super(`The data directory ${dataDir} is in use by process ${holder}. Stop it, or set WORKEN_DATA_DIR to another directory.`)
    this.holder = holder
  }
}

/**
 * PGlite is one process's database: two processes on one data directory would
 * corrupt it. A pid file refuses the second one (the server, or `worken keys
 * create` while a server runs) with a clear message. Returns the release.
 *
 * The file says `<pid>\n<identity>\n`, the identity (Linux: boot id and the process's start
 * time) telling the holder apart from a later process that got the same pid. A holder counts
 * as gone when no process has its pid, when that process has exited but is not reaped yet
 * (a zombie), or when it is another process (pid reuse, as after a reboot or a container
 * restart). While the holder lives the lock is asked again every 50 ms, up to `waitMs`.
 * The file is created atomically (a hard link to a complete file), so two starts at once
 * never both see it free.
 */
export async function lockDataDir(dataDir: string, options: { waitMs?: number } = {}): Promise<() => void> {
  fs.mkdirSync(dataDir, { recursive: true })
  const pidFile = path.join(dataDir, 'worken.pid')
  const mine = `${process.pid}\n${identityOf(process.pid) ?? ''}\n`
  const release = () => {
    // Only our own file: after a takeover (we were thought gone) it is another process's lock.
    if (readText(pidFile) === mine) fs.rmSync(pidFile, { force: true })
  }
  const deadline = Date.now() + (options.waitMs ?? DATA_DIR_LOCK_WAIT_MS)
  for (;;) {
    if (create(pidFile, mine)) return release
    const text = readText(pidFile)
    if (text === null) continue // released between the two steps: try again
    const holder = parse(text)
    if (holder.pid === process.pid) {
      // This process (a second lock in one process), or its pid left by a dead holder: ours either way.
      fs.writeFileSync(pidFile, mine)
      return release
    }
    if (!holder.pid || !isAlive(holder)) {
      removeStale(pidFile, text)
      continue
    }
    if (Date.now() >= deadline) throw new DataDirInUseError(dataDir, holder.pid)
    await sleep(POLL_MS)
  }
}

/** Creates the file with its content in one step; false when it exists. */
function create(file: string, content: string): boolean {
  const draft = `${file}.${process.pid}.tmp`
  fs.writeFileSync(draft, content)
  try {
    fs.linkSync(draft, file)
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    // A file system without hard links: exclusive creation, the content following at once.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
      try {
        fs.writeFileSync(file, content, { flag: 'wx' })
        return true
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw inner
      }
    }
    throw error
  } finally {
    fs.rmSync(draft, { force: true })
  }
}

/**
 * Removes a dead holder's file, and only it: the file is moved aside first, and if what was
 * moved is not what was judged stale (another start claimed the directory meanwhile), it is
 * put back.
 */
function removeStale(file: string, staleText: string): void {
  const aside = `${file}.${process.pid}.stale`
  try {
    fs.renameSync(file, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  try {
    if (readText(aside) !== staleText) fs.linkSync(aside, file)
  } catch (error) {
    // EEXIST: yet another start holds it now; the loop reads that one.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    fs.rmSync(aside, { force: true })
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/** `<pid>\n<identity>\n`, or a pid alone (the format before identities). */
function parse(text: string): { pid: number; identity: string } {
  const [pid = '', identity = ''] = text.split('\n')
  return { pid: Number.isSafeInteger(Number(pid)) && Number(pid) > 0 ? Number(pid) : 0, identity: identity.trim() }
}

function isAlive(holder: { pid: number; identity: string }): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    // EPERM: a process of another user has that pid; it exists.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const stat = procStat(holder.pid)
  if (stat === 'unknown') return true // no /proc (macOS): the signal check is all there is
  if (stat === 'gone') return false
  if (stat.state === 'Z' || stat.state === 'X') return false // exited, waiting for its parent to reap it
  // Another process has the pid now. A file without identity (older format) cannot tell: alive.
  return holder.identity === '' || holder.identity === `${bootId()}/${stat.startTime}`
}

/** Boot id and start time (Linux), which no later process with the same pid shares; null elsewhere. */
function identityOf(pid: number): string | null {
  const stat = procStat(pid)
  return typeof stat === 'object' ? `${bootId()}/${stat.startTime}` : null
}

let cachedBootId: string | undefined
function bootId(): string {
  cachedBootId ??= readText('/proc/sys/kernel/random/boot_id')?.trim() ?? ''
  return cachedBootId
}

/** A process's state letter and start time (clock ticks after boot) from /proc/<pid>/stat. */
function procStat(pid: number): { state: string; startTime: string } | 'gone' | 'unknown' {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return fs.existsSync('/proc/self/stat') ? 'gone' : 'unknown'
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // Fields 3 (state) and 22 (starttime) of proc(5), counted from the state.
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' }
}
