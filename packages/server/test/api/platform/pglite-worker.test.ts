// PGlite on its worker thread (src/platform/db/pglite-worker.ts) behind the main thread's proxy
// (src/platform/db/pglite-proxy.ts): what drizzle, pg-boss and our client ask of it, errors and
// notifications across the thread, and what happens when it closes or its thread dies. Always on
// PGlite, whatever TEST_DATABASE_URL says: this is the embedded database's own plumbing.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import diagnostics from 'node:diagnostics_channel'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import type { Worker } from 'node:worker_threads'
import { messages } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { fromPglite } from 'pg-boss'
import { openDatabase, type DatabaseHandle } from '../../../src/platform/db/client.ts'
import { isUniqueViolation } from '../../../src/platform/db/errors.ts'
import { pgliteTemplate, pgliteTemplateBlob } from '../../support/template.ts'

const CLIENT_MODULE = new URL('../../../src/platform/db/client.ts', import.meta.url).href

let handle: DatabaseHandle

/** A new PGlite from the initdb template (fast), with pgvector unless told otherwise. */
async function openScratch(options: { withVector?: boolean; onError?: (error: Error) => void } = {}): Promise<DatabaseHandle> {
  return openDatabase({ driver: 'pglite', loadDataDir: await pgliteTemplateBlob('empty'), ...options })
}

/** The rows of a drizzle `execute` (the pglite driver answers `{ rows }`). */
async function rows<Row>(statement: ReturnType<typeof sql>): Promise<Row[]> {
  return ((await handle.db.execute(statement)) as unknown as { rows: Row[] }).rows
}

before(async () => {
  handle = await openScratch()
  await handle.pglite!.exec(`
    create extension if not exists vector;
    create table things (id int primary key, name text not null constraint things_name_key unique, at timestamptz not null default now());
    create table embeddings (id int primary key, embedding vector(3) not null);
    create table blobs (id int primary key, body bytea not null);
  `)
})
after(() => handle.close())

describe('queries through the worker', () => {
  it('passes parameters and answers rows as objects, or as arrays with rowMode', async () => {
    const pglite = handle.pglite!
    const objects = await pglite.query<{ n: number; s: string; nothing: null }>('select $1::int as n, $2::text as s, null as nothing', [41, 'forty-one'])
    assert.deepEqual(objects.rows, [{ n: 41, s: 'forty-one', nothing: null }])
    assert.deepEqual(objects.fields.map((field) => field.name), ['n', 's', 'nothing'])
    const arrays = await pglite.query('select $1::int as n, $2::text as s', [1, 'one'], { rowMode: 'array' })
    assert.deepEqual(arrays.rows, [[1, 'one']])
    const inserted = await pglite.query('insert into things (id, name) values ($1, $2), ($3, $4)', [1, 'first', 2, 'second'])
    assert.equal(inserted.affectedRows, 2)
  })

  it('keeps the types whose parser is the identity as Postgres text, and parses the others as PGlite does', async () => {
    const pglite = handle.pglite!
    const statement = "select '2025-03-04 05:06:07.891+00'::timestamptz as at, '2025-03-04'::date as day, 7::int as n"
    const parsed = (await pglite.query<{ at: unknown; day: unknown; n: unknown }>(statement)).rows[0]!
    assert.ok(parsed.at instanceof Date, 'PGlite parses a timestamptz to a Date by default')
    assert.equal((parsed.at as Date).toISOString(), '2025-03-04T05:06:07.891Z')
    const identity = (value: string) => value
    const raw = (await pglite.query<{ at: unknown; day: unknown; n: unknown }>(statement, [], { parsers: { 1184: identity, 1082: identity } })).rows[0]!
    assert.deepEqual(raw, { at: '2025-03-04 05:06:07.891+00', day: '2025-03-04', n: 7 })
    // Drizzle's pglite driver asks for exactly that: timestamps come back as text.
    assert.deepEqual(await rows(sql`select '2025-03-04 05:06:07.891+00'::timestamptz as at`), [{ at: '2025-03-04 05:06:07.891+00' }])
  })

  it('refuses a parser that is not the identity, and options that cannot cross, rather than ignoring them', async () => {
    const pglite = handle.pglite!
    await assert.rejects(pglite.query('select 1', [], { parsers: { 23: (value) => Number(value) * 2 } }), /only identity parsers.*type 23/)
    await assert.rejects(pglite.query('select 1', [], { parsers: { 25: (value) => value.trim() } }), /only identity parsers/)
    await assert.rejects(pglite.query('select 1', [], { onNotice: () => {} }), /does not support the query option onNotice/)
    await assert.rejects(pglite.query('select $1::text', [() => 'a function']), { name: 'DataCloneError' })
    assert.deepEqual((await pglite.query('select 1 as still')).rows, [{ still: 1 }])
  })

  it('round-trips jsonb, bytea and vectors', async () => {
    const pglite = handle.pglite!
    const document = { text: 'héllo', list: [1, 2.5, null], nested: { yes: true } }
    const json = await pglite.query<{ doc: unknown }>('select $1::jsonb as doc', [document])
    assert.deepEqual(json.rows[0]!.doc, document)
    const bytes = Uint8Array.from([0, 1, 2, 254, 255])
    await pglite.query('insert into blobs (id, body) values ($1, $2), ($3, $4)', [1, bytes, 2, Buffer.from('a buffer')])
    const stored = (await pglite.query<{ body: Uint8Array }>('select body from blobs order by id')).rows
    assert.ok(stored[0]!.body instanceof Uint8Array)
    assert.deepEqual([...stored[0]!.body], [...bytes])
    assert.equal(Buffer.from(stored[1]!.body).toString(), 'a buffer')
    await handle.db.execute(sql`insert into embeddings (id, embedding) values (1, ${'[0.5,1,-2]'}::vector)`)
    assert.deepEqual(await rows(sql`select embedding::text as embedding, embedding <-> ${'[0.5,1,-1]'}::vector as distance from embeddings`), [{ embedding: '[0.5,1,-2]', distance: 1 }])
  })

  it('answers exec with one result per statement, which pg-boss\'s adapter flattens', async () => {
    const pglite = handle.pglite!
    const results = await pglite.exec('select 1 as a; select 2 as b union all select 3; create temporary table scratch (n int)')
    assert.deepEqual(results.map((result) => result.rows), [[{ a: 1 }], [{ b: 2 }, { b: 3 }], []])
    const adapter = fromPglite(pglite)
    const locked = await adapter.executeSql('begin; insert into things (id, name) values (10, \'boss\') returning id; commit')
    assert.deepEqual(locked.rows, [{ id: 10 }])
    assert.deepEqual((await adapter.executeSql('select name from things where id = $1', [10])).rows, [{ name: 'boss' }])
  })
})

