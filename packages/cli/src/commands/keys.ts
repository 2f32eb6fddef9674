import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Command } from 'commander'

/**
 * `worken keys create`: mints a key straight in the database (no server, no
 * key needed), for when the first key is lost. It is the server package's own
 * tool (`packages/server/src/cli.ts`), run with this process's environment.
 */
export function addKeysCommand(program: Command): void {
  program
    .command('keys')
    .description('Administration on the database itself (no API key needed)')
    .command('create')
    .description('Mint an API key for a project in the database the server uses (WORKEN_DATA_DIR or DATABASE_URL) and print it once')
    .option('--project <id>', 'the project (default: the only one)')
    .option('--name <name>', 'the key\'s name (default: cli)')
    .action(async (options: { project?: string; name?: string }) => {
      const require = createRequire(import.meta.url)
      const tool = path.join(path.dirname(require.resolve('@worken/server/package.json')), 'src', 'cli.ts')
      const args = ['keys', 'create', ...(options.project ? ['--project', options.project] : []), ...(options.name ? ['--name', options.name] : [])]
      const child = spawn(process.execPath, [tool, ...args], { stdio: 'inherit' })
      const code = await new Promise<number>((resolve) => child.once('close', (exitCode) => resolve(exitCode ?? 1)))
      process.exitCode = code
    })
}
