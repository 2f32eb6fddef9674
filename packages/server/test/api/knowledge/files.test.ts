import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import OpenAI, { toFile } from 'openai'
import { eq } from 'drizzle-orm'
import { createApp } from '../../../src/app.ts'
import { fileBlobs } from '../../../src/schema.ts'
import { createTestContext, serveOnLoopback, silentLogger, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded
let served: Awaited<ReturnType<typeof serveOnLoopback>>
let base: string
let openai: OpenAI

before(async () => {
  // A small file limit, to reach 413 without a 50 MiB body.
  ctx = await createTestContext({ services: { fileMaxBytes: 64 * 1024 } })
  owner = await ctx.seed()
  const app = createApp({ kind: 'public', services: ctx.services, logger: silentLogger })
  served = await serveOnLoopback(app)
  base = served.base
  openai = new OpenAI({ apiKey: owner.key, baseURL: base, maxRetries: 0 })
})
after(async () => {
  await served.close()
  await ctx.close()
})

function upload(parts: { file?: Blob & { name?: string }; filename?: string; purpose?: string }, key = owner.key) {
  const form = new FormData()
  if (parts.file) form.append('file', parts.file, parts.filename ?? 'notes.txt')
  if (parts.purpose !== undefined) form.append('purpose', parts.purpose)
  return fetch(`${base}/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
}

describe('files through the official openai client', () => {
  it('uploads, lists, retrieves, downloads and deletes', async () => {
    const text = 'Return policy: 30 days.\nЗаказ можно вернуть в течение 30 дней.\n'
    const created = await openai.files.create({ file: await toFile(Buffer.from(text), 'policy.md', { type: 'text/markdown' }), purpose: 'assistants' })
    assert.match(created.id, /^file_/)
    assert.equal(created.object, 'file')
    assert.equal(created.filename, 'policy.md')
    assert.equal(created.purpose, 'assistants')
    assert.equal(created.bytes, Buffer.byteLength(text))
    assert.equal(typeof created.created_at, 'number')

    const retrieved = await openai.files.retrieve(created.id)
    assert.deepEqual(retrieved, created)
    const listed = await openai.files.list()
    assert.ok(listed.data.some((file) => file.id === created.id))
    const content = await openai.files.content(created.id)
    assert.equal(await content.text(), text)
    assert.equal(content.headers.get('content-type'), 'text/markdown')

    const deleted = await openai.files.delete(created.id)
    assert.deepEqual(deleted, { id: created.id, object: 'file', deleted: true })
    await assert.rejects(openai.files.retrieve(created.id), (error: unknown) => error instanceof OpenAI.NotFoundError)
    assert.equal((await ctx.database.db.select().from(fileBlobs).where(eq(fileBlobs.fileId, created.id))).length, 0, 'bytes gone too')
  })

  it('pages with limit, order and after', async () => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await openai.files.create({ file: await toFile(Buffer.from(`file ${i}`), `page-${i}.txt`), purpose: 'user_data' })).id)
    const firstPage = await openai.files.list({ limit: 2, order: 'asc', purpose: 'user_data' })
    assert.deepEqual(firstPage.data.map((f) => f.id), ids.slice(0, 2))
    assert.equal(firstPage.has_more, true)
    // The client's auto-pagination follows `after` to the end.
    const all: string[] = []
    for await (const file of openai.files.list({ limit: 2, order: 'asc', purpose: 'user_data' })) all.push(file.id)
    assert.deepEqual(all, ids)
    const newest = await openai.files.list({ limit: 1, purpose: 'user_data' })
    assert.equal(newest.data[0]!.id, ids[4])
  })
})

describe('upload validation', () => {
  it('refuses what it cannot store or index, with the error shape', async () => {
    const cases: Array<[Parameters<typeof upload>[0], number, RegExp]> = [
      [{ purpose: 'assistants' }, 422, /file/],
      [{ file: new Blob(['x']), purpose: 'nope' }, 422, /purpose/],
      [{ file: new Blob(['x']) }, 422, /purpose/],
      [{ file: new Blob([new Uint8Array([0, 1, 2])], { type: 'application/x-msdownload' }), filename: 'tool.exe', purpose: 'assistants' }, 422, /unsupported file type '\.exe'/],
      [{ file: new Blob(['x'.repeat(64 * 1024 + 1)]), purpose: 'assistants' }, 413, /larger than 65536 bytes/],
      [{ file: new Blob(['x'.repeat(300 * 1024)]), purpose: 'assistants' }, 413, /larger than 65536 bytes/],
    ]
    for (const [parts, status, message] of cases) {
      const response = await upload(parts)
      const body = (await response.json()) as { error: string; message: string }
      assert.equal(response.status, status, JSON.stringify(body))
      assert.equal(typeof body.error, 'string')
      assert.match(body.message, message)
    }
    const json = await fetch(`${base}/files`, { method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' }, body: '{"purpose":"assistants"}' })
    assert.ok([400, 422].includes(json.status))
    assert.deepEqual((await openai.files.list({ purpose: 'assistants' })).data.filter((f) => f.filename === 'tool.exe'), [])
  })

  it("hides another project's files everywhere", async () => {
    const mine = await openai.files.create({ file: await toFile(Buffer.from('secret'), 'mine.txt'), purpose: 'assistants' })
    const other = await ctx.seed()
    const stranger = new OpenAI({ apiKey: other.key, baseURL: base, maxRetries: 0 })
    await assert.rejects(stranger.files.retrieve(mine.id), OpenAI.NotFoundError)
    await assert.rejects(stranger.files.content(mine.id), OpenAI.NotFoundError)
    await assert.rejects(stranger.files.delete(mine.id), OpenAI.NotFoundError)
    assert.deepEqual((await stranger.files.list()).data, [])
    assert.equal((await openai.files.retrieve(mine.id)).id, mine.id)
  })
})