describe('errors across the thread', () => {
  it('a unique violation arrives as PGlite\'s DatabaseError with every field, wrapped by drizzle in cause', async () => {
    await handle.db.execute(sql`insert into things (id, name) values (20, 'taken')`)
    const error = await handle.db.execute(sql`insert into things (id, name) values (21, 'taken')`).then(
      () => assert.fail('the duplicate was accepted'),
      (error: unknown) => error as Error,
    )
    assert.ok(isUniqueViolation(error, 'things_name_key'), 'errors.ts recognises it through the cause chain')
    const cause = error.cause as InstanceType<typeof messages.DatabaseError>
    assert.ok(cause instanceof messages.DatabaseError)
    assert.equal(cause.code, '23505')
    assert.equal(cause.constraint, 'things_name_key')
    assert.equal(cause.table, 'things')
    assert.equal(cause.schema, 'public')
    assert.equal(cause.severity, 'ERROR')
    assert.equal(cause.detail, 'Key (name)=(taken) already exists.')
    assert.match(cause.message, /duplicate key value violates unique constraint "things_name_key"/)
    assert.equal((cause as unknown as { query: string }).query, "insert into things (id, name) values (21, 'taken')")
  })

  it('a failed statement in a transaction rolls it back, and the database is usable afterwards', async () => {
    const failure = handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into things (id, name) values (30, 'in the failed transaction')`)
      await tx.execute(sql`insert into things (id, name) values (31, 'taken')`)
    })
    await assert.rejects(failure, (error: Error) => isUniqueViolation(error, 'things_name_key'))
    assert.deepEqual(await rows(sql`select id from things where id in (30, 31)`), [])
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into things (id, name) values (32, 'after the failure')`)
    })
    assert.deepEqual(await rows(sql`select name from things where id = 32`), [{ name: 'after the failure' }])
  })

  it('an error the callback catches inside a transaction (a savepoint) leaves the rest of it standing', async () => {
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into things (id, name) values (33, 'kept')`)
      await assert.rejects(tx.transaction((nested) => nested.execute(sql`insert into things (id, name) values (34, 'taken')`)), (error: Error) => isUniqueViolation(error, 'things_name_key'))
    })
    assert.deepEqual(await rows(sql`select id from things where id in (33, 34)`), [{ id: 33 }])
  })
})

describe('interactive transactions', () => {
  it('commits what the callback did and returns its value', async () => {
    const value = await handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into things (id, name) values (40, 'committed')`)
      return 'the value'
    })
    assert.equal(value, 'the value')
    assert.deepEqual(await rows(sql`select name from things where id = 40`), [{ name: 'committed' }])
  })

  it('rolls back when the callback throws, and rethrows its error', async () => {
    const thrown = new Error('the callback changed its mind')
    await assert.rejects(
      handle.db.transaction(async (tx) => {
        await tx.execute(sql`insert into things (id, name) values (41, 'rolled back')`)
        throw thrown
      }),
      (error) => error === thrown,
    )
    assert.deepEqual(await rows(sql`select id from things where id = 41`), [])
  })

  it('rolls back on tx.rollback() and refuses statements on the finished transaction', async () => {
    let finished: Parameters<Parameters<NonNullable<DatabaseHandle['pglite']>['transaction']>[0]>[0] | undefined
    const value = await handle.pglite!.transaction(async (tx) => {
      await tx.query('insert into things (id, name) values (42, $1)', ['rolled back by hand'])
      await tx.rollback()
      assert.equal(tx.closed, true)
      finished = tx
      return 'returned after rollback'
    })
    assert.equal(value, 'returned after rollback')
    assert.deepEqual(await rows(sql`select id from things where id = 42`), [])
    await assert.rejects(finished!.query('select 1'), /Transaction is closed/)
  })

  it('holds other statements back until it ends: they see its outcome, never its middle', async () => {
    const pglite = handle.pglite!
    const events: string[] = []
    let outside: Promise<number> | undefined
    await assert.rejects(
      pglite.transaction(async (tx) => {
        await tx.query("insert into things (id, name) values (50, 'never committed')")
        // The same session: were it let in now, it would see the uncommitted row.
        outside = pglite.query<{ count: number }>('select count(*)::int as count from things where id = 50').then(({ rows }) => {
          events.push('outside answered')
          return rows[0]!.count
        })
        for (let i = 0; i < 20; i++) await tx.query('select $1::int', [i])
        events.push('transaction ending')
        throw new Error('roll it back')
      }),
      /roll it back/,
    )
    assert.equal(await outside, 0, 'the outside query ran after the rollback')
    assert.deepEqual(events, ['transaction ending', 'outside answered'])

    let afterCommit: Promise<number> | undefined
    await pglite.transaction(async (tx) => {
      await tx.query("insert into things (id, name) values (51, 'committed meanwhile')")
      afterCommit = pglite.query<{ count: number }>('select count(*)::int as count from things where id = 51').then(({ rows }) => rows[0]!.count)
      for (let i = 0; i < 20; i++) await tx.query('select $1::int', [i])
    })
    assert.equal(await afterCommit, 1)
  })

  it('a statement that fails at COMMIT fails the transaction', async () => {
    await handle.pglite!.exec('create table deferred_parent (id int primary key); create table deferred_child (parent int references deferred_parent (id) deferrable initially deferred)')
    await assert.rejects(
      handle.db.transaction(async (tx) => {
        await tx.execute(sql`insert into deferred_child (parent) values (1)`)
      }),
      (error: Error & { code?: string }) => error.code === '23503',
    )
    assert.deepEqual(await rows(sql`select * from deferred_child`), [])
  })
})

