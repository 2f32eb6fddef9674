import type { Command } from 'commander'
import { CliError, EXIT } from '../exit-codes.ts'

type Credentials = () => { apiKey: string; baseURL: string }

/** `worken mcp`: the MCP server over stdio, for MCP clients that start it as a command. */
export function addMcpCommand(program: Command, credentials: Credentials): void {
  program
    .command('mcp')
    .description('Serve the Worken API as MCP tools over stdio (for Claude Desktop, Cursor, …)')
    .option('--toolsets <names>', 'comma-separated toolsets (OpenAPI tags such as bots,chats,threads); default: all')
    .option('--read-only', 'only tools that read')
    .option('--allow-destructive', 'also offer tools that delete (keys, bots, threads, …)')
    .action(async (options: { toolsets?: string; readOnly?: boolean; allowDestructive?: boolean }) => {
      const { apiKey, baseURL } = credentials()
      const { runStdio, StdioStartError } = await import('@worken/mcp')
      // Serves until the client closes stdin; the handle is not needed here.
      await runStdio({
        apiKey,
        baseUrl: baseURL,
        ...(options.toolsets ? { toolsets: options.toolsets.split(',').map((name) => name.trim()).filter(Boolean) } : {}),
        readOnly: options.readOnly === true,
        allowDestructive: options.allowDestructive === true,
      }).catch((err: unknown) => {
        throw err instanceof StdioStartError ? new CliError(err.message, err.exitCode === 2 ? EXIT.usage : EXIT.unavailable) : err
      })
    })
}
