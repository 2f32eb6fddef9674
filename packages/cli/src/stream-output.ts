import type { Printer } from './output.ts'

type StreamEvent = { type?: string; textDelta?: string; toolName?: string; finishReason?: string; message?: string; [key: string]: unknown }

/**
 * One event of a reply stream or of the live feed: with `--json`, one JSON
 * line per event as it arrives (for `jq --unbuffered`); for people, the reply's
 * text as it is generated and a short line for anything else.
 */
export function printStreamEvent(printer: Printer, value: unknown): void {
  if (printer.json) {
    printer.out.write(`${JSON.stringify(value)}\n`)
    return
  }
  const event = (value ?? {}) as StreamEvent
  switch (event.type) {
    case 'text-delta':
      printer.out.write(event.textDelta ?? '')
      return
    case 'finish':
      printer.out.write('\n')
      return
    case 'tool-call':
      printer.out.write(`\n[tool ${event.toolName}]\n`)
      return
    case 'tool-result':
      return
    default:
      printer.out.write(`${describe(event)}\n`)
  }
}

/** A live-feed event or an unusual stream event, in one line. */
export function describe(event: StreamEvent): string {
  const parts = Object.entries(event)
    .filter(([, value]) => value !== null && value !== undefined && typeof value !== 'object')
    .map(([key, value]) => `${key}=${String(value)}`)
  return parts.join(' ')
}
