import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import type { SQL } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { PgliteProxy } from './pglite-proxy.ts'

/** The one query-layer type every service uses, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT>

/** A single connection, for work that must stay on one session (advisory locks). */
export interface SqlSession {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>
  exec(text: string): Promise<void>
}

export interface DatabaseHandle {
  db: Database
  driver: 'pglite' | 'postgres'
  /**
   * The embedded database (pglite driver only), for libraries that must share it, such as pg-boss:
   * PGlite on its worker thread, behind a proxy with the part of PGlite's surface they use.
   */
  pglite?: PgliteProxy
  /**
   * A connection string that keeps session state (postgres driver only), for libraries that open
   * their own pool and LISTEN, such as pg-boss: `directUrl` when the handle has one, else `url`.
   */
  url?: string
  /** Runs `fn` on one dedicated connection. */
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>
  /** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>
  notify(channel: string, payload: string): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

export type OpenOptions =
  | {
      driver: 'pglite'
      dataDir?: string
      withVector?: boolean
      /** Starts from this dump (PGlite's `dumpDataDir`) instead of an empty cluster: the tests' migrated template. */
      loadDataDir?: Blob
      /** Hears of the database's worker thread stopping unexpectedly; every query fails from then on. */
      onError?: (error: Error) => void
    }
  | {
      driver: 'postgres'
      url: string
      poolSize?: number
      onError?: (error: Error) => void
      /**
       * Set when `url` is a transaction-mode pooler (PgBouncer): what needs one session throughout
       * (LISTEN, `withSession`'s advisory lock) connects here instead, and the pool's statements go
       * unnamed, since a named one is prepared on one server session that the next transaction may not get.
       */
      directUrl?: string
    }

/**
 * Runs a statement as a named prepared statement where the driver has them (node-postgres), so
 * that Postgres parses and plans it once per connection rather than on every call; elsewhere
 * (PGlite) as an ordinary one. For hot statements whose text never changes (parameters only):
 * the name carries a hash of the text, so a different text is a different statement. Through a
 * transaction-mode pooler the pool's clients send it unnamed (`UnnamedStatementClient`).
 */
export async function executePrepared(db: Database, name: string, query: SQL): Promise<void> {
  // drizzle keeps its session (and a transaction's client) on the instance; this is the one place that reaches in.
  const session = (db as unknown as { session?: { client?: unknown; dialect?: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } } } }).session
  const client = session?.client
  if (!(client instanceof pg.Client) || !session?.dialect) {
    await db.execute(query)
    return
  }
  const { sql: text, params } = session.dialect.sqlToQuery(query)
  await client.query({ name: `${name}_${createHash('sha1').update(text).digest('hex').slice(0, 12)}`, text, values: params })
}

export async function openDatabase(options: OpenOptions): Promise<DatabaseHandle> {
  return options.driver === 'pglite' ? openPglite(options) : openPostgres(options)
}

/**
 * PGlite runs on a worker thread (pglite-worker.ts), so that executing a query
 * never stalls the thread that serves requests; `client` is the main thread's
 * proxy to it (pglite-proxy.ts, docs/embedded-database.md).
 */
async function openPglite(options: { dataDir?: string; withVector?: boolean; loadDataDir?: Blob; onError?: (error: Error) => void }): Promise<DatabaseHandle> {
  if (options.dataDir) fs.mkdirSync(options.dataDir, { recursive: true })
  const client = await PgliteProxy.open({
    dataDir: options.dataDir ? path.join(options.dataDir, 'pgdata') : undefined,
    withVector: options.withVector !== false,
    loadDataDir: options.loadDataDir ? await options.loadDataDir.arrayBuffer() : undefined,
    onStop: options.onError,
  })
  const session: SqlSession = {
    async query(text, params) {
      return (await client.query(text, params)).rows as never
    },
    async exec(text) {
      await client.exec(text)
    },
  }
  // PGlite is one connection; its queries are serialised, so a "session" is the client itself.
  let queue: Promise<unknown> = Promise.resolve()
  return {
    // drizzle's pglite driver calls query (with identity parsers only) and transaction: the proxy has both.
    db: drizzlePglite(client as unknown as PGlite) as unknown as Database,
    driver: 'pglite',
    pglite: client,
    withSession(fn) {
      const run = queue.then(() => fn(session))
      queue = run.catch(() => undefined)
      return run
    },
    async listen(channel, onPayload) {
      const unsubscribe = await client.listen(channel, onPayload)
      return async () => unsubscribe()
    },
    async notify(channel, payload) {
      await client.query('select pg_notify($1, $2)', [channel, payload])
    },
    async ping() {
      await client.query('select 1')
    },
    async close() {
      await client.close()
    },
  }
}

