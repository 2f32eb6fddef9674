import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Command } from 'commander'

/**
 * `worken serve`: the server itself, in this process, configured by the same
 * environment variables as `npm start` (PORT, DATABASE_URL, …; see the
 * repository README). The flags are shorthands for the common ones.
 */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the Worken server (the embedded database by default; DATABASE_URL for Postgres)')
    .option('--port <port>', 'port of the public API (PORT)')
    .option('--host <host>', 'interface of the public API (HOST)')
    .option('--data-dir <dir>', 'where the embedded database keeps its files (WORKEN_DATA_DIR)')
    .action(async (options: { port?: string; host?: string; dataDir?: string }) => {
      if (options.port !== undefined) process.env.PORT = options.port
      if (options.host !== undefined) process.env.HOST = options.host
      if (options.dataDir !== undefined) process.env.WORKEN_DATA_DIR = options.dataDir
      const require = createRequire(import.meta.url)
      const main = path.join(path.dirname(require.resolve('@worken/server/package.json')), 'src', 'main.ts')
      // The server installs its own signal handlers and exits when it stops.
      await import(pathToFileURL(main).href)
      await new Promise(() => {})
    })
}
