import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { openDatabase } from '../../src/platform/db/client.ts'
import { chunkText, type StaticChunkingStrategy } from '../../src/modules/knowledge/vector-stores/chunking.ts'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'
import { keyCaller, processDatabase, startServerProcess } from '../support/process.ts'

// A server killed (SIGKILL) in the middle of indexing a file leaves the file
// pending under its claim; the next process on the same database must finish
// the work, once. Where the first process is stopped depends on the database:
//
// - PGlite (pgvector built in): embeddings come from the test LLM server, which
//   answers the first batch of 256 chunks and holds the second. The file is
//   claimed, extracted, chunked, half embedded, its lease (60 s) renewed. The
//   next process (one per data directory) drops the dead one's lease at start.
// - Postgres (CI has no pgvector, so nothing may be embedded): the test holds a
//   SHARE lock on vector_store_chunks, so the indexer's final transaction (chunks
//   and `processed` together) blocks on its first statement on that table. The
//   file is claimed, extracted, chunked, its transaction open. The kill rolls it
//   back; the next process takes the file over once the 2 s lease lapses.

const KEY = `sk-${'1dea'.repeat(8)}`
const STRATEGY: StaticChunkingStrategy = { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 } }
const PHRASE = 'The quartz heron nests beneath the ninth aqueduct.'
// Already normalised (no trailing spaces, no blank lines, no final newline), so the indexed text is this text.
const DOCUMENT = Array.from({ length: 1400 }, (_, i) =>
  i === 700 ? PHRASE : `Entry ${i}: the surveyor walked the northern ridge, counted ${i * 7} cairns and slept by the river.`,
).join('\n')
const EMBEDDING_BATCH = 256

let llm: LlmServer
let database: Record<string, string>
let cleanup: () => Promise<void>

before(async () => {
  llm = await startLlmServer()
  ;({ env: database, cleanup } = await processDatabase('worken-vector-stores-restart'))
})
after(async () => {
  await llm.close()
  await cleanup()
})