/**
 * A client that sends every statement unnamed. drizzle's `.prepare(name)` makes pg name the
 * statement and send only Bind/Execute after its first use on a connection; through a
 * transaction-mode pooler that connection is a different server session each time, which never
 * prepared it ("prepared statement … does not exist"). Unnamed, each use is parsed again.
 */
class UnnamedStatementClient extends pg.Client {
  override query(...args: any[]): any {
    const [config] = args
    if (config !== null && typeof config === 'object' && typeof config.name === 'string' && typeof config.submit !== 'function') {
      const { name: _name, ...unnamed } = config
      args[0] = unnamed
    }
    return Reflect.apply(super.query, this, args)
  }
}

/** A connection of its own for session state: from the pool, or, past a pooler, straight to the database. */
type SessionConnection = { client: pg.ClientBase; release(error?: Error | boolean): void }

async function openPostgres(options: Extract<OpenOptions, { driver: 'postgres' }>): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, ...(options.directUrl ? { Client: UnnamedStatementClient } : {}) })
  // An idle client that loses its connection emits 'error' on the pool; without a
  // listener that would crash the process.
  pool.on('error', (error) => options.onError?.(error))
  const listeners = new Map<string, Set<(payload: string) => void>>()
  let listenClient: SessionConnection | undefined

  let closed = false

  async function openSession(): Promise<SessionConnection> {
    if (!options.directUrl) {
      const client = await pool.connect()
      return { client, release: (error) => client.release(error) }
    }
    const client = new pg.Client({ connectionString: options.directUrl })
    // Until the caller adds its own: an 'error' without a listener would end the process.
    const early = (error: Error) => options.onError?.(error)
    client.on('error', early)
    try {
      await client.connect()
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    return { client, release: () => void client.end().catch(() => {}) }
  }

  async function ensureListenClient(): Promise<SessionConnection> {
    if (listenClient) return listenClient
    const session = await openSession()
    const { client } = session
    client.on('notification', (message) => {
      for (const handler of listeners.get(message.channel) ?? []) handler(message.payload ?? '')
    })
    client.on('error', (error) => {
      // After close() the client is already back in the pool; a late error (the
      // server ending the session) must not release it a second time.
      if (listenClient !== session) return
      // A direct client already reported it through its early listener.
      if (!options.directUrl) options.onError?.(error)
      listenClient = undefined
      session.release(error)
      // Re-subscribe every channel on a fresh connection; notifications sent while
      // disconnected are lost, which is why consumers also keep short TTLs or replay.
      if (!closed) setTimeout(() => void resubscribe(), 1000).unref()
    })
    listenClient = session
    return session
  }

  async function resubscribe(): Promise<void> {
    try {
      const { client } = await ensureListenClient()
      for (const channel of listeners.keys()) await client.query(`listen ${quoteIdentifier(channel)}`)
    } catch (error) {
      options.onError?.(error as Error)
      if (!closed) setTimeout(() => void resubscribe(), 1000).unref()
    }
  }

  return {
    db: drizzlePostgres(pool) as unknown as Database,
    driver: 'postgres',
    url: options.directUrl ?? options.url,
    async withSession(fn) {
      const { client, release } = await openSession()
      try {
        return await fn({
          async query(text, params) {
            return (await client.query(text, params)).rows
          },
          async exec(text) {
            await client.query(text)
          },
        })
      } finally {
        release()
      }
    },
    async listen(channel, onPayload) {
      const { client } = await ensureListenClient()
      let handlers = listeners.get(channel)
      if (!handlers) {
        handlers = new Set()
        listeners.set(channel, handlers)
        await client.query(`listen ${quoteIdentifier(channel)}`)
      }
      handlers.add(onPayload)
      return async () => {
        handlers.delete(onPayload)
      }
    },
    async notify(channel, payload) {
      await pool.query('select pg_notify($1, $2)', [channel, payload])
    },
    async ping() {
      await pool.query('select 1')
    },
    async close() {
      closed = true
      const session = listenClient
      listenClient = undefined
      // Destroy rather than return the LISTEN connection: it holds subscriptions.
      session?.release(true)
      await pool.end()
    },
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
