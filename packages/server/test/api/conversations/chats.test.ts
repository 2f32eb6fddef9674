import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { after, afterEach, before, describe, it } from 'node:test'
import { and, asc, eq } from 'drizzle-orm'
import { chats, events, messages, threads, webhookDeliveries } from '../../../src/schema.ts'
import { openDatabase } from '../../../src/platform/db/client.ts'
import { newId } from '../../../src/platform/db/ids.ts'
import { migrate } from '../../../src/platform/db/migrate.ts'
import { createScratchDatabase, createTestContext, dropScratchDatabase, openaiAt, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext
let owner: Seeded
let api: Call

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({
    services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, webhooksAllowPrivate: true },
  })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

/** A bot without title generation (so every model request is a turn) and, unless told otherwise, one chat for it. */
async function newBot(call: Call = api): Promise<string> {
  const bot = await call('POST', '/bots', { name: 'Assistant' })
  assert.equal(bot.status, 200, bot.text)
  assert.equal((await call('POST', `/bots/${bot.body.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
  return bot.body.id
}

async function newChat(name = 'Website', botId?: string, call: Call = api): Promise<{ botId: string; chatId: string }> {
  const bot = botId ?? (await newBot(call))
  const chat = await call('POST', '/chats', { bot_id: bot, name })
  assert.equal(chat.status, 200, chat.text)
  return { botId: bot, chatId: chat.body.id }
}

function send(chatId: string, threadId: string, content: string | string[], call: Call = api) {
  const list = Array.isArray(content) ? content : [content]
  return call('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: list.map((text) => ({ role: 'user', content: text })) })
}

async function chatRows(projectId = owner.projectId) {
  return ctx.database.db.select().from(chats).where(eq(chats.projectId, projectId)).orderBy(asc(chats.createdAt), asc(chats.id))
}

describe('updating a chat', () => {
  it('renames it and merges settings (JSON Merge Patch); fields left out keep their values', async () => {
    const { botId } = await newChat('Placeholder')
    const created = await api('POST', '/chats', { bot_id: botId, name: 'Shop', settings: { locale: 'en', widget: { color: 'blue', position: 'right' }, tags: ['a', 'b'] } })
    assert.equal(created.status, 200, created.text)
    assert.deepEqual(created.body.settings, { locale: 'en', widget: { color: 'blue', position: 'right' }, tags: ['a', 'b'] })
    const chatId = created.body.id

    const renamed = await api('POST', `/chats/${chatId}`, { name: '  Shop (EU)  ' })
    assert.equal(renamed.status, 200, renamed.text)
    assert.equal(renamed.body.name, 'Shop (EU)')
    assert.deepEqual(renamed.body.settings, created.body.settings)
    assert.ok(renamed.body.updated_at > created.body.updated_at)

    const patched = await api('POST', `/chats/${chatId}`, { settings: { widget: { position: null, size: 'large' }, tags: ['c'], greeting: 'Hallo' } })
    assert.equal(patched.status, 200, patched.text)
    assert.equal(patched.body.name, 'Shop (EU)')
    assert.deepEqual(patched.body.settings, { locale: 'en', widget: { color: 'blue', size: 'large' }, tags: ['c'], greeting: 'Hallo' })
    assert.deepEqual((await api('GET', `/chats/${chatId}`)).body, patched.body)
    assert.deepEqual((await api('GET', '/chats')).body.find((c: any) => c.id === chatId), patched.body)

    // Nothing to change: the chat as it is, updated_at untouched.
    const same = await api('POST', `/chats/${chatId}`, {})
    assert.deepEqual(same.body, patched.body)
    assert.deepEqual((await api('POST', `/chats/${chatId}`, { name: 'Shop (EU)', settings: { locale: 'en' } })).body, patched.body)
  })

  it('refuses invalid bodies with 400/422 naming the field, and changes nothing', async () => {
    const { chatId } = await newChat()
    const before = await chatRows()
    const deep = Array.from({ length: 17 }).reduce<unknown>((inner) => ({ d: inner }), 1)
    const cases: Array<[unknown, number, RegExp]> = [
      [{ name: '' }, 422, /name/],
      [{ name: 'x'.repeat(201) }, 422, /name/],
      [{ name: 'nul\u0000' }, 422, /name/],
      [{ settings: [] }, 422, /settings/],
      [{ settings: 'x' }, 422, /settings/],
      [{ settings: null }, 422, /settings/],
      [{ settings: { a: 'nul\u0000inside' } }, 422, /settings: a: must not contain NUL/],
      [{ settings: { 'key\u0000': 1 } }, 422, /settings: has a key that must not contain NUL/],
      [{ settings: { list: ['ok', '\ud800'] } }, 422, /settings: list\.1: must be well-formed Unicode/],
      [{ settings: deep }, 422, /settings: .*nested at most 16/],
      [{ settings: { big: 'x'.repeat(17_000) } }, 422, /settings: must be at most 16384 bytes/],
      [{ status: 'disabled' }, 422, /status/],
      [{ bot_id: 'bot_x' }, 422, /bot_id/],
    ]
    for (const [body, status, message] of cases) {
      const response = await api('POST', `/chats/${chatId}`, body)
      assert.equal(response.status, status, `${JSON.stringify(body).slice(0, 80)} → ${response.text}`)
      assert.equal(response.body.code, 'invalid_request')
      assert.match(response.body.message, message)
    }
    assert.equal((await api('POST', `/chats/${chatId}`, 'not json', { 'content-type': 'application/json' })).status, 400)
    assert.deepEqual(await chatRows(), before)
  })

  it('counts the size of the merged settings, not of the patch', async () => {
    const { chatId } = await newChat()
    assert.equal((await api('POST', `/chats/${chatId}`, { settings: { a: 'x'.repeat(9000) } })).status, 200)
    const tooMuch = await api('POST', `/chats/${chatId}`, { settings: { b: 'y'.repeat(9000) } })
    assert.equal(tooMuch.status, 422)
    assert.deepEqual(Object.keys((await api('GET', `/chats/${chatId}`)).body.settings), ['a'])
    // Removing one key while adding the other fits.
    assert.equal((await api('POST', `/chats/${chatId}`, { settings: { a: null, b: 'y'.repeat(9000) } })).status, 200)
  })

  it('concurrent patches to different keys all survive', async () => {
    const { chatId } = await newChat()
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api('POST', `/chats/${chatId}`, { settings: { [`k${i}`]: i } })))
    assert.ok(results.every((r) => r.status === 200))
    assert.deepEqual(Object.keys((await api('GET', `/chats/${chatId}`)).body.settings).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'])
  })

  it('an unknown chat is 404', async () => {
    assert.equal((await api('POST', '/chats/chat_nope', { name: 'x' })).status, 404)
    assert.equal((await api('POST', '/chats/chat_nope/status', { status: 'active' })).status, 404)
    assert.equal((await api('DELETE', '/chats/chat_nope')).status, 404)
  })
})

describe('chat names', () => {
  it("are unique among a bot's chats, case-insensitively, on create and on update (409 name_taken)", async () => {
    const { botId, chatId } = await newChat('Website')
    const before = await chatRows()
    for (const name of ['Website', 'website', ' WEBSITE ']) {
      const duplicate = await api('POST', '/chats', { bot_id: botId, name })
      assert.equal(duplicate.status, 409, name)
      assert.equal(duplicate.body.code, 'name_taken')
      assert.equal(duplicate.body.error, 'Conflict')
      assert.match(duplicate.body.message, /already exists/)
    }
    assert.deepEqual(await chatRows(), before, 'no row written')

    // Another bot may use the name; another name is fine for this bot.
    assert.equal((await api('POST', '/chats', { bot_id: await newBot(), name: 'Website' })).status, 200)
    const other = await api('POST', '/chats', { bot_id: botId, name: 'Telegram' })
    assert.equal(other.status, 200)

    const rename = await api('POST', `/chats/${other.body.id}`, { name: 'WebSite', settings: { changed: true } })
    assert.equal(rename.status, 409)
    assert.equal(rename.body.code, 'name_taken')
    const unchanged = (await api('GET', `/chats/${other.body.id}`)).body
    assert.equal(unchanged.name, 'Telegram')
    assert.deepEqual(unchanged.settings, {}, 'the settings of a refused update are not kept either')

    // A chat may change the case of its own name.
    assert.equal((await api('POST', `/chats/${chatId}`, { name: 'WEBSITE' })).body.name, 'WEBSITE')
    // A deleted chat's name is free again.
    assert.equal((await api('DELETE', `/chats/${chatId}`)).status, 200)
    assert.equal((await api('POST', '/chats', { bot_id: botId, name: 'website' })).status, 200)
  })

  it('concurrent creates of one name: exactly one wins', async () => {
    const botId = await newBot()
    const results = await Promise.all(Array.from({ length: 6 }, () => api('POST', '/chats', { bot_id: botId, name: 'Race' })))
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409, 409, 409, 409, 409])
    assert.ok(results.filter((r) => r.status === 409).every((r) => r.body.code === 'name_taken'))
    assert.equal((await chatRows()).filter((row) => row.botId === botId).length, 1)
  })

  it('concurrent renames to one name: exactly one wins', async () => {
    const botId = await newBot()
    const ids = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => (await newChat(name, botId)).chatId))
    const results = await Promise.all(ids.map((id) => api('POST', `/chats/${id}`, { name: 'Same' })))
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409, 409, 409])
    const winner = results.findIndex((r) => r.status === 200)
    const names = ['a', 'b', 'c', 'd'].map((name, i) => (i === winner ? 'Same' : name))
    assert.deepEqual((await chatRows()).filter((row) => row.botId === botId).map((row) => row.name).sort(), names.sort())
  })
})

describe('chat status', () => {
  it('a disabled chat refuses new messages; reactivated, it talks again', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: 'Hello!' })
    assert.equal((await send(chatId, 't-status', 'hi')).status, 200)

    const disabled = await api('POST', `/chats/${chatId}/status`, { status: 'disabled' })
    assert.equal(disabled.status, 200, disabled.text)
    assert.equal(disabled.body.status, 'disabled')
    assert.equal((await api('GET', `/chats/${chatId}`)).body.status, 'disabled')
    const requestsBefore = llm.chatRequests().length
    for (const threadId of ['t-status', 't-new']) {
      const refused = await send(chatId, threadId, 'are you there?')
      assert.equal(refused.status, 409)
      assert.equal(refused.body.code, 'chat_disabled')
    }
    assert.equal(llm.chatRequests().length, requestsBefore, 'no model call')
    // Nothing was stored, no thread was created; the history stays readable.
    const history = await api('GET', `/chats/${chatId}/threads/t-status/messages`)
    assert.deepEqual(history.body.map((m: any) => m.content), ['hi', 'Hello!'])
    assert.deepEqual((await api('GET', `/chats/${chatId}/threads`)).body.map((t: any) => t.id), ['t-status'])
    // Idempotent.
    assert.equal((await api('POST', `/chats/${chatId}/status`, { status: 'disabled' })).body.updated_at, disabled.body.updated_at)

    const active = await api('POST', `/chats/${chatId}/status`, { status: 'active' })
    assert.equal(active.body.status, 'active')
    assert.equal((await send(chatId, 't-status', 'back?')).status, 200)
  })

  it('only active and disabled can be set', async () => {
    const { chatId } = await newChat()
    for (const body of [{ status: 'error' }, { status: 'paused' }, { status: null }, {}, { status: 'active', name: 'x' }]) {
      const response = await api('POST', `/chats/${chatId}/status`, body)
      assert.equal(response.status, 422, JSON.stringify(body))
      assert.equal(response.body.code, 'invalid_request')
    }
    assert.equal((await api('POST', `/chats/${chatId}/status`)).status, 400)
    assert.equal((await api('GET', `/chats/${chatId}`)).body.status, 'active')
  })
})

describe('deleting a chat', () => {
  it('a reply whose thread was deleted mid-turn, and its id taken by another chat, is not stored in the new thread', async () => {
    const { botId, chatId } = await newChat('First home')
    const { chatId: otherChatId } = await newChat('Second home', botId)
    llm.replyWith({ text: 'Late answer', delayMs: 400 })
    const streaming = send(chatId, 'wanderer', 'hello')
    // While the model thinks: the thread goes, and another chat starts a thread with the same id.
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.equal((await api('POST', `/chats/${chatId}/threads/wanderer/delete`)).status, 200)
    await ctx.database.db.insert(threads).values({ projectId: owner.projectId, id: 'wanderer', chatId: otherChatId, botId, mode: 'blocked' })
    await streaming
    const kept = await ctx.database.db.select().from(messages).where(and(eq(messages.projectId, owner.projectId), eq(messages.threadId, 'wanderer')))
    assert.deepEqual(kept, [])
  })

  it('a message for a chat deleted after it was checked is a 404, not a 500, and stores nothing', async () => {
    const { botId, chatId } = await newChat('Gone soon')
    assert.equal((await api('DELETE', `/chats/${chatId}`)).status, 200)
    // What the stream route does after requireConversable passed: the chat vanished in between.
    await assert.rejects(
      ctx.services.threads.storeUserMessages(owner.projectId, { id: chatId, botId }, 'orphan', ['hello']),
      (error: Error & { code?: string }) => error.name === 'AppError' && error.code === 'not_found',
    )
    assert.equal((await ctx.database.db.select().from(threads).where(eq(threads.id, 'orphan'))).length, 0)
  })

  it('removes the chat, its threads and messages, and writes one chat.deleted event (delivered to webhooks)', async () => {
    const hook = await api('POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', secret: 'a-long-enough-secret-value', event_types: ['chat.deleted'] })
    assert.equal(hook.status, 200, hook.text)
    const { botId, chatId } = await newChat('Doomed')
    const { chatId: keptChatId } = await newChat('Kept', botId)
    llm.replyWith({ text: 'Hi' })
    for (const threadId of ['d-1', 'd-2']) assert.equal((await send(chatId, threadId, 'hello')).status, 200)
    assert.equal((await send(keptChatId, 'k-1', 'hello')).status, 200)
    assert.equal((await api('POST', `/chats/${chatId}/threads/d-2/mode`, { mode: 'manual' })).status, 200)
    assert.equal((await send(chatId, 'd-2', 'waiting for a person')).status, 202)

    // DELETE is the one way (docs/conversations.md): no POST …/delete alias.
    assert.equal((await api('POST', `/chats/${chatId}/delete`)).status, 404)
    assert.equal((await api('GET', `/chats/${chatId}`)).status, 200)

    const deleted = await api('DELETE', `/chats/${chatId}`)
    assert.equal(deleted.status, 200, deleted.text)
    assert.deepEqual(deleted.body, { id: chatId, deleted: true })

    assert.equal((await api('GET', `/chats/${chatId}`)).status, 404)
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).status, 404)
    assert.equal((await api('GET', `/chats/${chatId}/threads/d-1/messages`)).status, 404)
    assert.equal((await api('GET', '/threads/d-2')).status, 404)
    assert.ok(!(await api('GET', '/chats')).body.some((c: any) => c.id === chatId))
    const db = ctx.database.db
    assert.equal((await db.select().from(threads).where(eq(threads.chatId, chatId))).length, 0)
    assert.equal((await db.select().from(messages).where(eq(messages.chatId, chatId))).length, 0)
    // The other chat of the bot is untouched.
    assert.equal((await api('GET', `/chats/${keptChatId}/threads/k-1/messages`)).body.length, 2)

    const announced = await db.select().from(events).where(and(eq(events.chatId, chatId), eq(events.type, 'chat.deleted')))
    assert.equal(announced.length, 1)
    assert.equal(announced[0]!.threadId, null)
    assert.deepEqual(announced[0]!.data, { bot_id: botId, integration_id: null, name: 'Doomed' })
    const [delivery] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, hook.body.id))
    assert.equal((delivery!.payload as any).type, 'chat.deleted')
    assert.deepEqual((delivery!.payload as any).data, { chat_id: chatId, thread_id: null, bot_id: botId, integration_id: null, name: 'Doomed' })

    assert.equal((await api('DELETE', `/chats/${chatId}`)).status, 404)
    // Thread ids are free again in the project.
    llm.replyWith({ text: 'Hi again' })
    assert.equal((await send(keptChatId, 'd-1', 'reusing the id')).status, 200)
  })
})

describe('thread messages: limit and offset', () => {
  /** A thread with one exchange, a stored system row, then `extra` user messages stored in manual mode (no model calls). */
  async function longThread(threadId: string, extra: number): Promise<{ chatId: string; all: any[] }> {
    const { chatId } = await newChat()
    llm.replyWith({ text: 'First reply' })
    assert.equal((await send(chatId, threadId, 'm-0')).status, 200)
    // A system row (not shown by the API) in the middle must not shift the pages.
    const [thread] = await ctx.database.db.select().from(threads).where(and(eq(threads.projectId, owner.projectId), eq(threads.id, threadId)))
    await ctx.database.db.insert(messages).values({ id: newId('msg'), projectId: owner.projectId, threadId, chatId, botId: thread!.botId, role: 'system', author: 'system', content: 'hidden' })
    assert.equal((await api('POST', `/chats/${chatId}/threads/${threadId}/mode`, { mode: 'manual' })).status, 200)
    for (let sent = 0; sent < extra; sent += 20) {
      const batch = Array.from({ length: Math.min(20, extra - sent) }, (_, i) => `m-${sent + i + 1}`)
      assert.equal((await send(chatId, threadId, batch)).status, 202)
    }
    const all = (await api('GET', `/chats/${chatId}/threads/${threadId}/messages`)).body
    return { chatId, all }
  }

  it('without parameters, the first page of 100: here the whole history, oldest first, with X-Total-Count', async () => {
    const { chatId, all } = await longThread('p-all', 45)
    assert.equal(all.length, 47)
    assert.equal((await api('GET', `/chats/${chatId}/threads/p-all/messages`)).headers.get('x-total-count'), '47')
    assert.deepEqual(all.slice(0, 3).map((m: any) => m.content), ['m-0', 'First reply', 'm-1'])
    assert.equal(all.at(-1).content, 'm-45')
    assert.ok(!all.some((m: any) => m.content === 'hidden'))
  })

  it('pages walk the whole history without gaps or repeats, also while messages arrive', async () => {
    const { chatId, all } = await longThread('p-walk', 45)
    const path = `/chats/${chatId}/threads/p-walk/messages`
    const walked: any[] = []
    for (let offset = 0; ; offset += 7) {
      const page = await api('GET', `${path}?limit=7&offset=${offset}`)
      assert.equal(page.status, 200, page.text)
      assert.ok(page.body.length <= 7)
      walked.push(...page.body)
      if (offset === 14) assert.equal((await send(chatId, 'p-walk', ['late-1', 'late-2'])).status, 202)
      if (page.body.length < 7) break
    }
    assert.deepEqual(walked.map((m) => m.id), [...all.map((m: any) => m.id), ...walked.slice(all.length).map((m) => m.id)])
    assert.deepEqual(walked.slice(all.length).map((m) => m.content), ['late-1', 'late-2'])
    assert.equal(new Set(walked.map((m) => m.id)).size, walked.length)
  })

  it('limit bounds the page; offset past the end is an empty list', async () => {
    const { chatId, all } = await longThread('p-bounds', 10)
    const path = `/chats/${chatId}/threads/p-bounds/messages`
    assert.deepEqual((await api('GET', `${path}?limit=1`)).body, all.slice(0, 1))
    assert.deepEqual((await api('GET', `${path}?limit=5&offset=3`)).body, all.slice(3, 8))
    assert.deepEqual((await api('GET', `${path}?offset=10`)).body, all.slice(10))
    assert.deepEqual((await api('GET', `${path}?limit=1000`)).body, all)
    assert.deepEqual((await api('GET', `${path}?offset=${all.length}`)).body, [])
    assert.deepEqual((await api('GET', `${path}?limit=3&offset=1000000`)).body, [])
  })

  it('invalid values are 422 naming the query field', async () => {
    const { chatId } = await longThread('p-invalid', 0)
    const path = `/chats/${chatId}/threads/p-invalid/messages`
    const cases: Array<[string, string]> = [
      ['limit=0', 'query.limit'], ['limit=1001', 'query.limit'], ['limit=-1', 'query.limit'], ['limit=abc', 'query.limit'], ['limit=1.5', 'query.limit'], ['limit=', 'query.limit'],
      ['offset=-1', 'query.offset'], ['offset=x', 'query.offset'], ['offset=2.5', 'query.offset'], ['offset=1000000001', 'query.offset'],
    ]
    for (const [query, field] of cases) {
      const response = await api('GET', `${path}?${query}`)
      assert.equal(response.status, 422, query)
      assert.equal(response.body.code, 'invalid_request')
      assert.deepEqual(response.body.details.map((d: any) => d.path), [field], query)
    }
  })
})

describe('tenancy', () => {
  it("another project's chat is 404 on every new route and stays as it was", async () => {
    const { chatId } = await newChat('Private')
    llm.replyWith({ text: 'private reply' })
    assert.equal((await send(chatId, 't-mine', 'secret question')).status, 200)
    const before = await chatRows()
    const intruder = ctx.asKey((await ctx.seed()).key)
    const attempts: Array<[string, string, unknown?]> = [
      ['POST', `/chats/${chatId}`, { name: 'stolen' }],
      ['POST', `/chats/${chatId}`, { settings: { owned: true } }],
      ['POST', `/chats/${chatId}/status`, { status: 'disabled' }],
      ['DELETE', `/chats/${chatId}`],
      ['GET', `/chats/${chatId}/threads/t-mine/messages?limit=1`],
      ['GET', `/chats/${chatId}/threads/t-mine/messages?limit=1&offset=1`],
    ]
    for (const [method, path, body] of attempts) {
      const response = await intruder(method, path, body)
      assert.equal(response.status, 404, `${method} ${path}`)
      assert.equal(response.body.code, 'not_found')
      assert.ok(!response.text.includes('secret question') && !response.text.includes('Private'))
    }
    assert.deepEqual(await chatRows(), before)
    assert.equal((await api('GET', `/chats/${chatId}/threads/t-mine/messages`)).body.length, 2)
    // The intruder's own chat may have the same name: names are unique per bot, not per server.
    const theirs = await newChat('Private', undefined, intruder)
    assert.ok(theirs.chatId)
  })
})

describe('migration 0006 on a database that has duplicate chat names', () => {
  it('keeps the oldest name, gives the others their id, then enforces the index', async () => {
    const serverUrl = process.env.TEST_DATABASE_URL
    const url = serverUrl ? await createScratchDatabase(serverUrl) : undefined
    const handle = url ? await openDatabase({ driver: 'postgres', url, poolSize: 2 }) : await openDatabase({ driver: 'pglite' })
    try {
      // The database as 0005 left it, recorded the way migrate() records migrations.
      const dir = new URL('../../../drizzle/', import.meta.url)
      await handle.withSession(async (session) => {
        await session.exec('create table worken_migrations (name text primary key, checksum text not null, applied_at timestamptz not null default now())')
        for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.sql') && name < '0006').sort()) {
          const sql = fs.readFileSync(new URL(file, dir), 'utf8')
          await session.exec(sql.replaceAll('--> statement-breakpoint', ''))
          await session.query('insert into worken_migrations (name, checksum) values ($1, $2)', [file.replace(/\.sql$/, ''), createHash('sha256').update(sql).digest('hex')])
        }
        await session.exec(`
          insert into organizations (id, name) values ('org_m', 'o');
          insert into projects (id, organization_id, name) values ('prj_m', 'org_m', 'p');
          insert into bots (id, project_id, name, settings) values ('bot_m1', 'prj_m', 'b1', '{}'), ('bot_m2', 'prj_m', 'b2', '{}');
          insert into chats (id, project_id, bot_id, name, created_at) values
            ('chat_a', 'prj_m', 'bot_m1', 'Website', now() - interval '3 days'),
            ('chat_b', 'prj_m', 'bot_m1', 'website', now() - interval '2 days'),
            ('chat_c', 'prj_m', 'bot_m1', 'WEBSITE', now() - interval '1 day'),
            ('chat_d', 'prj_m', 'bot_m2', 'Website', now()),
            ('chat_e', 'prj_m', 'bot_m1', '${'L'.repeat(200)}', now() - interval '2 days'),
            ('chat_f', 'prj_m', 'bot_m1', '${'l'.repeat(200)}', now());`)
      })
      assert.equal((await migrate(handle)).applied[0], '0006_chat_management')
      const rows = await handle.withSession((session) => session.query<{ id: string; name: string; settings: unknown }>('select id, name, settings from chats order by id'))
      assert.deepEqual(rows.map((row) => [row.id, row.name]), [
        ['chat_a', 'Website'],
        ['chat_b', 'website (chat_b)'],
        ['chat_c', 'WEBSITE (chat_c)'],
        ['chat_d', 'Website'],
        ['chat_e', 'L'.repeat(200)],
        ['chat_f', `${'l'.repeat(200 - 'chat_f'.length - 3)} (chat_f)`],
      ])
      assert.ok(rows.every((row) => JSON.stringify(row.settings) === '{}'))
      await assert.rejects(
        handle.withSession((session) => session.exec(`insert into chats (id, project_id, bot_id, name) values ('chat_g', 'prj_m', 'bot_m1', 'WebSite')`)),
        /chats_bot_name_key/,
      )
    } finally {
      await handle.close()
      if (serverUrl && url) await dropScratchDatabase(serverUrl, url)
    }
  })
})
