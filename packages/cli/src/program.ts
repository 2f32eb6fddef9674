import { Command, CommanderError } from 'commander'
import { APIConnectionError, APIError, WorkenClient } from '@worken/sdk'
import { addChatCommand } from './commands/chat.ts'
import { addEventsCommand } from './commands/events.ts'
import { addKeysCommand } from './commands/keys.ts'
import { addLoginCommands } from './commands/login.ts'
import { addMcpCommand } from './commands/mcp.ts'
import { addServeCommand } from './commands/serve.ts'
import { addUploadCommand } from './commands/upload.ts'
import { resolveCredentials } from './credentials.ts'
import { CliError, EXIT } from './exit-codes.ts'
import { addOperationCommands, type CommandContext } from './operations.ts'

type GlobalFlags = { apiKey?: string; baseUrl?: string; profile?: string; json?: boolean; field?: string }

/** The whole `worken` command tree; `main.ts` runs it, tests inspect it. */
export function buildProgram(options: { signal: AbortSignal; stdin?: () => NodeJS.ReadStream }): Command {
  const program = new Command('worken')
    .description('The Worken API from the terminal. Key: --api-key, --profile, WORKEN_API_KEY, or `worken login`.')
    .version('0.1.0')
    .option('--api-key <key>', 'API key (else the profile, WORKEN_API_KEY, or the default profile)')
    .option('--base-url <url>', 'server URL (else the profile, WORKEN_BASE_URL, or http://127.0.0.1:8080)')
    .option('--profile <name>', 'a profile stored by `worken login --profile <name>` (or WORKEN_PROFILE)')
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--field <path>', 'print only this field of the answer (dotted path, e.g. id), for scripts')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  const globals = () => program.opts<GlobalFlags>()
  let client: WorkenClient | undefined
  const credentials = () => {
    const resolved = resolveCredentials(globals())
    if (!resolved.apiKey) throw new CliError('No API key: run `worken login`, or pass --api-key, or set WORKEN_API_KEY', EXIT.auth)
    return { apiKey: resolved.apiKey, baseURL: resolved.baseURL }
  }
  const context: CommandContext = {
    client: () => (client ??= new WorkenClient(credentials())),
    printer: () => ({ json: globals().json === true, out: process.stdout, ...(globals().field !== undefined ? { field: globals().field } : {}) }),
    signal: options.signal,
  }
  addLoginCommands(program, globals, options.stdin ?? (() => process.stdin))
  addOperationCommands(program, context)
  addUploadCommand(program, context)
  addChatCommand(program, context)
  addEventsCommand(program, context)
  addServeCommand(program)
  addKeysCommand(program)
  addMcpCommand(program, credentials)
  // Subcommands inherit the settings that make usage errors throw instead of exiting.
  const inherit = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().showHelpAfterError('(run with --help for usage)')
      inherit(sub)
    }
  }
  inherit(program)
  return program
}

/** Runs `worken <args>` and returns the exit code; messages go to stderr. */
export async function run(argv: string[], signal: AbortSignal): Promise<number> {
  const program = buildProgram({ signal })
  try {
    await program.parseAsync(argv, { from: 'user' })
    // A feed or a chat that Ctrl-C ended returns quietly; the shell still learns it was interrupted.
    if (signal.aborted) return EXIT.interrupted
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (err) {
    return report(err, signal)
  }
}

function report(err: unknown, signal: AbortSignal): number {
  if (err instanceof CommanderError) {
    // Help and version "errors" are successes; commander already printed the message.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
  if (signal.aborted) return EXIT.interrupted
  if (err instanceof CliError) {
    process.stderr.write(`worken: ${err.message}\n`)
    return err.exitCode
  }
  if (err instanceof APIError) {
    process.stderr.write(`worken: ${err.message}${err.status === undefined ? '' : err.code ? ` (${err.status} ${err.code})` : ` (${err.status})`}\n`)
    if (err.status === undefined) return EXIT.failed
    if (err.status === 401 || err.status === 403) return EXIT.auth
    if (err.status === 404) return EXIT.notFound
    if (err.status >= 500) return EXIT.unavailable
    return EXIT.failed
  }
  if (err instanceof APIConnectionError) {
    process.stderr.write(`worken: ${err.message}\n`)
    return EXIT.unavailable
  }
  process.stderr.write(`worken: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  return EXIT.failed
}
