import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { sql } from 'drizzle-orm'
import type { DatabaseHandle } from './client.ts'

const MIGRATIONS_DIR = new URL('../../../drizzle/', import.meta.url)
/** Arbitrary constant: the advisory lock every Worken process takes to migrate. */
const MIGRATION_LOCK = 727_100_001

/**
 * Tables that need pgvector. They are created on every start where the
 * extension exists (idempotently), so a server that gains pgvector later gets
 * them too; drizzle-kit's snapshot knows them from src/db/schema.ts.
 */
const VECTOR_TABLES = `
  create table if not exists message_embeddings (
    message_seq bigint primary key references messages(seq) on delete cascade,
    project_id text not null,
    thread_id text not null,
    model text not null,
    embedding vector not null
  );
  create index if not exists message_embeddings_thread_idx on message_embeddings (project_id, thread_id);
  create table if not exists vector_store_chunk_embeddings (
    chunk_id bigint primary key references vector_store_chunks(id) on delete cascade,
    vector_store_id text not null,
    file_id text not null,
    model text not null,
    embedding vector not null
  );
  create index if not exists vector_store_chunk_embeddings_store_idx on vector_store_chunk_embeddings (vector_store_id, model);
`

export type MigrationResult = { applied: string[]; vector: boolean }

/** What a server says at start when `vector` is false. */
export const WITHOUT_VECTOR = 'pgvector is not available on this database: semantic recall and vector search are off; knowledge-base search uses full-text only'

type Migration = { name: string; sql: string; checksum: string }

function readMigrations(): Migration[] {
  return fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8')
      return { name: file.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') }
    })
}

/**
 * Applies the committed SQL migrations that this database has not seen, in order,
 * each in its own transaction. A session-level advisory lock makes concurrent
 * start-ups on one Postgres safe: the second process waits, then finds nothing to do.
 */
export async function migrate(handle: DatabaseHandle, log: (message: string) => void = () => {}): Promise<MigrationResult> {
  const migrations = readMigrations()
  return handle.withSession(async (session) => {
    await session.query('select pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await session.exec(`create table if not exists worken_migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`)
      const vector = await tryEnableVector(session)
      const done = new Map(
        (await session.query<{ name: string; checksum: string }>('select name, checksum from worken_migrations')).map((row) => [row.name, row.checksum]),
      )
      const applied: string[] = []
      for (const migration of migrations) {
        const seen = done.get(migration.name)
        if (seen !== undefined) {
          if (seen !== migration.checksum) log(`migration ${migration.name} changed after it was applied; the database keeps the old version`)
          continue
        }
        await session.exec('begin')
        try {
          await session.exec(migration.sql.replaceAll('--> statement-breakpoint', ''))
          await session.query('insert into worken_migrations (name, checksum) values ($1, $2)', [migration.name, migration.checksum])
          await session.exec('commit')
        } catch (error) {
          await session.exec('rollback')
          throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error })
        }
        applied.push(migration.name)
      }
      if (vector) await session.exec(VECTOR_TABLES)
      return { applied, vector }
    } finally {
      await session.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK])
    }
  })
}

/**
 * What `migrate` would say of pgvector, without migrating: for a process whose database another
 * migrated just before (a cluster's worker, after its primary). `migrate` created the extension
 * exactly when it could, so it is on when the extension is there.
 */
export async function vectorEnabled(handle: DatabaseHandle): Promise<boolean> {
  const result = (await handle.db.execute(sql`select 1 from pg_extension where extname = 'vector'`)) as unknown as { rows: unknown[] }
  return result.rows.length > 0
}

/** pgvector is optional: Debian's Postgres, for one, ships without it. */
async function tryEnableVector(session: import('./client.ts').SqlSession): Promise<boolean> {
  const available = await session.query("select 1 from pg_available_extensions where name = 'vector'")
  if (available.length === 0) return false
  try {
    await session.exec('create extension if not exists vector')
    return true
  } catch {
    return false
  }
}