it('a file being indexed when the server is killed (SIGKILL) is indexed, once, by the next process', { timeout: 180_000 }, async (t) => {
  const databaseUrl = database.DATABASE_URL
  const env = {
    ...database,
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    OPENAI_API_KEY: 'test',
    OPENAI_BASE_URL: `${llm.url}/v1`,
    WORKEN_EMBEDDING_MODEL: 'openai/text-embedding-3-small',
    WORKEN_JOB_POLL_SECONDS: '0.5',
    // On PGlite the default 60 s lease stays: only its release at start can let the next process finish in time.
    ...(databaseUrl ? { WORKEN_INDEXING_LEASE_SECONDS: '2' } : {}),
  }
  const call = keyCaller(KEY)
  const expectedChunks = chunkText(DOCUMENT, STRATEGY).length
  assert.ok(expectedChunks > EMBEDDING_BATCH, `the document needs two embedding batches (${expectedChunks} chunks)`)

  const first = await startServerProcess(env)
  const vector = !first.logs().some((entry) => String(entry.msg).startsWith('pgvector is not available'))
  let blocker: pg.Client | undefined
  let storeId: string
  let fileId: string
  let killedAt: number
  try {
    if (databaseUrl) {
      blocker = new pg.Client({ connectionString: databaseUrl })
      await blocker.connect()
      await blocker.query('begin')
      await blocker.query('lock table vector_store_chunks in share mode')
    } else {
      assert.ok(vector, 'PGlite has pgvector')
      llm.stallEmbeddings(true, { answerFirst: 1 })
    }
    fileId = await uploadDocument(first.publicUrl)
    const store = await call(first.publicUrl, 'POST', '/vector_stores', { name: 'Survey', file_ids: [fileId], chunking_strategy: STRATEGY })
    assert.equal(store.status, 200, JSON.stringify(store.body))
    storeId = store.body.id

    if (blocker) {
      await waitFor('the indexer to wait for the lock on vector_store_chunks', 30_000, async () => (await waitingOnChunks(blocker!)) > 0)
    } else {
      await waitFor('the second embedding batch to be held', 30_000, () => llm.stalledEmbeddings() === 1)
      assert.deepEqual(embeddingBatches(llm, 0), [EMBEDDING_BATCH, expectedChunks - EMBEDDING_BATCH], 'one batch answered, the other held')
    }
    const midway = await call(first.publicUrl, 'GET', `/vector_stores/${storeId}/files/${fileId}`)
    assert.equal(midway.body.status, 'pending')
    assert.equal(midway.body.chunk_count, 0)
  } finally {
    assert.equal(await first.stop('SIGKILL'), null)
    killedAt = performance.now()
  }

  const requestsBeforeRestart = llm.requests.length
  if (blocker) {
    // The dead process's transaction still waits on the lock; releasing it lets Postgres see the client is gone and roll back.
    await blocker.query('rollback')
    await waitFor('the killed process’s lease to lapse', 10_000, async () => (await blocker!.query('select lease_until < now() as lapsed from vector_store_files where file_id = $1', [fileId])).rows[0].lapsed === true)
    await blocker.end()
  } else {
    await waitFor('the killed process’s embedding request to be cut', 10_000, () => llm.stalledEmbeddings() === 0)
    llm.stallEmbeddings(false)
  }

  const second = await startServerProcess(env)
  try {
    let file: any
    await waitFor('the file to be processed', 30_000, async () => {
      file = (await call(second.publicUrl, 'GET', `/vector_stores/${storeId}/files/${fileId}`)).body
      return file.status !== 'pending'
    })
    t.diagnostic(`${databaseUrl ? 'postgres' : 'pglite'}${vector ? ' with' : ' without'} pgvector: processed ${Math.round(performance.now() - killedAt)} ms after the kill`)
    assert.equal(file.status, 'processed', JSON.stringify(file.last_error))
    assert.equal(file.chunk_count, expectedChunks)
    assert.equal(file.last_error, null)
    // The new process embedded every chunk once: nothing of the killed one's half-done work was kept.
    const embedded = embeddingBatches(llm, requestsBeforeRestart).reduce((sum, size) => sum + size, 0)
    assert.equal(embedded, vector ? expectedChunks : 0)

    const store = (await call(second.publicUrl, 'GET', `/vector_stores/${storeId}`)).body
    assert.equal(store.status, 'ready')
    assert.deepEqual(store.file_counts, { in_progress: 0, completed: 1, failed: 0, cancelled: 0, total: 1 })

    const content = (await call(second.publicUrl, 'GET', `/vector_stores/${storeId}/files/${fileId}/content`)).body
    assert.equal(content.data.length, 1)
    assert.equal(content.data[0].text, DOCUMENT)

    const search = await call(second.publicUrl, 'POST', `/vector_stores/${storeId}/search`, { query: 'quartz heron aqueduct' })
    assert.equal(search.status, 200, JSON.stringify(search.body))
    assert.ok(
      search.body.data.some((result: any) => result.file_id === fileId && result.content.some((part: any) => part.text.includes(PHRASE))),
      `the phrase is found: ${JSON.stringify(search.body.data.map((result: any) => result.content[0]?.text.slice(0, 60)))}`,
    )
  } finally {
    assert.equal(await second.stop('SIGTERM'), 0)
  }

  // The content route skips chunks it has already covered, so duplicates are counted in the tables themselves.
  const handle = databaseUrl ? await openDatabase({ driver: 'postgres', url: databaseUrl, poolSize: 1 }) : await openDatabase({ driver: 'pglite', dataDir: database.WORKEN_DATA_DIR! })
  try {
    const [stored] = await handle.withSession((session) =>
      session.query<{ chunks: number; indexes: number; embeddings: number; attempts: number }>(
        `select (select count(*)::int from vector_store_chunks where file_id = $1) as chunks,
                (select count(distinct chunk_index)::int from vector_store_chunks where file_id = $1) as indexes,
                ${vector ? '(select count(*)::int from vector_store_chunk_embeddings where file_id = $1)' : '0'} as embeddings,
                (select attempts from vector_store_files where file_id = $1) as attempts`,
        [fileId],
      ),
    )
    assert.deepEqual(stored, { chunks: expectedChunks, indexes: expectedChunks, embeddings: vector ? expectedChunks : 0, attempts: 2 }, 'claimed by the killed process, then by the next; every chunk stored once')
  } finally {
    await handle.close()
  }
})

async function uploadDocument(base: string): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([DOCUMENT], { type: 'text/plain' }), 'survey-log.txt')
  form.append('purpose', 'assistants')
  const response = await fetch(`${base}/files`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form })
  assert.equal(response.status, 200, await response.clone().text())
  return ((await response.json()) as { id: string }).id
}

/** Sizes of the embedding requests received from `since` (an index into `llm.requests`) on. */
function embeddingBatches(server: LlmServer, since: number): number[] {
  return server.requests.slice(since).filter((request) => request.path === '/v1/embeddings').map((request) => request.body.input.length)
}

/** Lock requests on vector_store_chunks that are waiting, i.e. not granted. */
async function waitingOnChunks(client: pg.Client): Promise<number> {
  const { rows } = await client.query(`select count(*)::int as waiting from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'vector_store_chunks' and not l.granted`)
  return rows[0].waiting
}

async function waitFor(what: string, timeoutMs: number, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}
