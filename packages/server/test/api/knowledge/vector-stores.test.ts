import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import OpenAI, { toFile } from 'openai'
import { eq, sql } from 'drizzle-orm'
import { createApp } from '../../../src/app.ts'
import { vectorStoreChunks } from '../../../src/schema.ts'
import { createLocalEmbedder } from '../../../src/modules/knowledge/local-embedder.ts'
import { scanBudget, topLevelTerms, VectorStoreSearch } from '../../../src/modules/knowledge/vector-stores/search.ts'
import { createTestContext, serveOnLoopback, silentLogger, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded
let served: Awaited<ReturnType<typeof serveOnLoopback>>
let base: string
let openai: OpenAI
let hybrid: boolean

before(async () => {
  ctx = await createTestContext({ workers: {} })
  owner = await ctx.seed()
  const app = createApp({ kind: 'public', services: ctx.services, logger: silentLogger })
  served = await serveOnLoopback(app)
  base = served.base
  openai = new OpenAI({ apiKey: owner.key, baseURL: base, maxRetries: 0 })
  hybrid = ctx.services.vectorStores.search.mode === 'hybrid'
})
after(async () => {
  await served.close()
  await ctx.close()
})

const api = (key = owner.key) => ctx.asKey(key)

async function uploadText(text: string, filename = 'doc.md', key = owner.key): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([text], { type: 'text/markdown' }), filename)
  form.append('purpose', 'assistants')
  const response = await fetch(`${base}/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
  assert.equal(response.status, 200, await response.clone().text())
  return ((await response.json()) as { id: string }).id
}

/** Polls until no file of the store is pending; returns the store. */
async function settled(storeId: string, key = owner.key): Promise<any> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const store = await api(key)('GET', `/vector_stores/${storeId}`)
    assert.equal(store.status, 200, store.text)
    if (store.body.status !== 'indexing') return store.body
    if (Date.now() > deadline) throw new Error(`store ${storeId} still indexing: ${store.text}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function storeWith(files: Array<{ text: string; filename: string; attributes?: Record<string, string | number | boolean> }>, key = owner.key): Promise<{ storeId: string; fileIds: string[] }> {
  const created = await api(key)('POST', '/vector_stores', { name: 'kb' })
  assert.equal(created.status, 200, created.text)
  const fileIds: string[] = []
  for (const file of files) {
    const fileId = await uploadText(file.text, file.filename, key)
    const added = await api(key)('POST', `/vector_stores/${created.body.id}/files`, { file_id: fileId, ...(file.attributes ? { attributes: file.attributes } : {}) })
    assert.equal(added.status, 200, added.text)
    fileIds.push(fileId)
  }
  await settled(created.body.id, key)
  return { storeId: created.body.id, fileIds }
}

describe('vector stores through the official openai client', () => {
  it('uploads, creates a store, polls until processed, lists, searches and deletes', async () => {
    const text = '# Returns\n\nOrders can be returned within 30 days of delivery.\n\n# Warranty\n\nThe Model X kettle (SKU KT-2041) has a two-year warranty.\n'
    const file = await openai.files.create({ file: await toFile(Buffer.from(text), 'policies.md', { type: 'text/markdown' }), purpose: 'assistants' })
    const store = await openai.vectorStores.create({ name: 'Support', file_ids: [file.id], metadata: { team: 'support' } })
    assert.match(store.id, /^vs_/)
    assert.equal(store.object, 'vector_store')
    assert.equal(store.name, 'Support')
    assert.deepEqual(store.metadata, { team: 'support' })

    // The SDK's polling helper waits for OpenAI's words; it gets them (and returns).
    const polled = await openai.vectorStores.files.poll(store.id, file.id, { pollIntervalMs: 20 })
    assert.equal(polled.status, 'completed')
    // Everyone else gets the spec's.
    const processed = await openai.vectorStores.files.retrieve(file.id, { vector_store_id: store.id })
    assert.equal(processed.status as string, 'processed')
    assert.equal((processed as unknown as { filename: string }).filename, 'policies.md')
    assert.equal(processed.vector_store_id, store.id)
    assert.equal(processed.last_error, null)
    assert.deepEqual(processed.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } })

    const again = await openai.vectorStores.retrieve(store.id)
    assert.equal(again.status as string, 'ready')
    assert.deepEqual(again.file_counts, { in_progress: 0, completed: 1, failed: 0, cancelled: 0, total: 1 })
    assert.equal((again as unknown as { file_count: number }).file_count, 1)
    assert.ok(again.usage_bytes > 0)

    const listed = await openai.vectorStores.files.list(store.id)
    assert.deepEqual(listed.data.map((entry) => entry.id), [file.id])
    const stores: string[] = []
    for await (const entry of openai.vectorStores.list()) stores.push(entry.id)
    assert.ok(stores.includes(store.id))

    const results = await openai.vectorStores.search(store.id, { query: 'kettle warranty', max_num_results: 5 })
    assert.ok(results.data.length >= 1)
    assert.equal(results.data[0]!.file_id, file.id)
    assert.equal(results.data[0]!.filename, 'policies.md')
    assert.match(results.data[0]!.content[0]!.text, /two-year warranty/)
    assert.ok(results.data[0]!.score > 0 && results.data[0]!.score <= 1)

    const content = await openai.vectorStores.files.content(file.id, { vector_store_id: store.id })
    assert.equal(content.data.map((part) => part.text).join(''), text.trimEnd())

    const uploaded = await openai.vectorStores.files.uploadAndPoll(store.id, await toFile(Buffer.from('Shipping takes 3 days.'), 'shipping.txt'), { pollIntervalMs: 20 })
    assert.equal(uploaded.status, 'completed')
    assert.equal((await openai.vectorStores.retrieve(store.id)).file_counts.total, 2)

    const removed = await openai.vectorStores.files.delete(file.id, { vector_store_id: store.id })
    assert.deepEqual(removed, { id: file.id, object: 'vector_store.file.deleted', deleted: true })
    assert.equal((await openai.files.retrieve(file.id)).id, file.id, 'the file itself stays')
    const deleted = await openai.vectorStores.delete(store.id)
    assert.deepEqual(deleted, { id: store.id, object: 'vector_store.deleted', deleted: true })
    await assert.rejects(openai.vectorStores.retrieve(store.id), OpenAI.NotFoundError)
  })

  it('file batches: create and poll, list the batch files, cancel', async () => {
    const store = await openai.vectorStores.create({ name: 'batches' })
    const ids = [] as string[]
    for (let i = 0; i < 3; i++) ids.push((await openai.files.create({ file: await toFile(Buffer.from(`Document ${i} about topic ${i}.`), `d${i}.txt`), purpose: 'assistants' })).id)
    const batch = await openai.vectorStores.fileBatches.createAndPoll(store.id, { file_ids: ids, attributes: { lang: 'en' } }, { pollIntervalMs: 20 })
    assert.equal(batch.status, 'completed')
    assert.deepEqual(batch.file_counts, { in_progress: 0, completed: 3, failed: 0, cancelled: 0, total: 3 })
    const files = await openai.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: store.id })
    assert.deepEqual(files.data.map((entry) => entry.id).sort(), [...ids].sort())
    assert.deepEqual(files.data[0]!.attributes, { lang: 'en' })
    const cancelled = await openai.vectorStores.fileBatches.cancel(batch.id, { vector_store_id: store.id })
    assert.equal(cancelled.status, 'cancelled')
    assert.equal(cancelled.file_counts.completed, 3, 'what was indexed stays indexed')
  })
})

