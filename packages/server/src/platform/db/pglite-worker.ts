/**
 * The worker thread that owns the embedded database: it starts PGlite (WASM
 * Postgres) and runs what the main thread's proxy (pglite-proxy.ts) asks, so that
 * query execution never runs on the thread that serves requests. The protocol is
 * in pglite-protocol.ts. PGlite serialises everything behind its own locks, so
 * requests are simply started as they arrive and answered as they finish.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite, messages, type Transaction } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { DATABASE_ERROR_FIELDS, type Message, type Request, type WireError, type WorkerOptions } from './pglite-protocol.ts'

if (!parentPort) throw new Error('pglite-worker.ts runs as a worker thread (see pglite-proxy.ts)')
const port = parentPort
const options = workerData as WorkerOptions

const identity = (value: string) => value
/** Thrown inside PGlite's transaction callback to make it roll back; never leaves this file. */
const ROLLBACK = Symbol('rollback')

/** Open transactions by number: PGlite's transaction object, and how to end it (`requestId` gets the outcome). */
const transactions = new Map<number, { tx: Transaction; end(requestId: number, commit: boolean): void }>()
let nextTransaction = 1
/** The unsubscribe function of each LISTEN the main thread holds. */
const subscriptions = new Map<number, Promise<() => Promise<void>>>()

function send(message: Message, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer)
}

function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { message: String(error), stack: undefined, database: undefined, query: undefined, params: undefined }
  const attached = error as Error & { query?: unknown; params?: unknown }
  let database: WireError['database']
  if (error instanceof messages.DatabaseError) {
    database = {}
    for (const field of DATABASE_ERROR_FIELDS) database[field] = error[field]
  }
  return {
    message: error.message,
    stack: error.stack,
    database,
    query: typeof attached.query === 'string' ? attached.query : undefined,
    params: Array.isArray(attached.params) ? attached.params : undefined,
  }
}

function reply(id: number, value: unknown, transfer?: ArrayBuffer[]): void {
  try {
    send({ kind: 'reply', id, ok: true, value }, transfer)
  } catch (error) {
    // A value structured clone refuses: answer with why rather than never.
    send({ kind: 'reply', id, ok: false, error: toWire(error) })
  }
}

function fail(id: number, error: unknown): void {
  const wire = toWire(error)
  try {
    send({ kind: 'reply', id, ok: false, error: wire })
  } catch {
    // Parameters that cannot be cloned back (they came from the main thread, so this is unlikely): drop them.
    send({ kind: 'reply', id, ok: false, error: { ...wire, params: undefined } })
  }
}

function transaction(number: number): Transaction {
  const open = transactions.get(number)
  // PGlite's own words for a statement on a finished transaction.
  if (!open) throw new Error('Transaction is closed')
  return open.tx
}

/**
 * Opens a PGlite transaction and keeps its callback waiting until the main
 * thread ends it: meanwhile PGlite's transaction lock holds every other query
 * back, as it would in-process, and this transaction's statements run on `tx`.
 */
function begin(pglite: PGlite, id: number): void {
  const number = nextTransaction++
  let endRequest: number | undefined
  pglite
    .transaction(async (tx) => {
      const commit = await new Promise<boolean>((resolve) => {
        transactions.set(number, {
          tx,
          end(requestId, commit) {
            endRequest = requestId
            resolve(commit)
          },
        })
        reply(id, number)
      })
      // PGlite commits when the callback returns and rolls back when it throws (unless tx.rollback() ran).
      if (!commit) throw ROLLBACK
    })
    .then(
      () => reply(endRequest!, null),
      (error: unknown) => {
        // Not ended yet: BEGIN itself failed.
        if (endRequest === undefined) fail(id, error)
        else if (error === ROLLBACK) reply(endRequest, null)
        else fail(endRequest, error)
      },
    )
    .finally(() => transactions.delete(number))
}

async function serve(pglite: PGlite, request: Request): Promise<void> {
  switch (request.op) {
    case 'query': {
      let parsers: Record<number, typeof identity> | undefined
      if (request.rawOids) {
        parsers = {}
        for (const oid of request.rawOids) parsers[oid] = identity
      }
      const queryOptions = { rowMode: request.rowMode, parsers, paramTypes: request.paramTypes }
      const target = request.tx === undefined ? pglite : transaction(request.tx)
      return reply(request.id, await target.query(request.text, request.params, queryOptions))
    }
    case 'exec': {
      const target = request.tx === undefined ? pglite : transaction(request.tx)
      return reply(request.id, await target.exec(request.text))
    }
    case 'begin':
      return begin(pglite, request.id)
    case 'end': {
      const open = transactions.get(request.tx)
      if (!open) throw new Error('Transaction is closed')
      transactions.delete(request.tx)
      return open.end(request.id, request.commit)
    }
    case 'rollback':
      await transaction(request.tx).rollback()
      return reply(request.id, null)
    case 'listen': {
      const subscription = pglite.listen(request.channel, (payload) => send({ kind: 'notification', subscription: request.subscription, payload }))
      subscriptions.set(request.subscription, subscription)
      try {
        await subscription
      } catch (error) {
        subscriptions.delete(request.subscription)
        throw error
      }
      return reply(request.id, null)
    }
    case 'unlisten': {
      const subscription = subscriptions.get(request.subscription)
      subscriptions.delete(request.subscription)
      if (subscription) await (await subscription)()
      return reply(request.id, null)
    }
    case 'dump': {
      const tarball = await pglite.dumpDataDir(request.compression)
      const bytes = await tarball.arrayBuffer()
      return reply(request.id, { bytes, type: tarball.type }, [bytes])
    }
    case 'close':
      await pglite.close()
      reply(request.id, null)
      // Nothing is left to serve: let the thread end.
      port.close()
      return
  }
}

try {
  const pglite = await PGlite.create({
    dataDir: options.dataDir,
    extensions: options.withVector ? { vector } : {},
    loadDataDir: options.loadDataDir ? new Blob([options.loadDataDir]) : undefined,
  })
  port.on('message', (request: Request) => {
    serve(pglite, request).catch((error: unknown) => fail(request.id, error))
  })
  send({ kind: 'ready' })
} catch (error) {
  send({ kind: 'failed', error: toWire(error) })
  port.close()
}
