import { Worker } from 'node:worker_threads'
import { messages, type QueryOptions, type Results } from '@electric-sql/pglite'
import { DATABASE_ERROR_FIELDS, type Message, type Request, type RowMode, type WireError, type WorkerOptions } from './pglite-protocol.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** Anything the proxy sends: a request without its id, which `call` assigns. */
type Call = DistributiveOmit<Request, 'id'>

type Pending = { resolve(value: unknown): void; reject(error: Error): void }

type Subscription = { id: number; channel: string; handlers: Set<(payload: string) => void>; listening: Promise<unknown> }

/** The worker's file beside this one: pglite-worker.ts from source (type stripping), .js if ever built. */
const WORKER_ENTRY = new URL(`./pglite-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url)

/** Query options that can cross to the worker: functions cannot, so parsers must be the identity. */
const SUPPORTED_OPTIONS = new Set(['rowMode', 'parsers', 'paramTypes'])
/** A string no real parser hands back unchanged unless it is the identity (it would trim, case, or parse it). */
const PROBE = ' Worken:identity-probe 1 '

/**
 * PGlite (WASM Postgres) on a worker thread, with the part of PGlite's surface
 * that drizzle (`drizzle-orm/pglite`), pg-boss (`fromPglite`), client.ts and the
 * tests use. Executing a statement costs the calling thread nothing but a
 * structured clone of the statement and of its result; the worker
 * (pglite-worker.ts) does the rest.
 *
 * Limits: query options are `rowMode`, `paramTypes` and `parsers` whose every
 * parser is the identity (drizzle's: those types stay Postgres's text); any other
 * parser, a serializer, `blob` or `onNotice` throws rather than being dropped
 * silently. Parameters and results cross by structured clone (a Buffer arrives as
 * a Uint8Array; a class instance as a plain object).
 *
 * @example
 * const pglite = await PgliteProxy.open({ dataDir: '/var/lib/worken/pgdata', withVector: true })
 * const { rows } = await pglite.query<{ n: number }>('select $1::int as n', [1])
 * await pglite.close()
 */
export class PgliteProxy {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  /** Why every call fails from now on: the worker has stopped (closed, or died). */
  #stopped: Error | undefined
  /** Set by close(): new calls fail, while an open transaction may still finish (PGlite's close waits for it). */
  #refusing: Error | undefined
  #closing: Promise<void> | undefined
  readonly #subscriptions = new Map<number, Subscription>()
  readonly #channels = new Map<string, Subscription>()
  #nextSubscription = 1
  readonly #onStop: ((error: Error) => void) | undefined

  private constructor(worker: Worker, onStop: ((error: Error) => void) | undefined) {
    this.#worker = worker
    this.#onStop = onStop
    // Idle until the first call (see #call).
    worker.unref()
    worker.on('message', (message: Message) => this.#receive(message))
    worker.on('error', (error) => this.#stop(new Error(`the PGlite worker failed: ${error.message}`, { cause: error })))
    worker.on('exit', (code) => this.#stop(new Error(`the PGlite worker exited unexpectedly (code ${code})`)))
  }

  /**
   * Starts the worker and PGlite in it; resolves once PGlite is ready.
   * `onStop` hears of a worker that stops without close() (a crash): every call fails from then on.
   */
  static async open(options: WorkerOptions & { onStop?: (error: Error) => void }): Promise<PgliteProxy> {
    const { onStop, ...workerOptions } = options
    const worker = new Worker(WORKER_ENTRY, {
      workerData: workerOptions,
      transferList: workerOptions.loadDataDir ? [workerOptions.loadDataDir] : [],
      // The worker runs nothing but PGlite: no test runner, inspector or other flags of the parent.
      execArgv: [],
    })
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          worker.off('message', onMessage).off('error', settle).off('exit', onExit)
          if (error) reject(error)
          else resolve()
        }
        const onMessage = (message: Message) => {
          if (message.kind === 'ready') settle()
          else if (message.kind === 'failed') settle(fromWire(message.error))
        }
        const onExit = (code: number) => settle(new Error(`the PGlite worker exited (code ${code}) before PGlite was ready`))
        worker.on('message', onMessage).on('error', settle).on('exit', onExit)
      })
    } catch (error) {
      await worker.terminate()
      throw error
    }
    return new PgliteProxy(worker, onStop)
  }

  /** True once close() has been called or the worker has stopped. */
  get closed(): boolean {
    return this.#refusing !== undefined || this.#stopped !== undefined
  }

  query<T = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this.#query(text, params, options, undefined) as Promise<Results<T>>
  }

  exec(text: string): Promise<Results[]> {
    return this.#call({ op: 'exec', text, tx: undefined }) as Promise<Results[]>
  }

  /**
   * Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws
   * (the error is rethrown) or when it calls `tx.rollback()`. Until then the
   * database runs only this transaction's statements; others wait.
   */
  async transaction<T>(fn: (tx: PgliteProxyTransaction) => Promise<T>): Promise<T> {
    const number = (await this.#call({ op: 'begin' })) as number
    const tx = new PgliteProxyTransaction(number, (call) => this.#call(call), (text, params, options) => this.#query(text, params, options, number))
    let result: T
    try {
      result = await fn(tx)
    } catch (error) {
      tx.end()
      await this.#call({ op: 'end', tx: number, commit: false })
      throw error
    }
    tx.end()
    await this.#call({ op: 'end', tx: number, commit: true })
    return result
  }

  /**
   * LISTEN: `onPayload` hears every notification on `channel`, in the order
   * they were sent, until the returned function is called. One LISTEN per channel
   * however many listeners it has.
   */
  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    let subscription = this.#channels.get(channel)
    if (!subscription) {
      const id = this.#nextSubscription++
      subscription = { id, channel, handlers: new Set(), listening: this.#call({ op: 'listen', channel, subscription: id }) }
      this.#channels.set(channel, subscription)
      this.#subscriptions.set(id, subscription)
    }
    const current = subscription
    current.handlers.add(onPayload)
    try {
      await current.listening
    } catch (error) {
      current.handlers.delete(onPayload)
      this.#forget(current)
      throw error
    }
    return async () => {
      if (!current.handlers.delete(onPayload) || current.handlers.size > 0) return
      this.#forget(current)
      if (!this.closed) await this.#call({ op: 'unlisten', subscription: current.id })
    }
  }

  /** PGlite's `dumpDataDir`: the data directory as a tarball. */
  async dumpDataDir(compression?: 'none' | 'gzip' | 'auto'): Promise<Blob> {
    const { bytes, type } = (await this.#call({ op: 'dump', compression })) as { bytes: ArrayBuffer; type: string }
    return new Blob([bytes], { type })
  }

  /**
   * Closes PGlite and ends the worker. Calls made before are answered first, and
   * an open transaction may finish (PGlite waits for it); new calls fail at once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#stopped) return
      const closed = this.#call({ op: 'close' })
      const reason = new Error('the PGlite database is closed')
      this.#refusing = reason
      try {
        await closed
      } finally {
        this.#stopped ??= reason
        await this.#worker.terminate()
        this.#rejectPending(reason)
      }
    })()
    return this.#closing
  }

  #query(text: string, params: unknown[] | undefined, options: QueryOptions | undefined, tx: number | undefined): Promise<unknown> {
    let rowMode: RowMode | undefined
    let rawOids: number[] | undefined
    let paramTypes: number[] | undefined
    if (options) {
      try {
        ;({ rowMode, rawOids, paramTypes } = crossable(options))
      } catch (error) {
        return Promise.reject(error as Error)
      }
    }
    return this.#call({ op: 'query', text, params, rowMode, rawOids, paramTypes, tx })
  }

  #call(call: Call): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped)
    if (this.#refusing && !('tx' in call && call.tx !== undefined)) return Promise.reject(this.#refusing)
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ ...call, id })
      } catch (error) {
        // A parameter structured clone refuses (a function, say).
        reject(error as Error)
        return
      }
      // Only a call in flight keeps the process alive, as an idle in-process PGlite never did.
      if (this.#pending.size === 0) this.#worker.ref()
      this.#pending.set(id, { resolve, reject })
    })
  }

  #receive(message: Message): void {
    if (message.kind === 'notification') {
      const handlers = this.#subscriptions.get(message.subscription)?.handlers
      // As PGlite calls its listeners: each on its own microtask, so one that throws does not silence the others.
      if (handlers) for (const handler of handlers) queueMicrotask(() => handler(message.payload))
      return
    }
    if (message.kind !== 'reply') return
    const pending = this.#pending.get(message.id)
    if (!pending) return
    this.#settled(message.id)
    if (message.ok) pending.resolve(message.value)
    else pending.reject(fromWire(message.error))
  }

  #settled(id: number): void {
    this.#pending.delete(id)
    if (this.#pending.size === 0) this.#worker.unref()
  }

  #forget(subscription: Subscription): void {
    if (this.#channels.get(subscription.channel) === subscription) this.#channels.delete(subscription.channel)
    this.#subscriptions.delete(subscription.id)
  }

  #stop(reason: Error): void {
    if (!this.#stopped) {
      // Ending while close() runs is what close() asked for: no one is told of a failure.
      this.#stopped = this.#refusing ?? reason
      if (!this.#refusing) this.#onStop?.(reason)
    }
    this.#rejectPending(this.#stopped)
  }

  #rejectPending(reason: Error): void {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    this.#worker.unref()
    for (const call of pending) call.reject(reason)
  }
}

/** The transaction a `PgliteProxy.transaction` callback gets: PGlite's `Transaction`, minus `sql` and `listen`. */
export class PgliteProxyTransaction {
  readonly #number: number
  readonly #call: (call: Call) => Promise<unknown>
  readonly #query: (text: string, params: unknown[] | undefined, options: QueryOptions | undefined) => Promise<unknown>
  #closed = false

  constructor(number: number, call: (call: Call) => Promise<unknown>, query: (text: string, params: unknown[] | undefined, options: QueryOptions | undefined) => Promise<unknown>) {
    this.#number = number
    this.#call = call
    this.#query = query
  }

  get closed(): boolean {
    return this.#closed
  }

  async query<T = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    this.#open()
    return (await this.#query(text, params, options)) as Results<T>
  }

  async exec(text: string): Promise<Results[]> {
    this.#open()
    return (await this.#call({ op: 'exec', text, tx: this.#number })) as Results[]
  }

  /** ROLLBACK now; the transaction is over (the callback's return value is still returned). */
  async rollback(): Promise<void> {
    this.#open()
    await this.#call({ op: 'rollback', tx: this.#number })
    this.#closed = true
  }

  /** @internal The transaction's callback has finished. */
  end(): void {
    this.#closed = true
  }

  #open(): void {
    // PGlite's own words.
    if (this.#closed) throw new Error('Transaction is closed')
  }
}

/** The options a query can carry to the worker; throws on what would be lost on the way. */
function crossable(options: QueryOptions): { rowMode: RowMode | undefined; rawOids: number[] | undefined; paramTypes: number[] | undefined } {
  for (const key of Object.keys(options)) {
    if (!SUPPORTED_OPTIONS.has(key) && options[key as keyof QueryOptions] !== undefined) {
      throw new TypeError(`the PGlite worker does not support the query option ${key}: functions and blobs cannot cross to the worker thread`)
    }
  }
  let rawOids: number[] | undefined
  if (options.parsers) {
    rawOids = []
    for (const [oid, parser] of Object.entries(options.parsers)) {
      if (!isIdentity(parser)) {
        throw new TypeError(`the PGlite worker supports only identity parsers (the value as Postgres's text); the parser for type ${oid} is not one`)
      }
      rawOids.push(Number(oid))
    }
  }
  return { rowMode: options.rowMode, rawOids, paramTypes: options.paramTypes }
}

function isIdentity(parser: (value: string) => unknown): boolean {
  try {
    return parser(PROBE) === PROBE
  } catch {
    return false
  }
}

/** The worker's error as the main thread's: a Postgres error comes back as PGlite's DatabaseError with every field. */
function fromWire(wire: WireError): Error {
  let error: Error
  if (wire.database) {
    const database = new messages.DatabaseError(wire.message, Number(wire.database.length ?? 0), 'error')
    const fields = database as unknown as Record<string, unknown>
    for (const field of DATABASE_ERROR_FIELDS) if (field !== 'length') fields[field] = wire.database[field]
    error = database
  } else {
    error = new Error(wire.message)
  }
  const attached = error as Error & { query?: string; params?: unknown[] }
  if (wire.query !== undefined) attached.query = wire.query
  if (wire.params !== undefined) attached.params = wire.params
  // The worker's stack: where PGlite raised it (the main thread's would show only this message handler).
  if (wire.stack) error.stack = wire.stack
  return error
}
