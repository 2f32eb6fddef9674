// CPU time of processes, read from Linux's /proc: a server under test and its children, Postgres backends.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat's times (almost always 100). */
const TICKS_PER_SECOND = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(value) && value > 0 ? value : 100
  } catch {
    return 100
  }
})()

type Stat = { pid: number; ppid: number; comm: string; cpuMs: number; childrenCpuMs: number }

/** /proc/<pid>/stat, or null when the process is gone (or this is not Linux). */
export function readStat(pid: number): Stat | null {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after its last ')'.
  const close = text.lastIndexOf(')')
  const comm = text.slice(text.indexOf('(') + 1, close)
  const fields = text.slice(close + 2).split(' ')
  // After comm: [0] state, [1] ppid, … [11] utime, [12] stime, [13] cutime, [14] cstime (fields 14–17 of proc(5)).
  const tick = (index: number) => (Number(fields[index]) * 1000) / TICKS_PER_SECOND
  return { pid, ppid: Number(fields[1]), comm, cpuMs: tick(11) + tick(12), childrenCpuMs: tick(13) + tick(14) }
}

function allStats(): Stat[] {
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return []
  }
  const stats: Stat[] = []
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(Number(entry))
    if (stat) stats.push(stat)
  }
  return stats
}

/** The processes below `pid` (children, their children…), not `pid` itself. */
export function descendants(pid: number): Stat[] {
  const byParent = new Map<number, Stat[]>()
  for (const stat of allStats()) {
    const siblings = byParent.get(stat.ppid)
    if (siblings) siblings.push(stat)
    else byParent.set(stat.ppid, [stat])
  }
  const found: Stat[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child.pid)
    }
  }
  return found
}

/**
 * User + system CPU time, in ms, of `pid` and every process below it, plus what
 * their children that already ended used (cutime/cstime): the cost of a server
 * whether it runs in one process or forks workers. NaN when `pid` is gone.
 */
export function treeCpuMs(pid: number): number {
  const root = readStat(pid)
  if (!root) return Number.NaN
  return [root, ...descendants(pid)].reduce((sum, stat) => sum + stat.cpuMs + stat.childrenCpuMs, 0)
}

/** CPU time, in ms, of each of these processes that is still there (a process that ended is left out). */
export function cpuByPid(pids: readonly number[]): Map<number, number> {
  const times = new Map<number, number>()
  for (const pid of pids) {
    const stat = readStat(pid)
    if (stat) times.set(pid, stat.cpuMs)
  }
  return times
}
