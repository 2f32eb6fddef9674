import readline from 'node:readline'
import type { Command } from 'commander'
import type { CommandContext } from '../operations.ts'
import { APIError } from '@worken/sdk'

/**
 * `worken chat <chat_id> [thread_id]`: a conversation in the terminal. Each
 * line is sent as the user's message and the reply is printed as it is
 * generated. With stdin from a pipe it answers each line and exits at the end.
 */
export function addChatCommand(program: Command, context: CommandContext): void {
  program
    .command('chat')
    .description('Talk to a chat\'s bot in the terminal; the reply streams as it is generated')
    .argument('<chat_id>')
    .argument('[thread_id]', 'the thread to continue or start (default: a new one)')
    .action(async (chatId: string, threadId: string | undefined) => {
      const client = context.client()
      const thread = threadId ?? `cli-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`
      const interactive = process.stdin.isTTY === true
      const out = process.stdout
      process.stderr.write(`Thread ${thread}. ${interactive ? 'Type a message and press Enter; Ctrl-D leaves.' : ''}\n`)
      const lines = readline.createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive })
      const ask = () => {
        if (interactive) lines.prompt()
      }
      lines.setPrompt('you> ')
      ask()
      for await (const line of lines) {
        const text = line.trim()
        if (!text) {
          ask()
          continue
        }
        try {
          const stream = await client.chats.threads.stream(chatId, thread, { messages: [{ role: 'user', content: text }] }, { signal: context.signal })
          if (stream.accepted) {
            // 202: stored, but the thread is not in auto mode (an operator answers) or the reply is scheduled.
            process.stderr.write('(message stored; no AI reply now: the thread is not in auto mode, or the reply is scheduled)\n')
          } else {
            out.write('bot> ')
            for await (const event of stream) {
              if (event.type === 'text-delta') out.write(event.textDelta)
            }
            out.write('\n')
          }
        } catch (err) {
          if (!interactive || !(err instanceof APIError)) throw err
          process.stderr.write(`\n${err.message}\n`)
        }
        ask()
      }
      if (interactive) out.write('\n')
    })
}