describe('vector store API', () => {
  it('answers bad input with the error shape and changes nothing', async () => {
    const call = api()
    const fileId = await uploadText('hello')
    const { body: store } = await call('POST', '/vector_stores', { name: 'v' })
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/vector_stores', { name: 5 }, 422, /name/],
      ['POST', '/vector_stores', { file_ids: ['file_nope'] }, 422, /file_ids\[0\]: no file 'file_nope'/],
      ['POST', '/vector_stores', { bogus: 1 }, 422, /bogus/],
      ['POST', '/vector_stores', { expires_after: { anchor: 'created_at', days: 1 } }, 422, /expires_after/],
      ['POST', '/vector_stores', { chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 50, chunk_overlap_tokens: 0 } } }, 422, /max_chunk_size_tokens/],
      ['POST', '/vector_stores', '{not json', 400, /./],
      ['POST', `/vector_stores/${store.id}/files`, { file_id: 'file_nope' }, 422, /no file 'file_nope'/],
      ['POST', `/vector_stores/${store.id}/files`, { file_id: fileId, attributes: { ['k'.repeat(65)]: 1 } }, 422, /attributes/],
      ['POST', `/vector_stores/${store.id}/search`, { query: 'x', max_num_results: 51 }, 422, /max_num_results/],
      ['POST', `/vector_stores/${store.id}/search`, {}, 422, /query/],
      ['POST', `/vector_stores/${store.id}/search`, { query: 'x', filters: { key: 'a', type: 'gt', value: true } }, 422, /filters/],
      ['POST', `/vector_stores/${store.id}/search`, { query: 'x', ranking_options: { score_threshold: 2 } }, 422, /score_threshold/],
      ['POST', `/vector_stores/${store.id}/file_batches`, { file_ids: [] }, 422, /file_ids/],
      ['POST', `/vector_stores/${store.id}/file_batches`, { file_ids: [fileId], files: [{ file_id: fileId }] }, 422, /either/],
      ['GET', '/vector_stores?limit=101', undefined, 422, /limit/],
      ['GET', '/vector_stores?after=vs_nope', undefined, 422, /vs_nope/],
      ['GET', `/vector_stores/${store.id}/files?filter=done`, undefined, 422, /filter/],
      ['GET', '/vector_stores/vs_nope', undefined, 404, /vs_nope/],
    ]
    for (const [method, path, body, status, message] of cases) {
      const response = await call(method, path, body)
      assert.equal(response.status, status, `${method} ${path} ${JSON.stringify(body)} → ${response.text}`)
      assert.equal(typeof response.body.error, 'string')
      assert.match(response.body.message, message, response.text)
    }
    assert.equal((await call('GET', `/vector_stores/${store.id}/files`)).body.data.length, 0, 'nothing half-added')

    assert.equal((await call('POST', `/vector_stores/${store.id}/files`, { file_id: fileId })).status, 200)
    const twice = await call('POST', `/vector_stores/${store.id}/files`, { file_id: fileId })
    assert.equal(twice.status, 409)
    assert.match(twice.body.message, /already in vector store/)
  })

  it("hides another project's stores and files everywhere, including search", async () => {
    const { storeId, fileIds } = await storeWith([{ text: 'The vault code is ZEBRA-7731.', filename: 'secret.md' }])
    const other = await ctx.seed()
    const call = api(other.key)
    const fileId = fileIds[0]!
    const paths: Array<[string, string, unknown?]> = [
      ['GET', `/vector_stores/${storeId}`],
      ['POST', `/vector_stores/${storeId}`, { name: 'mine now' }],
      ['DELETE', `/vector_stores/${storeId}`],
      ['POST', `/vector_stores/${storeId}/search`, { query: 'vault code' }],
      ['POST', `/vector_stores/${storeId}/files`, { file_id: fileId }],
      ['GET', `/vector_stores/${storeId}/files`],
      ['GET', `/vector_stores/${storeId}/files/${fileId}`],
      ['POST', `/vector_stores/${storeId}/files/${fileId}`, { attributes: {} }],
      ['GET', `/vector_stores/${storeId}/files/${fileId}/content`],
      ['DELETE', `/vector_stores/${storeId}/files/${fileId}`],
      ['POST', `/vector_stores/${storeId}/file_batches`, { file_ids: [fileId] }],
    ]
    for (const [method, path, body] of paths) {
      const response = await call(method, path, body)
      assert.equal(response.status, 404, `${method} ${path} → ${response.text}`)
    }
    // Their own store cannot take our file either.
    const { body: theirs } = await call('POST', '/vector_stores', { name: 'theirs' })
    assert.equal((await call('POST', `/vector_stores/${theirs.id}/files`, { file_id: fileId })).status, 422)
    assert.equal((await call('POST', '/vector_stores', { file_ids: [fileId] })).status, 422)
    assert.deepEqual((await call('GET', '/vector_stores')).body.data.map((s: { id: string }) => s.id), [theirs.id])
    // The search service itself never crosses projects, whatever ids it is given.
    const crossed = await ctx.services.knowledge.search({ projectId: other.projectId, vectorStoreIds: [storeId], queries: ['vault code ZEBRA-7731'], maxResults: 5 })
    assert.deepEqual(crossed.results, [])
    assert.equal((await api()('GET', `/vector_stores/${storeId}`)).body.file_count, 1, 'untouched')
  })

  it('pages with limit, order, after and before', async () => {
    const seeded = await ctx.seed()
    const call = api(seeded.key)
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await call('POST', '/vector_stores', { name: `s${i}` })).body.id)
    const first = await call('GET', '/vector_stores?limit=2&order=asc')
    assert.deepEqual(first.body.data.map((s: { id: string }) => s.id), ids.slice(0, 2))
    assert.equal(first.body.has_more, true)
    assert.equal(first.body.last_id, ids[1])
    const second = await call('GET', `/vector_stores?limit=2&order=asc&after=${ids[1]}`)
    assert.deepEqual(second.body.data.map((s: { id: string }) => s.id), ids.slice(2, 4))
    const back = await call('GET', `/vector_stores?limit=2&order=asc&before=${ids[4]}`)
    assert.deepEqual(back.body.data.map((s: { id: string }) => s.id), ids.slice(2, 4))
    assert.equal(back.body.has_more, true)
    const newest = await call('GET', '/vector_stores?limit=1')
    assert.deepEqual(newest.body.data.map((s: { id: string }) => s.id), [ids[4]])
  })

  it('updates a store and expires it', async () => {
    const call = api()
    const { body: store } = await call('POST', '/vector_stores', { name: 'temp', expires_after: { anchor: 'last_active_at', days: 1 } })
    assert.deepEqual(store.expires_after, { anchor: 'last_active_at', days: 1 })
    const dayLater = Date.parse(store.last_active_at) + 86_400_000
    assert.ok(Math.abs(Date.parse(store.expires_at) - dayLater) < 2000, store.expires_at)
    const updated = await call('POST', `/vector_stores/${store.id}`, { name: 'renamed', metadata: { a: 'b' }, expires_after: null })
    assert.equal(updated.status, 200, updated.text)
    assert.equal(updated.body.name, 'renamed')
    assert.deepEqual(updated.body.metadata, { a: 'b' })
    assert.equal(updated.body.expires_at, null)
    // Expired: gone from every read, then deleted by the sweep.
    await call('POST', `/vector_stores/${store.id}`, { expires_after: { anchor: 'last_active_at', days: 1 } })
    await ctx.database.db.execute(sql`update vector_stores set expires_at = now() - interval '1 second' where id = ${store.id}`)
    assert.equal((await call('GET', `/vector_stores/${store.id}`)).status, 404)
    assert.equal(await ctx.services.vectorStores.stores.deleteExpired(), 1)
  })

  it('indexes every supported text format and marks unreadable files as errors', async () => {
    const call = api()
    const { body: store } = await call('POST', '/vector_stores', { name: 'formats' })
    const good = await uploadText('<html><body><h1>Opening hours</h1><p>We open at nine.</p><script>var x</script></body></html>', 'hours.html')
    const broken = await uploadText('{"unterminated": ', 'broken.json')
    const empty = await uploadText('   ', 'empty.txt')
    for (const fileId of [good, broken, empty]) assert.equal((await call('POST', `/vector_stores/${store.id}/files`, { file_id: fileId })).status, 200)
    const done = await settled(store.id)
    assert.equal(done.status, 'error')
    assert.deepEqual(done.file_counts, { in_progress: 0, completed: 1, failed: 2, cancelled: 0, total: 3 })
    const failed = await call('GET', `/vector_stores/${store.id}/files?filter=failed`)
    assert.deepEqual(failed.body.data.map((f: { id: string }) => f.id).sort(), [broken, empty].sort())
    for (const file of failed.body.data) {
      assert.equal(file.status, 'error')
      assert.equal(file.last_error.code, 'invalid_file')
      assert.ok(file.last_error.message.length > 0)
    }
    const content = await call('GET', `/vector_stores/${store.id}/files/${good}/content`)
    assert.equal(content.body.data[0].text, 'Opening hours\n\nWe open at nine.')
  })

  it('takes a multipart upload straight into a store, with attributes', async () => {
    const { body: store } = await api()('POST', '/vector_stores', { name: 'direct' })
    const form = new FormData()
    form.append('file', new Blob(['Direct upload text.'], { type: 'text/plain' }), 'direct.txt')
    form.append('attributes', JSON.stringify({ region: 'eu' }))
    form.append('chunking_strategy', JSON.stringify({ type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } }))
    const response = await fetch(`${base}/vector_stores/${store.id}/files`, { method: 'POST', headers: { authorization: `Bearer ${owner.key}` }, body: form })
    const body = (await response.json()) as any
    assert.equal(response.status, 200, JSON.stringify(body))
    assert.deepEqual(body.attributes, { region: 'eu' })
    assert.deepEqual(body.chunking_strategy, { type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } })
    assert.equal((await api()('GET', `/files/${body.id}`)).body.filename, 'direct.txt')
    const bad = new FormData()
    bad.append('file', new Blob(['x']), 'x.txt')
    bad.append('attributes', '{oops')
    const refused = await fetch(`${base}/vector_stores/${store.id}/files`, { method: 'POST', headers: { authorization: `Bearer ${owner.key}` }, body: bad })
    assert.equal(refused.status, 422)
    assert.equal((await api()('GET', `/vector_stores/${store.id}/files`)).body.data.length, 1, 'the refused upload left nothing')
  })

  it('deleting a file removes it from every store', async () => {
    const { storeId, fileIds } = await storeWith([{ text: 'Shared handbook text.', filename: 'handbook.md' }])
    const { body: second } = await api()('POST', '/vector_stores', { name: 'second', file_ids: fileIds })
    await settled(second.id)
    assert.equal((await api()('DELETE', `/files/${fileIds[0]}`)).status, 200)
    for (const id of [storeId, second.id]) {
      const store = await api()('GET', `/vector_stores/${id}`)
      assert.equal(store.body.file_count, 0)
      assert.equal(store.body.usage_bytes, 0)
    }
    assert.equal((await ctx.database.db.select().from(vectorStoreChunks).where(eq(vectorStoreChunks.fileId, fileIds[0]!))).length, 0)
  })
})

