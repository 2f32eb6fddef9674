import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, eq } from 'drizzle-orm'
import { idempotencyKeys, messages } from '../../../src/schema.ts'
import { IdempotencyStore } from '../../../src/platform/http/idempotency/index.ts'
import { createTestContext, serveOnLoopback, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded
let other: Seeded
let api: Call

before(async () => {
  ctx = await createTestContext()
  owner = await ctx.seed()
  other = await ctx.seed()
  api = ctx.asKey(owner.key)
})
after(() => ctx.close())

const withKey = (key: string, extra: Record<string, string> = {}) => ({ 'idempotency-key': key, ...extra })

async function echoChat(call: Call = api): Promise<string> {
  const bot = await call('POST', '/bots', { name: 'Echo' })
  await call('POST', `/bots/${bot.body.id}/settings`, { ai: { model: { id: 'local/echo' } } })
  return (await call('POST', '/chats', { bot_id: bot.body.id, name: 'API' })).body.id
}

describe('Idempotency-Key on POST', () => {
  it('runs the first request once and replays its answer to the same request', async () => {
    const first = await api('POST', '/bots', { name: 'Once' }, withKey('create-once'))
    assert.equal(first.status, 200, first.text)
    assert.equal(first.headers.get('idempotent-replayed'), null)
    const again = await api('POST', '/bots', { name: 'Once' }, withKey('create-once'))
    assert.equal(again.status, 200)
    assert.equal(again.headers.get('idempotent-replayed'), 'true')
    assert.deepEqual(again.body, first.body)
    assert.equal(again.headers.get('content-type'), first.headers.get('content-type'))
    const bots = (await api('GET', '/bots?limit=1000')).body.filter((bot: any) => bot.name === 'Once')
    assert.equal(bots.length, 1)
  })

  it('refuses the key for another request with a 409 that says not to retry', async () => {
    assert.equal((await api('POST', '/bots', { name: 'First body' }, withKey('reused-key'))).status, 200)
    const otherBody = await api('POST', '/bots', { name: 'Second body' }, withKey('reused-key'))
    assert.equal(otherBody.status, 409)
    assert.equal(otherBody.body.code, 'idempotency_key_reused')
    assert.equal(otherBody.headers.get('x-should-retry'), 'false')
    const otherPath = await api('POST', '/chats', { name: 'First body' }, withKey('reused-key'))
    assert.equal(otherPath.body.code, 'idempotency_key_reused')
  })

  it('keeps keys per project: another project may use the same key for its own request', async () => {
    const mine = await api('POST', '/bots', { name: 'Shared key' }, withKey('shared-key'))
    const theirs = await ctx.asKey(other.key)('POST', '/bots', { name: 'Shared key' }, withKey('shared-key'))
    assert.equal(theirs.status, 200)
    assert.equal(theirs.headers.get('idempotent-replayed'), null)
    assert.notEqual(theirs.body.id, mine.body.id)
    assert.equal((await ctx.asKey(other.key)('GET', `/bots/${mine.body.id}`)).status, 404)
  })

  it('runs concurrent requests with one key once: the others replay or are told to retry', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => api('POST', '/bots', { name: 'Raced' }, withKey('raced-key'))))
    const created = new Set(answers.filter((answer) => answer.status === 200).map((answer) => answer.body.id))
    assert.equal(created.size, 1)
    for (const answer of answers.filter((answer) => answer.status !== 200)) {
      assert.equal(answer.status, 409)
      assert.equal(answer.body.code, 'idempotency_key_in_use')
      assert.equal(answer.headers.get('retry-after'), '1')
    }
    const bots = (await api('GET', '/bots?limit=1000')).body.filter((bot: any) => bot.name === 'Raced')
    assert.equal(bots.length, 1)
  })

  it('releases the key when the answer is not final (a 409 conflict), so the retry runs anew', async () => {
    const chatId = await echoChat()
    await api('POST', `/chats/${chatId}/threads/t-release/stream`, { messages: [{ role: 'user', content: 'hello' }] })
    const refused = await api('POST', '/threads/t-release/send', { text: 'Operator here' }, withKey('send-once'))
    assert.equal(refused.status, 409)
    assert.equal(refused.body.code, 'mode_forbids_reply')
    assert.equal(refused.headers.get('x-should-retry'), 'false')
    await api('POST', `/chats/${chatId}/threads/t-release/mode`, { mode: 'manual' })
    const sent = await api('POST', '/threads/t-release/send', { text: 'Operator here' }, withKey('send-once'))
    assert.equal(sent.status, 200, sent.text)
    const replayed = await api('POST', '/threads/t-release/send', { text: 'Operator here' }, withKey('send-once'))
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true')
    assert.deepEqual(replayed.body, sent.body)
  })

  it('replays a final client error as it was (a 422 stays a 422)', async () => {
    const first = await api('POST', '/bots', { name: '' }, withKey('invalid-once'))
    assert.equal(first.status, 422)
    const again = await api('POST', '/bots', { name: '' }, withKey('invalid-once'))
    assert.equal(again.status, 422)
    assert.equal(again.headers.get('idempotent-replayed'), 'true')
    assert.deepEqual(again.body, first.body)
  })

  it('records a streamed reply and replays the same bytes without a second turn', async () => {
    const chatId = await echoChat()
    const body = { messages: [{ role: 'user', content: 'Say it once' }] }
    const first = await api('POST', `/chats/${chatId}/threads/t-stream/stream`, body, withKey('stream-once'))
    assert.equal(first.status, 200)
    assert.match(first.text, /data: \[DONE\]/)
    const again = await api('POST', `/chats/${chatId}/threads/t-stream/stream`, body, withKey('stream-once'))
    assert.equal(again.status, 200)
    assert.equal(again.headers.get('idempotent-replayed'), 'true')
    assert.match(again.headers.get('content-type') ?? '', /^text\/event-stream/)
    assert.equal(again.text, first.text)
    const stored = await ctx.database.db.select().from(messages).where(and(eq(messages.projectId, owner.projectId), eq(messages.threadId, 't-stream')))
    assert.deepEqual(stored.map((message) => message.role).sort(), ['assistant', 'user'])
  })

  it('treats a re-encoded multipart upload (a new boundary) as the same request', async () => {
    const upload = () => {
      const form = new FormData()
      form.set('purpose', 'assistants')
      form.set('file', new File(['Returns within 30 days.'], 'policy.txt', { type: 'text/plain' }))
      return ctx.publicApp.request('/files', { method: 'POST', body: form, headers: { authorization: `Bearer ${owner.key}`, 'idempotency-key': 'upload-once' } })
    }
    const first = await upload()
    const firstBody = await first.json()
    assert.equal(first.status, 200, JSON.stringify(firstBody))
    const again = await upload()
    assert.equal(again.headers.get('idempotent-replayed'), 'true')
    assert.deepEqual(await again.json(), firstBody)
    const files = (await api('GET', '/files')).body.data.filter((file: any) => file.filename === 'policy.txt')
    assert.equal(files.length, 1)
  })

  it('works through a real listener, with and without a body', async () => {
    const served = await serveOnLoopback(ctx.publicApp)
    try {
      const headers = { authorization: `Bearer ${owner.key}`, 'idempotency-key': 'over-http' }
      const bot = await fetch(`${served.base}/bots`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Over HTTP' }) })
      assert.equal(bot.status, 200, await bot.clone().text())
      const { id } = (await bot.json()) as { id: string }
      // No body at all (a clone): the empty body read for the fingerprint must not break the route.
      const clone = await fetch(`${served.base}/bots/${id}/clone`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'clone-over-http' } })
      assert.equal(clone.status, 200, await clone.clone().text())
      const again = await fetch(`${served.base}/bots/${id}/clone`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'clone-over-http' } })
      assert.equal(again.headers.get('idempotent-replayed'), 'true')
      assert.deepEqual(await again.json(), await clone.json())
    } finally {
      await served.close()
    }
  })

  it('refuses a malformed key with a 422 naming the header, and ignores the header on GET', async () => {
    for (const key of ['', 'has space', 'x'.repeat(256), 'caf\u00e9']) {
      const answer = await api('POST', '/bots', { name: 'Bad key' }, withKey(key))
      assert.equal(answer.status, 422, `key ${JSON.stringify(key)}`)
      assert.equal(answer.body.details[0].path, 'Idempotency-Key')
    }
    assert.equal((await api('GET', '/bots', undefined, withKey('a get'))).status, 200)
  })

  it('answers a plain 409 with x-should-retry: false, so SDKs do not retry a state conflict', async () => {
    const chatId = await echoChat()
    await api('POST', `/chats/${chatId}/threads/t-plain/stream`, { messages: [{ role: 'user', content: 'hi' }] })
    const refused = await api('POST', '/threads/t-plain/send', { text: 'x' })
    assert.equal(refused.status, 409)
    assert.equal(refused.headers.get('x-should-retry'), 'false')
  })
})

