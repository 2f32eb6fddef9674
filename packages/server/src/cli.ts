import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { ApiKeyService } from './modules/projects/api-keys.ts'
import { createOwnerKey } from './modules/projects/owner-key.ts'
import { openDatabase, type DatabaseHandle } from './platform/db/client.ts'
import { DataDirInUseError, lockDataDir } from './platform/db/data-dir-lock.ts'
import { migrate } from './platform/db/migrate.ts'
import { AppError } from './platform/errors.ts'
import { nameField } from './platform/http/fields.ts'

const USAGE = `Usage: npm run worken -- keys create [--project <prj_…>] [--name <name>]

  keys create   Mint a new API key for a project, on behalf of its organization's owner,
                and print it once. For when the first key is lost. It reads the same
                environment as the server (WORKEN_DATA_DIR or DATABASE_URL).
                --project  the project (default: the only one; with several, it is required)
                --name     the key's name (default: cli)
`

/** A refusal the user can act on: printed as is, exit code 1 (2 for a usage error). */
class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { project: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return
  }
  if (positionals.join(' ') !== 'keys create') throw new CliError(USAGE, 2)
  const name = nameField().safeParse(values.name ?? 'cli')
  if (!name.success) throw new CliError(`--name ${name.error.issues[0]?.message ?? 'is not valid'}`, 2)
  if (values.project !== undefined && !/^prj_[0-9a-z]+$/.test(values.project)) throw new CliError(`--project must be a project id (prj_…), not '${values.project}'`, 2)

  // Secrets at rest are not touched here, so DATABASE_URL does not need WORKEN_ENCRYPTION_KEY.
  const config = loadConfig(process.env, { requireEncryptionKey: false, listens: false })
  await withDatabase(config, async (database) => {
    const apiKeys = new ApiKeyService(database, pino({ level: 'silent' }))
    const { project, apiKey } = await createOwnerKey(database.db, apiKeys, { projectId: values.project, name: name.data })
    const lines = [
      '',
      `  API key '${apiKey.name}' (${apiKey.id}) created for project ${project.id} (${project.name}).`,
      '  It is shown once; store it now:',
      '',
      `    ${apiKey.key}`,
      '',
    ]
    if (config.port !== 0) {
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host
      lines.push('  Try it (with the server running):', `    curl http://${host}:${config.port}/bots -H "Authorization: Bearer ${apiKey.key}"`, '')
    }
    process.stdout.write(`${lines.join('\n')}\n`)
  })
}

/** Opens the server's database as the server would, holding the PGlite data directory for the duration. */
async function withDatabase(config: Config, work: (database: DatabaseHandle) => Promise<void>): Promise<void> {
  let release = () => {}
  if (!config.databaseUrl) {
    // Opening a PGlite directory creates a database there; a typo in WORKEN_DATA_DIR must not.
    if (!fs.existsSync(path.join(config.dataDir, 'pgdata', 'PG_VERSION'))) {
      throw new CliError(`There is no Worken database in ${config.dataDir} (WORKEN_DATA_DIR). Set WORKEN_DATA_DIR to the server's data directory, or start the server once to create it.`)
    }
    try {
      release = await lockDataDir(config.dataDir)
    } catch (error) {
      if (!(error instanceof DataDirInUseError)) throw error
      throw new CliError(
        `The data directory ${config.dataDir} is in use by process ${error.holder} (a running server); an embedded database serves one process at a time.\n` +
          'Stop the server and run this again, or, while it runs, create a key with one you have: POST /projects/<id>/api-keys.',
      )
    }
  }
  let database: DatabaseHandle | undefined
  try {
    database = config.databaseUrl
      ? await openDatabase({ driver: 'postgres', url: config.databaseUrl, directUrl: config.databaseDirectUrl, poolSize: 1 })
      : await openDatabase({ driver: 'pglite', dataDir: config.dataDir })
    // The same schema the server would run on; a no-op when the server already migrated it.
    await migrate(database)
    await work(database)
  } finally {
    await database?.close()
    release()
  }
}

try {
  await main(process.argv.slice(2))
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`${error.message.trimEnd()}\n`)
    process.exitCode = error.exitCode
  } else if (error instanceof ConfigError || error instanceof AppError) {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 1
  } else if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${error.message}\n\n${USAGE}`)
    process.exitCode = 2
  } else {
    throw error
  }
}