describe('search', () => {
  let storeId: string
  let ids: { catalogue: string; refunds: string; decoy0: string }

  before(async () => {
    const decoys = Array.from({ length: 6 }, (_, i) => ({
      text: `Product SKU-4821${i + 4} is a steel kettle. SKU-4821${i + 4} ships in two days.`,
      filename: `decoy-${i}.md`,
      attributes: { kind: 'product', year: 2020 + i },
    }))
    // The exact code sits in a long document among many other words: lexical vectors dilute it.
    const filler = Array.from({ length: 120 }, (_, i) => `Section ${i} covers delivery windows, packaging, invoices and customer care topic ${i}.`).join(' ')
    const target = { text: `${filler} The discontinued item SKU-48213 was replaced in March. ${filler}`, filename: 'catalogue.md', attributes: { kind: 'catalogue', year: 2024, region: 'eu' } }
    const policy = { text: 'Refund policy: customers may return purchases within thirty days for a full refund.', filename: 'refunds.md', attributes: { kind: 'policy', year: 2023, region: 'us' } }
    const built = await storeWith([...decoys, target, policy])
    storeId = built.storeId
    ids = { catalogue: built.fileIds[6]!, refunds: built.fileIds[7]!, decoy0: built.fileIds[0]! }
  })

  const search = (body: unknown) => api()('POST', `/vector_stores/${storeId}/search`, body)

  it('finds an exact code that pure vector search misses', async () => {
    const query = { query: 'SKU-48213' }
    const fused = await search({ ...query, max_num_results: 3 })
    assert.equal(fused.status, 200, fused.text)
    assert.equal(fused.body.object, 'vector_store.search_results.page')
    assert.deepEqual(fused.body.search_query, ['SKU-48213'])
    assert.equal(fused.body.search_mode, hybrid ? 'hybrid' : 'full_text')
    assert.equal(fused.body.data[0].file_id, ids.catalogue, JSON.stringify(fused.body.data.map((r: any) => r.filename)))
    if (!hybrid) return
    const vectorOnly = await search({ ...query, max_num_results: 3, ranking_options: { hybrid_search: { embedding_weight: 1, text_weight: 0 } } })
    assert.notEqual(vectorOnly.body.data[0].file_id, ids.catalogue, 'the embedded lexical embedder alone ranks a decoy first')
    const textOnly = await search({ ...query, max_num_results: 3, ranking_options: { hybrid_search: { embedding_weight: 0, text_weight: 1 } } })
    assert.equal(textOnly.body.data[0].file_id, ids.catalogue)
  })

  it('finds paraphrase-free natural questions through both sides', async () => {
    const found = await search({ query: 'how do I get a refund for a purchase?', max_num_results: 2 })
    assert.equal(found.body.data[0].file_id, ids.refunds)
    assert.equal(found.body.data[0].score, 1, 'first in every ranking')
    assert.deepEqual(found.body.data[0].attributes, { kind: 'policy', year: 2023, region: 'us' })
  })

  it('filters on attributes', async () => {
    const only = async (filters: unknown) => (await search({ query: 'kettle refund SKU catalogue delivery', max_num_results: 50, filters })).body.data.map((r: any) => r.file_id) as string[]
    assert.deepEqual([...new Set(await only({ key: 'kind', type: 'eq', value: 'policy' }))], [ids.refunds])
    assert.deepEqual([...new Set(await only({ type: 'and', filters: [{ key: 'year', type: 'gte', value: 2023 }, { key: 'region', type: 'in', value: ['eu', 'us'] }] }))].sort(), [ids.catalogue, ids.refunds].sort())
    const products = new Set(await only({ key: 'kind', type: 'eq', value: 'product' }))
    assert.equal(products.size, 6)
    assert.ok(!products.has(ids.catalogue))
    assert.deepEqual(await only({ key: 'kind', type: 'eq', value: 'nothing' }), [])
  })

  it('honours max_num_results and score_threshold', async () => {
    const all = await search({ query: 'kettle ships', max_num_results: 50 })
    assert.ok(all.body.data.length > 3)
    const scores: number[] = all.body.data.map((r: any) => r.score)
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'best first')
    assert.equal((await search({ query: 'kettle ships', max_num_results: 3 })).body.data.length, 3)
    const threshold = scores[2]!
    const above = await search({ query: 'kettle ships', max_num_results: 50, ranking_options: { score_threshold: threshold } })
    assert.ok(above.body.data.length >= 3 && above.body.data.length < all.body.data.length)
    assert.ok(above.body.data.every((r: any) => r.score >= threshold))
    assert.deepEqual((await search({ query: 'kettle', ranking_options: { score_threshold: 1 }, rewrite_query: true })).body.data.length <= 1, true)
  })

  it('answers the same through the HNSW index as through the exact scan', async (t) => {
    if (!hybrid) return t.skip('no pgvector on this database')
    const stores = ctx.services.vectorStores.stores
    const embedder = createLocalEmbedder()
    const exact = new VectorStoreSearch(ctx.database, stores, embedder, { exactScanMaxChunks: Number.POSITIVE_INFINITY })
    const indexed = new VectorStoreSearch(ctx.database, stores, embedder, { exactScanMaxChunks: 0, exactScanFilteredShare: 0 })
    const vectorOnly = { embedding: 1, text: 0 }
    for (const query of ['steel kettle ships', 'refund policy', 'catalogue delivery windows']) {
      const request = { projectId: owner.projectId, vectorStoreIds: [storeId], queries: [query], maxResults: 5, weights: vectorOnly }
      const a = (await exact.search(request)).results.map((r) => r.content[0]!.text)
      const b = (await indexed.search(request)).results.map((r) => r.content[0]!.text)
      assert.deepEqual(b, a, query)
    }
    const filtered = await indexed.search({ projectId: owner.projectId, vectorStoreIds: [storeId], queries: ['kettle'], maxResults: 5, weights: vectorOnly, filters: { key: 'kind', type: 'eq', value: 'policy' } })
    assert.deepEqual(filtered.results.map((r) => r.file_id), [ids.refunds], 'filters hold on the index path too')
  })

  it('scans exactly within the files a filter keeps, store by store', async (t) => {
    if (!hybrid) return t.skip('no pgvector on this database')
    // One file in two stores with different attributes: the filter keeps it in one store only.
    const { storeId: first, fileIds: [shared, other] } = await storeWith([
      { text: 'The copper kettle whistles when the water boils.', filename: 'kettle.md', attributes: { shelf: 'a' } },
      { text: 'A copper pan heats evenly on any stove.', filename: 'pan.md', attributes: { shelf: 'b' } },
    ])
    const second = (await api()('POST', '/vector_stores', { name: 'second' })).body.id
    assert.equal((await api()('POST', `/vector_stores/${second}/files`, { file_id: shared, attributes: { shelf: 'b' } })).status, 200)
    await settled(second)
    const stores = ctx.services.vectorStores.stores
    const embedder = createLocalEmbedder()
    // Every filtered search scans exactly; the other searcher goes through the HNSW index.
    const exact = new VectorStoreSearch(ctx.database, stores, embedder, { exactScanMaxChunks: 0, exactScanFilteredShare: 1 })
    const indexed = new VectorStoreSearch(ctx.database, stores, embedder, { exactScanMaxChunks: 0, exactScanFilteredShare: 0 })
    const request = { projectId: owner.projectId, vectorStoreIds: [first, second], queries: ['copper kettle'], maxResults: 5, weights: { embedding: 1, text: 0 }, filters: { key: 'shelf', type: 'eq' as const, value: 'b' } }
    const found = (await exact.search(request)).results.map((r) => `${r.vector_store_id}/${r.file_id}`)
    assert.deepEqual(found, [`${second}/${shared}`, `${first}/${other}`], 'the kettle counts in the store where its shelf is b only')
    assert.deepEqual((await indexed.search(request)).results.map((r) => `${r.vector_store_id}/${r.file_id}`), found)
    const nothing = await exact.search({ ...request, filters: { key: 'shelf', type: 'eq', value: 'z' } })
    assert.deepEqual(nothing.results, [])
  })

  it('lets only rarer words qualify a chunk for the full-text list', async () => {
    const common = Array.from({ length: 30 }, (_, i) => ({ text: `Delivery note ${i}: parcel ${i} left the warehouse.`, filename: `note-${i}.md` }))
    const { storeId: notes, fileIds } = await storeWith([...common, { text: 'Delivery of the copper kettle is free.', filename: 'kettle.md' }])
    await ctx.database.db.execute(sql`analyze vector_store_chunks`)
    const textOnly = { embedding: 0, text: 1 }
    const request = (query: string) => ({ projectId: owner.projectId, vectorStoreIds: [notes], queries: [query], maxResults: 50, weights: textOnly })
    const pruning = new VectorStoreSearch(ctx.database, ctx.services.vectorStores.stores, undefined, { commonTermRows: 20 })
    const everything = new VectorStoreSearch(ctx.database, ctx.services.vectorStores.stores, undefined, { commonTermRows: 1_000_000 })
    assert.equal((await everything.search(request('delivery kettle'))).results.length, 31)
    const pruned = await pruning.search(request('delivery kettle'))
    assert.deepEqual(pruned.results.map((r) => r.file_id), [fileIds[30]], '"delivery" is in every chunk: it no longer qualifies one alone')
    // All words common: the chunks must have all of them.
    assert.equal((await pruning.search(request('delivery warehouse'))).results.length, 30)
    assert.equal((await pruning.search(request('delivery'))).results.length, 31)
    assert.deepEqual((await pruning.search(request('delivery -warehouse'))).results.map((r) => r.file_id), [fileIds[30]])
  })

  it('gives the iterative HNSW scan a budget that follows the share of rows that pass', () => {
    const options = { candidates: 50, minScanTuples: 5_000, maxScanTuples: 20_000 }
    assert.equal(scanBudget(100_000, 107_000, options), 5_000, 'the whole store: the floor')
    assert.equal(scanBudget(30_000, 107_000, options), 5_000, 'a broad filter: the floor, however far its rows are from the query')
    assert.equal(scanBudget(1_000, 100_000, options), 10_000, '1% of the table: 2 × 50 ÷ 1%')
    assert.equal(scanBudget(2_000, 1_000_000, options), 20_000, '0.2% of the table: the ceiling')
    assert.equal(scanBudget(5_000, -1, options), 20_000, 'never analysed: the ceiling')
    assert.equal(scanBudget(0, 100_000, options), 20_000)
  })

  it('splits a websearch query into its terms', () => {
    assert.deepEqual(topLevelTerms("'sku' <-> '-48213' & 'price'"), ["'sku' <-> '-48213'", "'price'"])
    assert.deepEqual(topLevelTerms("'a' & !( 'b' <-> 'c' ) & 'd' | 'e'"), ["'a'", "!( 'b' <-> 'c' )", "'d' | 'e'"])
    assert.deepEqual(topLevelTerms("'it''s & fine' & 'x'"), ["'it''s & fine'", "'x'"])
    assert.deepEqual(topLevelTerms(''), [])
  })

  it('accepts several queries and fuses them', async () => {
    const both = await search({ query: ['SKU-48213', 'refund policy'], max_num_results: 5 })
    const files = both.body.data.map((r: any) => r.file_id)
    assert.ok(files.includes(ids.catalogue) && files.includes(ids.refunds), JSON.stringify(files))
  })
})
