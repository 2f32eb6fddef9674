import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/client.ts'
import { migrate } from '../../src/platform/db/migrate.ts'

/**
 * Migrated template databases, so that a test file copies a database instead of
 * building one. Starting PGlite on an empty directory runs initdb (2-4 s of WASM
 * per database on a 2-core machine); loading a dump of an initialised, migrated
 * one takes under a second. On Postgres, `CREATE DATABASE … TEMPLATE` copies one.
 *
 * Templates are keyed by a hash of what makes them: the migrations, the migration
 * runner, this file and the PGlite versions. A change to any of them makes a new
 * template on the next run; `sweepStaleTemplates` (the global setup) removes the
 * ones that no run used for a day.
 */

const SERVER_ROOT = path.join(import.meta.dirname, '../..')
const PREFIX = 'worken-test-template'
/** Templates not used for this long are removed by the sweep. */
const STALE_AFTER_MS = 24 * 3600_000

let cachedKey: string | undefined

/** The hash that names this checkout's templates. */
export function templateKey(): string {
  if (cachedKey) return cachedKey
  const hash = createHash('sha256')
  const migrations = path.join(SERVER_ROOT, 'drizzle')
  for (const file of fs.readdirSync(migrations).filter((name) => name.endsWith('.sql')).sort()) {
    hash.update(file).update(fs.readFileSync(path.join(migrations, file)))
  }
  hash.update(fs.readFileSync(path.join(SERVER_ROOT, 'src/platform/db/migrate.ts')))
  // This file: how templates are made and laid out.
  hash.update(fs.readFileSync(import.meta.filename))
  const require = createRequire(path.join(SERVER_ROOT, 'package.json'))
  for (const name of ['@electric-sql/pglite', '@electric-sql/pglite-pgvector']) {
    const entry = require.resolve(name)
    const manifest = path.join(entry.slice(0, entry.lastIndexOf(`${name}/`) + name.length + 1), 'package.json')
    hash.update(`${name}@${JSON.parse(fs.readFileSync(manifest, 'utf8')).version}`)
  }
  cachedKey = hash.digest('hex').slice(0, 16)
  return cachedKey
}

export type PgliteTemplate = {
  /** A data directory (`<dir>/pgdata`, as WORKEN_DATA_DIR has it) to copy for a server process. */
  dataDir: string
  /** The same database as an uncompressed tar, for PGlite's `loadDataDir`. */
  tarFile: string
  /** The cluster as initdb left it, before any migration: a data directory and a tar. */
  emptyDataDir: string
  emptyTarFile: string
}

/** The PGlite templates under os.tmpdir(), made on first use. */
export async function pgliteTemplate(): Promise<PgliteTemplate> {
  const root = path.join(os.tmpdir(), `${PREFIX}-${templateKey()}`)
  const template = {
    dataDir: path.join(root, 'data'),
    tarFile: path.join(root, 'pgdata.tar'),
    emptyDataDir: path.join(root, 'empty'),
    emptyTarFile: path.join(root, 'empty.tar'),
  }
  if (fs.existsSync(root)) return template
  // Built beside the final place and renamed into it: a directory that exists is complete.
  const building = `${root}.building-${process.pid}-${randomBytes(4).toString('hex')}`
  const inBuilding = (file: string) => path.join(building, path.relative(root, file))
  try {
    const dump = async (handle: DatabaseHandle, tarFile: string) => {
      await handle.pglite!.exec('checkpoint')
      const tar = await handle.pglite!.dumpDataDir('none')
      fs.writeFileSync(inBuilding(tarFile), Buffer.from(await tar.arrayBuffer()))
    }
    const empty = await openDatabase({ driver: 'pglite', dataDir: inBuilding(template.emptyDataDir) })
    try {
      await dump(empty, template.emptyTarFile)
    } finally {
      await empty.close()
    }
    fs.cpSync(inBuilding(template.emptyDataDir), inBuilding(template.dataDir), { recursive: true })
    const handle = await openDatabase({ driver: 'pglite', dataDir: inBuilding(template.dataDir) })
    try {
      await migrate(handle)
      await dump(handle, template.tarFile)
    } finally {
      await handle.close()
    }
    try {
      fs.renameSync(building, root)
    } catch (error) {
      // Another process finished first: use its template.
      if (!fs.existsSync(root)) throw error
    }
  } finally {
    fs.rmSync(building, { recursive: true, force: true })
  }
  return template
}

