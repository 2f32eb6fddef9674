import type { Command } from 'commander'
import type { CommandContext } from '../operations.ts'
import { printStreamEvent } from '../stream-output.ts'

/**
 * `worken events [thread_id]`: tails the live feed, resuming after a cut
 * connection by `Last-Event-ID` (the SDK does), until Ctrl-C.
 */
export function addEventsCommand(program: Command, context: CommandContext): void {
  program
    .command('events')
    .description('Tail the live events of every thread, or of one; resumes by Last-Event-ID after a cut connection; Ctrl-C stops')
    .argument('[thread_id]')
    .option('--last-event-id <id>', 'replay from after this event id (0: from the start)')
    .action(async (threadId: string | undefined, options: { lastEventId?: string }) => {
      const client = context.client()
      const printer = context.printer()
      const feedOptions = { signal: context.signal, ...(options.lastEventId !== undefined ? { lastEventId: options.lastEventId } : {}) }
      const events = threadId ? client.threads.events(threadId, feedOptions) : client.threads.events(feedOptions)
      for await (const event of events) printStreamEvent(printer, event)
    })
}