describe('LISTEN/NOTIFY across the thread', () => {
  it('delivers every notification of concurrent transactions, each transaction\'s together and in commit order', async () => {
    const TRANSACTIONS = 6
    const STATEMENTS = 10
    const PER_STATEMENT = 100
    const received: string[] = []
    const second: string[] = []
    const unlisten = await handle.listen('worker_test', (payload) => received.push(payload))
    const unlistenSecond = await handle.listen('worker_test', (payload) => second.push(payload))
    const commitOrder: number[] = []
    await Promise.all(
      Array.from({ length: TRANSACTIONS }, (_, t) =>
        handle.db
          .transaction(async (tx) => {
            for (let s = 0; s < STATEMENTS; s++) {
              await tx.execute(sql`select pg_notify('worker_test', ${`${t}:`} || (${s * PER_STATEMENT}::int + g)::text) from generate_series(0, ${PER_STATEMENT - 1}::int) g`)
            }
          })
          .then(() => commitOrder.push(t)),
      ),
    )
    // Outside any transaction too: each its own commit.
    for (let i = 0; i < 50; i++) await handle.notify('worker_test', `single:${i}`)
    const total = TRANSACTIONS * STATEMENTS * PER_STATEMENT + 50
    const deadline = Date.now() + 10_000
    while (received.length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))

    const expected = [
      ...commitOrder.flatMap((t) => Array.from({ length: STATEMENTS * PER_STATEMENT }, (_, i) => `${t}:${i}`)),
      ...Array.from({ length: 50 }, (_, i) => `single:${i}`),
    ]
    assert.equal(received.length, total)
    assert.deepEqual(received, expected)
    assert.deepEqual(second, expected, 'a second listener on the channel hears the same')

    await unlistenSecond()
    await handle.notify('worker_test', 'after one left')
    await unlisten()
    await handle.notify('worker_test', 'after both left')
    await handle.pglite!.query('select 1')
    assert.equal(received.at(-1), 'after one left')
    assert.equal(second.length, total)
  })
})

