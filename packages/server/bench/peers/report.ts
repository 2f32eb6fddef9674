// The tables of bench/peers.ts: one per round, and a summary with each figure's range over the rounds.
import { percentile } from '../common.ts'
import type { Sample } from './protocol.ts'

/** One target in one round: measured, skipped (with why), or failed (with the error). */
export type TargetRun = {
  label: string
  skipped?: string
  failed?: string
  samples: Sample[]
  wallMs: number
  /** CPU of the server under test (its process and children), ms over the measured window; NaN if not measured. */
  serverCpuMs: number
  /** Postgres only: the database's backends' CPU, WAL bytes (server-wide) and committed transactions. */
  pg?: { backendCpuMs: number; walBytes: number; xacts: number }
  /** The most messages one request to the model carried (history + instruction + the new message). */
  maxModelMessages: number
  /** The load generator's longest event-loop stall. */
  loadStallMs: number
}

export type Figures = {
  streams: number
  errors: number
  ttft50: number
  ttft99: number
  total50: number
  total99: number
  perSecond: number
  cpuPerReply: number
  pgCpuPerReply: number
  walPerReply: number
  xactsPerReply: number
}

export function figures(run: TargetRun): Figures {
  const ok = run.samples.filter((s) => s.ok && s.ttft !== null)
  const sorted = (values: number[]) => values.sort((a, b) => a - b)
  const ttft = sorted(ok.map((s) => s.ttft!))
  const total = sorted(ok.map((s) => s.total))
  const replies = ok.length
  const per = (value: number | undefined) => (value === undefined || replies === 0 ? Number.NaN : value / replies)
  return {
    streams: run.samples.length,
    errors: run.samples.length - ok.length,
    ttft50: percentile(ttft, 50),
    ttft99: percentile(ttft, 99),
    total50: percentile(total, 50),
    total99: percentile(total, 99),
    perSecond: run.wallMs > 0 ? replies / (run.wallMs / 1000) : Number.NaN,
    cpuPerReply: per(run.serverCpuMs),
    pgCpuPerReply: per(run.pg?.backendCpuMs),
    walPerReply: per(run.pg?.walBytes),
    xactsPerReply: per(run.pg?.xacts),
  }
}

const ms = (value: number) => (!Number.isFinite(value) ? '–' : value >= 100 ? value.toFixed(0) : value.toFixed(1))
const cpu = (value: number) => (!Number.isFinite(value) ? '–' : value.toFixed(2))
const bytes = (value: number) => (!Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US'))
const rate = (value: number) => (!Number.isFinite(value) ? '–' : value.toFixed(0))
const count = (value: number) => (!Number.isFinite(value) ? '–' : value.toFixed(1))

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => `| ${header.map((_, i) => (i === 0 ? (cells[i] ?? '').padEnd(widths[i]!) : (cells[i] ?? '').padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

const ROUND_HEADER = ['target', 'streams', 'errors', 'TTFT p50 (ms)', 'TTFT p99 (ms)', 'total p50 (ms)', 'total p99 (ms)', 'streams/s', 'server CPU / reply (ms)', 'Postgres backends CPU / reply (ms)', 'WAL / reply (bytes)', 'transactions / reply', 'max messages to the model']

/** A row for a target that was not measured; why is said under the table (see notes). */
const unmeasured = (label: string, what: string) => [label, what, ...ROUND_HEADER.slice(2).map(() => '–')]

/** Why targets were skipped or failed, one line each, for under a table. */
export function notes(runs: TargetRun[]): string[] {
  const seen = new Set<string>()
  const lines: string[] = []
  for (const run of runs) {
    const why = run.skipped ? `skipped: ${run.skipped}` : run.failed ? `failed: ${run.failed.split('\n')[0]!.slice(0, 300)}` : undefined
    const line = why && `${run.label}: ${why}`
    if (line && !seen.has(line)) {
      seen.add(line)
      lines.push(line)
    }
  }
  return lines
}

export function roundTable(runs: TargetRun[]): string {
  const rows = runs.map((run) => {
    if (run.skipped) return unmeasured(run.label, 'skipped')
    if (run.failed) return unmeasured(run.label, 'failed')
    const f = figures(run)
    return [run.label, String(f.streams), String(f.errors), ms(f.ttft50), ms(f.ttft99), ms(f.total50), ms(f.total99), rate(f.perSecond), cpu(f.cpuPerReply), cpu(f.pgCpuPerReply), bytes(f.walPerReply), count(f.xactsPerReply), String(run.maxModelMessages)]
  })
  return table(ROUND_HEADER, rows)
}

/** `a–b` over the rounds, or one value when they agree once formatted. */
function range(values: number[], format: (value: number) => string): string {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return '–'
  const low = format(Math.min(...finite))
  const high = format(Math.max(...finite))
  return low === high ? low : `${low}–${high}`
}

export function summaryTable(labels: string[], rounds: TargetRun[][]): string {
  const rows = labels.map((label) => {
    const runs = rounds.map((round) => round.find((run) => run.label === label)).filter((run): run is TargetRun => run !== undefined)
    const measured = runs.filter((run) => !run.skipped && !run.failed)
    if (measured.length === 0) return [label, `0/${runs.length}`, ...Array.from({ length: 10 }, () => '–')]
    const all = measured.map(figures)
    const pick = (key: keyof Figures, format: (value: number) => string) => range(all.map((f) => f[key]), format)
    return [
      label,
      `${measured.length}/${runs.length}`,
      String(all.reduce((sum, f) => sum + f.errors, 0)),
      pick('ttft50', ms), pick('ttft99', ms), pick('total50', ms), pick('total99', ms), pick('perSecond', rate),
      pick('cpuPerReply', cpu), pick('pgCpuPerReply', cpu), pick('walPerReply', bytes), pick('xactsPerReply', count),
    ]
  })
  return table(['target', 'rounds', 'errors', 'TTFT p50 (ms)', 'TTFT p99 (ms)', 'total p50 (ms)', 'total p99 (ms)', 'streams/s', 'server CPU / reply (ms)', 'Postgres backends CPU / reply (ms)', 'WAL / reply (bytes)', 'transactions / reply'], rows)
}
