/**
 * The messages between the main thread (pglite-proxy.ts) and the worker that owns
 * PGlite (pglite-worker.ts). Every request carries an id and gets exactly one
 * reply with that id; notifications are the only unrequested messages. A port
 * delivers in order, so replies and notifications arrive as the worker sent them.
 */

export type WorkerOptions = {
  /** PGlite's data directory; none: in memory. */
  dataDir?: string
  withVector: boolean
  /** A `dumpDataDir` tarball to start from, transferred (not copied) to the worker. */
  loadDataDir?: ArrayBuffer
}

export type RowMode = 'array' | 'object'

export type Request =
  /** `rawOids`: the types whose parser is the identity (the value stays Postgres's text); see pglite-proxy.ts. */
  | { id: number; op: 'query'; text: string; params: unknown[] | undefined; rowMode: RowMode | undefined; rawOids: number[] | undefined; paramTypes: number[] | undefined; tx: number | undefined }
  | { id: number; op: 'exec'; text: string; tx: number | undefined }
  /** Opens a transaction; the reply (its number) comes once BEGIN has run and the worker serves its statements. */
  | { id: number; op: 'begin' }
  /** Ends transaction `tx`: COMMIT (unless rolled back already) or ROLLBACK; the reply is the outcome. */
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'rollback'; tx: number }
  /** LISTEN on `channel`; its notifications come tagged with `subscription`. */
  | { id: number; op: 'listen'; channel: string; subscription: number }
  | { id: number; op: 'unlisten'; subscription: number }
  | { id: number; op: 'dump'; compression: 'none' | 'gzip' | 'auto' | undefined }
  | { id: number; op: 'close' }

export type WireError = {
  message: string
  stack: string | undefined
  /** Set when the error was PGlite's DatabaseError (a Postgres error): its fields, for DATABASE_ERROR_FIELDS. */
  database: Record<string, string | number | undefined> | undefined
  /** What PGlite attached to the error: the statement and its parameters. */
  query: string | undefined
  params: unknown[] | undefined
}

export type Message =
  | { kind: 'ready' }
  | { kind: 'failed'; error: WireError }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: WireError }
  | { kind: 'notification'; subscription: number; payload: string }

/** The fields of PGlite's DatabaseError (as of pg-protocol's), copied across the thread. */
export const DATABASE_ERROR_FIELDS = [
  'length',
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const