describe('the key store', () => {
  const fingerprint = 'f'.repeat(64)

  it('takes over a key whose attempt stopped renewing its claim, and only for the same request', async () => {
    const store = new IdempotencyStore(ctx.database.db, { leaseMs: 50 })
    assert.equal((await store.claim(owner.projectId, 'abandoned', fingerprint)).kind, 'run')
    assert.equal((await store.claim(owner.projectId, 'abandoned', fingerprint)).kind, 'in-use')
    await sleep(80)
    assert.equal((await store.claim(owner.projectId, 'abandoned', 'e'.repeat(64))).kind, 'reused')
    assert.equal((await store.claim(owner.projectId, 'abandoned', fingerprint)).kind, 'run')
  })

  it('forgets keys after the retention, and prunes them', async () => {
    const store = new IdempotencyStore(ctx.database.db, { retentionMs: 50 })
    assert.equal((await store.claim(owner.projectId, 'expiring', fingerprint)).kind, 'run')
    await store.complete(owner.projectId, 'expiring', { status: 200, headers: {}, body: new TextEncoder().encode('{}') })
    assert.equal((await store.claim(owner.projectId, 'expiring', fingerprint)).kind, 'replay')
    await sleep(80)
    assert.equal((await store.claim(owner.projectId, 'expiring', 'e'.repeat(64))).kind, 'run')
    await store.complete(owner.projectId, 'expiring', { status: 200, headers: {}, body: new Uint8Array() })
    await sleep(80)
    await store.prune()
    const left = await ctx.database.db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.projectId, owner.projectId), eq(idempotencyKeys.key, 'expiring')))
    assert.equal(left.length, 0)
  })
})