describe('closing, and a worker that dies', () => {
  it('close() answers or fails what was in flight, refuses what comes after, and ends the thread', async () => {
    const database = await openScratch({ withVector: false })
    const inFlight = database.pglite!.query<{ one: number }>('select 1 as one')
    await database.close()
    const outcome = await inFlight.then(
      ({ rows }) => rows[0]!.one,
      (error: Error) => error.message,
    )
    assert.ok(outcome === 1 || outcome === 'the PGlite database is closed', `in flight at close: ${outcome}`)
    assert.equal(database.pglite!.closed, true)
    await assert.rejects(database.pglite!.query('select 1'), /the PGlite database is closed/)
    await assert.rejects(database.db.execute(sql`select 1`), (error: Error) => /the PGlite database is closed/.test(String(error.cause)))
    await database.close()
  })

  it('close() during a transaction lets it finish (PGlite waits for it) instead of deadlocking', async () => {
    const database = await openScratch({ withVector: false })
    let closing: Promise<void> | undefined
    const committed = database.pglite!.transaction(async (tx) => {
      await tx.exec('create table during_close (n int)')
      closing = database.close()
      await assert.rejects(database.pglite!.query('select 1'), /the PGlite database is closed/, 'a new call outside the transaction is refused')
      await tx.query('insert into during_close values ($1)', [1])
      return (await tx.query<{ n: number }>('select n from during_close')).rows
    })
    assert.deepEqual(await committed, [{ n: 1 }])
    await closing
    assert.equal(database.pglite!.closed, true)
  })

  it('a worker thread that dies fails the calls in flight and every later one with a clear error, and says so', async () => {
    let worker: Worker | undefined
    const onWorker = (message: unknown) => {
      worker = (message as { worker: Worker }).worker
    }
    diagnostics.subscribe('worker_threads', onWorker)
    const stops: Error[] = []
    let database: DatabaseHandle
    try {
      database = await openScratch({ withVector: false, onError: (error) => stops.push(error) })
    } finally {
      diagnostics.unsubscribe('worker_threads', onWorker)
    }
    assert.ok(worker, 'the worker was seen starting')
    // Killed from outside, as an out-of-memory thread would be.
    const inFlight = database.pglite!.query('select pg_sleep(5)')
    await worker.terminate()
    await assert.rejects(inFlight, /the PGlite worker exited/)
    await assert.rejects(database.pglite!.query('select 1'), /the PGlite worker exited/)
    await assert.rejects(database.ping(), /the PGlite worker exited/)
    assert.equal(stops.length, 1)
    assert.match(stops[0]!.message, /the PGlite worker exited/)
    await database.close()
  })

  it('a start that fails rejects with PGlite\'s error instead of hanging', async () => {
    await assert.rejects(openDatabase({ driver: 'pglite', withVector: false, loadDataDir: new Blob(['this is no tarball']) }))
  })

  it('lets the process exit: after close(), and when idle without close() as an in-process PGlite did', async () => {
    const run = promisify(execFile)
    const template = (await pgliteTemplate()).emptyTarFile
    const script = (close: boolean) => `
      const { readFileSync } = await import('node:fs')
      const { openDatabase } = await import(${JSON.stringify(CLIENT_MODULE)})
      const loadDataDir = new Blob([readFileSync(${JSON.stringify(template)})])
      const handle = await openDatabase({ driver: 'pglite', withVector: false, loadDataDir })
      const { rows } = await handle.pglite.query('select 40 + 2 as answer')
      console.log(rows[0].answer)
      ${close ? 'await handle.close()' : ''}
    `
    for (const close of [true, false]) {
      const { stdout } = await run(process.execPath, ['--conditions=worken:source', '--input-type=module', '--eval', script(close)], { timeout: 60_000 })
      assert.equal(stdout.trim(), '42', `the child printed its answer and exited${close ? ' after close()' : ' without close()'}`)
    }
  })
})