/** A template as a Blob for `openDatabase({ driver: 'pglite', loadDataDir })`: migrated, or as initdb left it. */
export async function pgliteTemplateBlob(kind: 'migrated' | 'empty' = 'migrated'): Promise<Blob> {
  const template = await pgliteTemplate()
  return new Blob([fs.readFileSync(kind === 'migrated' ? template.tarFile : template.emptyTarFile)])
}

/** A new data directory (WORKEN_DATA_DIR) holding a copy of a template: migrated, or as initdb left it. */
export async function templateDataDir(prefix: string, kind: 'migrated' | 'empty' = 'migrated'): Promise<string> {
  const template = await pgliteTemplate()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
  fs.cpSync(kind === 'migrated' ? template.dataDir : template.emptyDataDir, dir, { recursive: true })
  return dir
}

/** A new data directory for a server process (WORKEN_DATA_DIR), holding a copy of the migrated template. */
export function migratedDataDir(prefix: string): Promise<string> {
  return templateDataDir(prefix, 'migrated')
}

/** The migrated template database on the Postgres server of `serverUrl`, made on first use. */
export async function postgresTemplate(serverUrl: string): Promise<string> {
  const name = `${PREFIX.replaceAll('-', '_')}_${templateKey()}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    // One builder at a time per server; the others wait here, then find it made.
    const lock = Number.parseInt(templateKey().slice(0, 8), 16)
    await admin.query('select pg_advisory_lock($1)', [lock])
    try {
      if ((await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount! > 0) return name
      const building = `${name}_building`
      await admin.query(`drop database if exists ${building} with (force)`)
      await admin.query(`create database ${building}`)
      const url = new URL(serverUrl)
      url.pathname = `/${building}`
      const handle = await openDatabase({ driver: 'postgres', url: url.toString(), poolSize: 1 })
      try {
        await migrate(handle)
      } finally {
        await handle.close()
      }
      // Nobody connects to a template (autovacuum included): a copy fails while anyone is connected.
      await admin.query(`alter database ${building} with allow_connections false is_template true`)
      await admin.query(`alter database ${building} rename to ${name}`)
      await admin.query(`comment on database ${name} is '${new Date().toISOString()}'`)
      return name
    } finally {
      await admin.query('select pg_advisory_unlock($1)', [lock])
    }
  } finally {
    await admin.end()
  }
}

/**
 * Marks this checkout's templates as used now and removes other keys' templates
 * that nobody used for a day (other branches may share the machine and the server).
 */
export async function sweepStaleTemplates(serverUrl: string | undefined): Promise<void> {
  const key = templateKey()
  const now = new Date()
  const mine = path.join(os.tmpdir(), `${PREFIX}-${key}`)
  if (fs.existsSync(mine)) fs.utimesSync(mine, now, now)
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(`${PREFIX}-`) || entry === path.basename(mine)) continue
    const full = path.join(os.tmpdir(), entry)
    try {
      if (now.getTime() - fs.statSync(full).mtimeMs > STALE_AFTER_MS) fs.rmSync(full, { recursive: true, force: true })
    } catch {
      // Removed meanwhile by another run.
    }
  }
  if (!serverUrl) return
  const prefix = PREFIX.replaceAll('-', '_')
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    await admin.query(`comment on database ${prefix}_${key} is '${now.toISOString()}'`)
    const others = await admin.query<{ datname: string; used: string | null }>(
      "select datname, shobj_description(oid, 'pg_database') as used from pg_database where datname like $1 and datname <> $2",
      [`${prefix}\\_%`, `${prefix}_${key}`],
    )
    for (const { datname, used } of others.rows) {
      const usedAt = Date.parse(used ?? '')
      if (datname.endsWith('_building') || (Number.isFinite(usedAt) && now.getTime() - usedAt < STALE_AFTER_MS)) continue
      await admin.query(`alter database ${datname} is_template false`)
      await admin.query(`drop database if exists ${datname} with (force)`)
    }
  } finally {
    await admin.end()
  }
}
