/**
 * How answers are printed: `--json` gives the API's JSON as it came (one
 * document, or one line per event for streams), for scripts and `jq`; otherwise
 * tables for lists and aligned fields for one object, for people.
 */

export type Printer = { json: boolean; out: NodeJS.WritableStream; /** `--field`: print only this (dotted) field of the answer. */ field?: string }

export function print(printer: Printer, value: unknown): void {
  if (printer.field !== undefined) {
    const picked = printer.field.split('.').reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), value)
    printer.out.write(`${picked === undefined || picked === null ? '' : typeof picked === 'object' ? JSON.stringify(picked) : String(picked)}\n`)
    return
  }
  if (printer.json) {
    printer.out.write(`${JSON.stringify(value, null, 2)}\n`)
    return
  }
  const rows = listOf(value)
  if (rows) {
    printer.out.write(rows.length === 0 ? '(none)\n' : table(rows))
    return
  }
  if (value && typeof value === 'object') {
    printer.out.write(fields(value as Record<string, unknown>))
    return
  }
  printer.out.write(`${String(value)}\n`)
}

/** A list answer: a bare array, or `{ data: [...] }` (cursor lists, OpenAI-style lists). */
function listOf(value: unknown): Record<string, unknown>[] | undefined {
  const items = Array.isArray(value) ? value : value && typeof value === 'object' && Array.isArray((value as { data?: unknown }).data) ? (value as { data: unknown[] }).data : undefined
  if (!items) return undefined
  return items.map((item) => (item && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : { value: item }))
}

/** Columns people look for first; others follow in the order the API gives them, up to a width. */
const PREFERRED = ['id', 'name', 'title', 'status', 'mode', 'type', 'role', 'bot_id', 'chat_id', 'thread_id', 'filename', 'url', 'content', 'created_at']
const MAX_COLUMNS = 6
const MAX_CELL = 40

export function table(rows: Record<string, unknown>[]): string {
  const present = new Set(rows.flatMap((row) => Object.keys(row).filter((key) => isScalar(row[key]))))
  const columns = [...PREFERRED.filter((key) => present.has(key)), ...[...present].filter((key) => !PREFERRED.includes(key))].slice(0, MAX_COLUMNS)
  const cells = rows.map((row) => columns.map((column) => cell(row[column])))
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((row) => row[index]!.length)))
  const line = (values: string[]) => values.map((value, index) => value.padEnd(widths[index]!)).join('  ').trimEnd()
  return [line(columns.map((column) => column.toUpperCase())), ...cells.map(line)].join('\n') + '\n'
}

function fields(object: Record<string, unknown>): string {
  const keys = Object.keys(object)
  const width = Math.max(0, ...keys.map((key) => key.length))
  return keys.map((key) => `${key.padEnd(width)}  ${isScalar(object[key]) ? String(object[key] ?? '') : JSON.stringify(object[key])}`).join('\n') + '\n'
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}

function cell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value).replace(/\s+/g, ' ')
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text
}
