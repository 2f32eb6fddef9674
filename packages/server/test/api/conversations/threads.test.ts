import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, asc, eq, gt } from 'drizzle-orm'
import { events, messages, threads } from '../../../src/schema.ts'
import { createTestContext, openaiAt, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { messageText, startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext
let owner: Seeded
let api: Call

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({
    services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0 },
    workers: {},
  })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

/** A bot (no titles, so no background model calls) and an API chat for it. */
async function newChat(call: Call = api): Promise<{ botId: string; chatId: string }> {
  const bot = (await call('POST', '/bots', { name: 'Support' })).body
  assert.equal((await call('POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })).status, 200)
  const chat = await call('POST', '/chats', { bot_id: bot.id, name: 'Website' })
  assert.equal(chat.status, 200, chat.text)
  return { botId: bot.id, chatId: chat.body.id }
}

function say(chatId: string, threadId: string, content: string, extra: Record<string, unknown> = {}, call: Call = api) {
  return call('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content }], ...extra })
}

/** Creates the thread in `mode` with one user message; no model call unless the mode is auto. */
async function threadIn(chatId: string, threadId: string, mode: string, text = 'hello', call: Call = api) {
  if (mode === 'auto') {
    llm.replyWith({ text: ['Hi!'] })
    assert.equal((await say(chatId, threadId, text, {}, call)).status, 200)
    return
  }
  // Create it blocked (no reply), then switch.
  await call('POST', `/chats/${chatId}/threads/${threadId}/mode`, { mode: 'blocked' }).then(async (r) => {
    if (r.status === 404) {
      assert.equal((await say(chatId, threadId, 'first', {}, call)).status, 200)
      assert.equal((await call('POST', `/chats/${chatId}/threads/${threadId}/mode`, { mode: 'blocked' }, {})).status, 200)
    }
  })
  assert.equal((await say(chatId, threadId, text, {}, call)).status, 202)
  assert.equal((await call('POST', `/chats/${chatId}/threads/${threadId}/mode`, { mode })).status, 200)
}

/** A new project whose threads never show up in the owner's. */
async function otherProject() {
  const other = await ctx.seed()
  return { seeded: other, call: ctx.asKey(other.key) }
}

/** Stores user messages straight into a blocked thread: quick, no model. */
async function blockedThread(chatId: string, threadId: string, texts: string[]) {
  llm.replyWith({ text: ['ok'] })
  const first = await say(chatId, threadId, texts[0]!)
  assert.equal(first.status, 200, first.text)
  assert.equal((await api('POST', `/chats/${chatId}/threads/${threadId}/mode`, { mode: 'blocked' })).status, 200)
  for (const text of texts.slice(1)) assert.equal((await say(chatId, threadId, text)).status, 202)
}

describe('GET /threads', () => {
  it('lists the project\'s threads, most recent activity first, with chat and bot filters', async () => {
    const a = await newChat()
    const b = await newChat()
    await blockedThread(a.chatId, 'order-a1', ['one'])
    await blockedThread(b.chatId, 'order-b1', ['two'])
    await blockedThread(a.chatId, 'order-a2', ['three'])
    // New activity moves a thread to the top.
    assert.equal((await say(a.chatId, 'order-a1', 'again')).status, 202)

    const all = await api('GET', '/threads')
    assert.equal(all.status, 200)
    assert.deepEqual(Object.keys(all.body).sort(), ['data', 'next_cursor'])
    const ids = all.body.data.map((t: any) => t.id)
    assert.deepEqual(ids.slice(0, 3), ['order-a1', 'order-a2', 'order-b1'])
    assert.deepEqual(Object.keys(all.body.data[0]).sort(), ['bot_id', 'chat_id', 'created_at', 'id', 'last_message_at', 'mode', 'pending_count', 'title'])

    const inA = (await api('GET', `/threads?chat_id=${a.chatId}`)).body.data.map((t: any) => t.id)
    assert.deepEqual(inA, ['order-a1', 'order-a2'])
    const ofB = (await api('GET', `/threads?bot_id=${b.botId}`)).body.data.map((t: any) => t.id)
    assert.deepEqual(ofB, ['order-b1'])
    assert.deepEqual((await api('GET', `/threads?chat_id=${a.chatId}&bot_id=${b.botId}`)).body.data, [])
    // An id that is not in the project filters to nothing; one that cannot be an id is a 422.
    assert.deepEqual((await api('GET', '/threads?chat_id=chat_nope')).body, { data: [], next_cursor: null })
    assert.equal((await api('GET', '/threads?chat_id=a%20b')).status, 422)
  })

  it('validates limit, offset and cursor', async () => {
    const bad = ['limit=101', 'limit=0', 'limit=abc', 'offset=-1', 'cursor=nope', 'cursor=' + Buffer.from('{"v":1}').toString('base64url')]
    for (const query of bad) {
      const response = await api('GET', `/threads?${query}`)
      assert.equal(response.status, 422, query)
      assert.equal(typeof response.body.message, 'string')
    }
    assert.equal((await api('GET', '/threads?limit=100')).status, 200)
  })

  it('pages with offset and limit (default 20)', async () => {
    const { chatId } = await newChat()
    for (let i = 0; i < 23; i++) await blockedThread(chatId, `page-${String(i).padStart(2, '0')}`, [`message ${i}`])
    const first = (await api('GET', `/threads?chat_id=${chatId}`)).body
    assert.equal(first.data.length, 20)
    assert.equal(first.data[0].id, 'page-22')
    assert.equal(typeof first.next_cursor, 'string')
    const rest = (await api('GET', `/threads?chat_id=${chatId}&offset=20`)).body
    assert.deepEqual(rest.data.map((t: any) => t.id), ['page-02', 'page-01', 'page-00'])
    assert.equal(rest.next_cursor, null)
    const middle = (await api('GET', `/threads?chat_id=${chatId}&limit=5&offset=10`)).body.data.map((t: any) => t.id)
    assert.deepEqual(middle, ['page-12', 'page-11', 'page-10', 'page-09', 'page-08'])
  })

  it('pages with a cursor while messages arrive: no thread skipped or repeated', async () => {
    const { chatId } = await newChat()
    const names = Array.from({ length: 30 }, (_, i) => `walk-${String(i).padStart(2, '0')}`)
    for (const name of names) await blockedThread(chatId, name, [`hello from ${name}`])
    const expected = [...names].reverse() // newest first, as of now

    // Between every two pages, writes that would move threads under a naive cursor: a thread not
    // yet seen jumps to the top (it would be skipped), one already seen too (it would come again
    // if it moved down instead), and a new thread appears. A concurrent writer adds more.
    let writing = true
    let concurrentWrites = 0
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await say(chatId, names[(i * 7) % names.length]!, `concurrent ${i}`)
        concurrentWrites++
        // Real writers arrive over sockets; this in-process loop must let I/O (the LLM server's answers) in too.
        await sleep(1)
      }
    })()

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    let betweenPages = 0
    do {
      const query: string = `chat_id=${chatId}&limit=4${cursor ? `&cursor=${cursor}` : ''}`
      const page: { status: number; body: any } = await api('GET', `/threads?${query}`)
      assert.equal(page.status, 200, JSON.stringify(page.body))
      seen.push(...page.body.data.map((t: any) => t.id))
      cursor = page.body.next_cursor
      pages++
      const unseen = expected.filter((id) => !seen.includes(id))
      if (unseen.length > 0) assert.equal((await say(chatId, unseen.at(-1)!, `moved up ${pages}`)).status, 202)
      assert.equal((await say(chatId, seen[0]!, `seen, moved up ${pages}`)).status, 202)
      await blockedThread(chatId, `walk-new-${pages}`, ['new'])
      betweenPages += 3
    } while (cursor)
    writing = false
    await writer
    assert.equal(pages, 8)
    assert.equal(betweenPages, 24)
    assert.deepEqual(seen, expected, `exactly the threads of the first page's moment, in its order (${concurrentWrites} concurrent writes too)`)
    // Without the cursor the list has moved: the walk really was under changes.
    const now = (await api('GET', `/threads?chat_id=${chatId}&limit=100`)).body.data.map((t: any) => t.id)
    assert.notDeepEqual(now.slice(0, 30), expected)

    // Offset combines with a cursor: it skips rows after the cursor's position.
    const start = (await api('GET', `/threads?chat_id=${chatId}&limit=3`)).body
    const skipping = (await api('GET', `/threads?chat_id=${chatId}&limit=3&offset=2&cursor=${start.next_cursor}`)).body
    const plain = (await api('GET', `/threads?chat_id=${chatId}&limit=5&cursor=${start.next_cursor}`)).body
    assert.deepEqual(skipping.data.map((t: any) => t.id), plain.data.slice(2, 5).map((t: any) => t.id))

    // A cursor belongs to its filters.
    const otherFilters = await api('GET', `/threads?limit=3&cursor=${start.next_cursor}`)
    assert.equal(otherFilters.status, 422)
    assert.match(otherFilters.body.message, /filters/)
  })

  it('searches messages in Russian and English with stemming, best match first', async () => {
    const { chatId } = await newChat()
    await blockedThread(chatId, 'ru-order', ['Здравствуйте, где мой заказ номер 5521?'])
    await blockedThread(chatId, 'en-order', ['Hello, I want to cancel my order please'])
    await blockedThread(chatId, 'en-orders-many', ['Orders, orders, orders: three orders are late', 'Another order question'])
    await blockedThread(chatId, 'unrelated', ['Какая погода сегодня? The weather is nice'])

    const ru = (await api('GET', `/threads?search=${encodeURIComponent('заказа')}`)).body.data.map((t: any) => t.id)
    assert.deepEqual(ru, ['ru-order'])
    const en = (await api('GET', '/threads?search=orders')).body.data.map((t: any) => t.id)
    // Ranked: the thread that talks about orders the most comes first.
    assert.deepEqual(en, ['en-orders-many', 'en-order'])
    const phrase = (await api('GET', `/threads?search=${encodeURIComponent('"cancel my order"')}`)).body.data.map((t: any) => t.id)
    assert.deepEqual(phrase, ['en-order'])
    const either = (await api('GET', `/threads?search=${encodeURIComponent('погода or заказ')}`)).body.data.map((t: any) => t.id).sort()
    assert.deepEqual(either, ['ru-order', 'unrelated'])
    // A number, exact; a word nobody wrote; stop words only; blank = no filter.
    assert.deepEqual((await api('GET', '/threads?search=5521')).body.data.map((t: any) => t.id), ['ru-order'])
    assert.deepEqual((await api('GET', '/threads?search=zebra')).body.data, [])
    assert.deepEqual((await api('GET', '/threads?search=the')).body.data, [])
    assert.ok((await api('GET', `/threads?search=${encodeURIComponent('   ')}&chat_id=${chatId}`)).body.data.length === 4)
    // With the chat filter, and paged with a cursor.
    const page1 = (await api('GET', `/threads?search=order&chat_id=${chatId}&limit=1`)).body
    assert.deepEqual(page1.data.map((t: any) => t.id), ['en-orders-many'])
    const page2 = (await api('GET', `/threads?search=order&chat_id=${chatId}&limit=1&cursor=${page1.next_cursor}`)).body
    assert.deepEqual(page2.data.map((t: any) => t.id), ['en-order'])
    assert.equal(page2.next_cursor, null)
  })

  it('never shows another project\'s threads, in lists or in search', async () => {
    const mine = await newChat()
    await blockedThread(mine.chatId, 'iso-mine', ['secret pineapple'])
    const other = await otherProject()
    const theirs = await newChat(other.call)
    llm.replyWith({ text: ['ok'] })
    assert.equal((await say(theirs.chatId, 'iso-theirs', 'secret pineapple', {}, other.call)).status, 200)
    const found = (await other.call('GET', '/threads?search=pineapple')).body.data.map((t: any) => t.id)
    assert.deepEqual(found, ['iso-theirs'])
    assert.deepEqual((await other.call('GET', '/threads')).body.data.map((t: any) => t.id), ['iso-theirs'])
    assert.deepEqual((await other.call('GET', `/threads?chat_id=${mine.chatId}`)).body.data, [])
    assert.ok(!(await api('GET', '/threads?limit=100')).body.data.some((t: any) => t.id === 'iso-theirs'))
  })
})

describe('GET /threads/:thread_id', () => {
  it('has person null for an API thread, and counts user, bot and operator messages', async () => {
    const { chatId, botId } = await newChat()
    llm.replyWith({ text: ['Hello! How can I help?'] })
    assert.equal((await say(chatId, 'detail-1', 'Hi')).status, 200)
    const detail = await api('GET', '/threads/detail-1')
    assert.equal(detail.status, 200)
    assert.deepEqual(Object.keys(detail.body).sort(), ['bot_id', 'chat_id', 'created_at', 'id', 'last_message_at', 'mode', 'pending_count', 'person', 'stats', 'title'])
    assert.equal(detail.body.bot_id, botId)
    assert.equal(detail.body.person, null)
    assert.deepEqual(detail.body.stats, { messages_total: 2, user_messages: 1, bot_messages: 1, operator_messages: 0 })

    await api('POST', `/chats/${chatId}/threads/detail-1/mode`, { mode: 'manual' })
    assert.equal((await say(chatId, 'detail-1', 'I need a human')).status, 202)
    assert.equal((await say(chatId, 'detail-1', 'please')).status, 202)
    assert.equal((await api('POST', '/threads/detail-1/send', { text: 'Hi, I am Anna from support' })).status, 200)
    const after = (await api('GET', '/threads/detail-1')).body
    assert.deepEqual(after.stats, { messages_total: 5, user_messages: 3, bot_messages: 2, operator_messages: 1 })
    assert.equal(after.mode, 'manual')
  })

  it('counts a turn with a tool call as one bot message (tool plumbing is not a message)', async () => {
    const { chatId } = await newChat()
    llm.replyWith((turn) => (turn.endsWithToolResult ? { text: ['An operator will reply soon.'] } : { toolCalls: [{ name: 'handoff_to_operator', arguments: { reason: 'asked' } }] }))
    const bot = (await api('GET', `/chats/${chatId}`)).body.bot_id
    assert.equal((await api('POST', `/bots/${bot}/settings`, { ai: { tools: { handoff_to_operator: 'auto' } } })).status, 200)
    assert.equal((await say(chatId, 'detail-tool', 'a person please')).status, 200)
    const stats = (await api('GET', '/threads/detail-tool')).body.stats
    assert.deepEqual(stats, { messages_total: 2, user_messages: 1, bot_messages: 1, operator_messages: 0 })
  })

  it('keeps the person the caller describes, the same person across threads by external_id', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: ['Hi'] })
    const person = { external_id: 'crm-77', name: 'Ivan Petrov', avatar_url: 'https://cdn.example.test/ivan.png' }
    assert.equal((await say(chatId, 'person-1', 'Hi', { person })).status, 200)
    const first = (await api('GET', '/threads/person-1')).body.person
    assert.deepEqual({ ...first, id: undefined }, { id: undefined, name: 'Ivan Petrov', avatar_url: 'https://cdn.example.test/ivan.png', external_id: 'crm-77' })
    assert.match(first.id, /^per_/)
    // Another thread, same external id: the same person; a new name updates it, the avatar stays.
    assert.equal((await say(chatId, 'person-2', 'Hi again', { person: { external_id: 'crm-77', name: 'Ivan P.' } })).status, 200)
    const second = (await api('GET', '/threads/person-2')).body.person
    assert.equal(second.id, first.id)
    assert.equal(second.name, 'Ivan P.')
    assert.equal(second.avatar_url, 'https://cdn.example.test/ivan.png')
    // Without an external id: the thread's own person.
    assert.equal((await say(chatId, 'person-3', 'Hi', { person: { name: 'Guest' } })).status, 200)
    const guest = (await api('GET', '/threads/person-3')).body.person
    assert.deepEqual({ ...guest, id: undefined }, { id: undefined, name: 'Guest', avatar_url: null, external_id: null })
    assert.notEqual(guest.id, first.id)
    assert.equal((await say(chatId, 'person-3', 'It is Olga', { person: { name: 'Olga' } })).status, 200)
    assert.deepEqual((await api('GET', '/threads/person-3')).body.person, { ...guest, name: 'Olga' })
    // Validated.
    for (const bad of [{ avatar_url: 'javascript:alert(1)' }, { name: 'a\u0000b' }, { external_id: '' }, { nickname: 'x' }]) {
      const response = await say(chatId, 'person-4', 'Hi', { person: bad })
      assert.equal(response.status, 422, JSON.stringify(bad))
    }
    assert.equal((await api('GET', '/threads/person-4')).status, 404, 'nothing was stored for a rejected request')
  })

  it('refuses the reserved thread id "events" (it is the event feed under /threads)', async () => {
    const { chatId } = await newChat()
    const response = await say(chatId, 'events', 'hi')
    assert.equal(response.status, 422)
    assert.match(response.body.message, /reserved/)
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).body.length, 0)
  })

  it('is 404 for an unknown thread and for another project\'s thread', async () => {
    const { chatId } = await newChat()
    await blockedThread(chatId, 'detail-iso', ['x'])
    const other = await otherProject()
    assert.equal((await other.call('GET', '/threads/detail-iso')).status, 404)
    assert.equal((await api('GET', '/threads/nope-nope')).status, 404)
    const missing = await api('GET', '/threads/nope-nope')
    assert.deepEqual(Object.keys(missing.body).sort(), ['code', 'error', 'message'])
    assert.equal(missing.body.code, 'not_found')
  })
})

describe('POST /threads/:thread_id/send', () => {
  it('is refused outside manual mode, with a 409 that says so', async () => {
    const { chatId } = await newChat()
    for (const mode of ['auto', 'operator', 'blocked']) {
      const id = `send-${mode}`
      await threadIn(chatId, id, mode)
      const response = await api('POST', `/threads/${id}/send`, { text: 'Hello from a person' })
      assert.equal(response.status, 409, mode)
      assert.match(response.body.message, new RegExp(`${mode} mode.*manual`))
      assert.equal(response.body.code, 'mode_forbids_reply', mode)
    }
    const stored = await ctx.database.db.select().from(messages).where(and(eq(messages.projectId, owner.projectId), eq(messages.author, 'operator')))
    assert.equal(stored.filter((m) => m.threadId.startsWith('send-')).length, 0)
  })

  it('stores an operator message in manual mode, resets pending_count and writes the events', async () => {
    const { chatId } = await newChat()
    await threadIn(chatId, 'send-manual', 'manual')
    assert.equal((await say(chatId, 'send-manual', 'anyone there?')).status, 202)
    assert.equal((await api('GET', '/threads/send-manual')).body.pending_count, 1)
    const existing = await ctx.database.db.select({ seq: events.seq }).from(events).where(eq(events.threadId, 'send-manual')).orderBy(asc(events.seq))
    const before = existing.at(-1)!.seq

    const sent = await api('POST', '/threads/send-manual/send', { text: '  Yes, I am here.  ' })
    assert.equal(sent.status, 200, sent.text)
    assert.equal(sent.body.role, 'assistant')
    assert.equal(sent.body.author, 'operator')
    assert.equal(sent.body.operator_id, owner.keyId)
    assert.equal(sent.body.content, 'Yes, I am here.')
    assert.equal((await api('GET', '/threads/send-manual')).body.pending_count, 0)

    const newEvents = await ctx.database.db.select().from(events).where(and(eq(events.threadId, 'send-manual'), gt(events.seq, before))).orderBy(asc(events.seq))
    assert.deepEqual(newEvents.map((e) => e.type), ['thread.message.created', 'thread.pending_count.changed'])
    assert.equal((newEvents[0]!.data as any).message.id, sent.body.id)
    assert.deepEqual(newEvents[1]!.data, { pending_count: 0 })

    // On the internal API the operator is the Worken-User.
    const member = ctx.asMember(owner)
    const byMember = await member('POST', '/threads/send-manual/send', { text: 'Anything else?' })
    assert.equal(byMember.status, 200)
    assert.equal(byMember.body.operator_id, owner.userId)
    const history = (await api('GET', `/chats/${chatId}/threads/send-manual/messages`)).body
    assert.deepEqual(history.slice(-2).map((m: any) => [m.role, m.author, m.content]), [
      ['assistant', 'operator', 'Yes, I am here.'],
      ['assistant', 'operator', 'Anything else?'],
    ])
  })

  it('puts the operator\'s message in the bot\'s context for later AI turns', async () => {
    const { chatId } = await newChat()
    await threadIn(chatId, 'send-context', 'manual', 'My parcel is lost')
    assert.equal((await api('POST', '/threads/send-context/send', { text: 'I have re-sent your parcel, tracking RX-1234.' })).status, 200)
    assert.equal((await api('POST', `/chats/${chatId}/threads/send-context/mode`, { mode: 'auto' })).status, 200)
    llm.replyWith({ text: ['It is on its way.'] })
    assert.equal((await say(chatId, 'send-context', 'What is my tracking number?')).status, 200)
    const request = llm.chatRequests().at(-1)!
    const tail = request.messages.slice(-2).map((m) => [m.role, messageText(m)])
    assert.deepEqual(tail, [
      ['assistant', 'I have re-sent your parcel, tracking RX-1234.'],
      ['user', 'What is my tracking number?'],
    ])
  })

  it('validates the body and answers 404 for another project\'s thread', async () => {
    const { chatId } = await newChat()
    await threadIn(chatId, 'send-valid', 'manual')
    const cases: Array<[unknown, number]> = [
      [{}, 422],
      [{ text: '' }, 422],
      [{ text: '   ' }, 422],
      [{ text: 'a\u0000b' }, 422],
      [{ text: 'x'.repeat(100_001) }, 422],
      [{ text: 'hi', extra: 1 }, 422],
      [{ text: 'hi', scheduledAt: '2020-01-01T00:00:00Z' }, 422],
      [{ text: 'hi', scheduledAt: 'tomorrow' }, 422],
      ['not json', 400],
    ]
    for (const [body, status] of cases) {
      const response = await api('POST', '/threads/send-valid/send', body)
      assert.equal(response.status, status, JSON.stringify(body).slice(0, 80))
      assert.equal(typeof response.body.error, 'string')
      assert.equal(typeof response.body.message, 'string')
    }
    const other = await otherProject()
    assert.equal((await other.call('POST', '/threads/send-valid/send', { text: 'hi' })).status, 404)
    assert.equal((await other.call('GET', '/threads/send-valid/scheduled')).status, 404)
    const stored = await ctx.database.db.select().from(messages).where(and(eq(messages.threadId, 'send-valid'), eq(messages.author, 'operator')))
    assert.equal(stored.length, 0)
  })
})

describe('scheduled operator messages', () => {
  it('delivers at the time, lists them, and cancels the ones still waiting', async () => {
    const { chatId } = await newChat()
    await threadIn(chatId, 'sched-1', 'manual')
    const soon = new Date(Date.now() + 1500).toISOString()
    const later = new Date(Date.now() + 3600_000).toISOString()
    const first = await api('POST', '/threads/sched-1/send', { text: 'Reminder: your order ships today', scheduledAt: soon })
    assert.equal(first.status, 202, first.text)
    assert.equal(first.body.status, 'scheduled')
    assert.equal(first.body.operator_id, owner.keyId)
    assert.match(first.body.id, /^sch_/)
    const second = (await api('POST', '/threads/sched-1/send', { text: 'Follow-up tomorrow', scheduledAt: later })).body

    const listed = (await api('GET', '/threads/sched-1/scheduled')).body
    assert.deepEqual(listed.map((s: any) => [s.id, s.status]), [[first.body.id, 'scheduled'], [second.id, 'scheduled']])

    // Cancel the later one; twice is a 409; an unknown id is a 404.
    const cancelled = await api('POST', `/threads/sched-1/scheduled/${second.id}/cancel`)
    assert.equal(cancelled.status, 200)
    assert.equal(cancelled.body.status, 'cancelled')
    assert.equal((await api('POST', `/threads/sched-1/scheduled/${second.id}/cancel`)).status, 409)
    assert.equal((await api('POST', '/threads/sched-1/scheduled/sch_nope/cancel')).status, 404)
    const other = await otherProject()
    assert.equal((await other.call('POST', `/threads/sched-1/scheduled/${first.body.id}/cancel`)).status, 404)

    // The first is delivered by the job.
    let delivered: any
    for (let i = 0; i < 100; i++) {
      delivered = (await api('GET', '/threads/sched-1/scheduled')).body.find((s: any) => s.id === first.body.id)
      if (delivered.status === 'sent') break
      await sleep(100)
    }
    assert.equal(delivered.status, 'sent')
    const history = (await api('GET', `/chats/${chatId}/threads/sched-1/messages`)).body
    const message = history.find((m: any) => m.id === delivered.message_id)
    assert.deepEqual([message.role, message.author, message.content, message.operator_id], ['assistant', 'operator', 'Reminder: your order ships today', owner.keyId])
    assert.equal((await api('POST', `/threads/sched-1/scheduled/${first.body.id}/cancel`)).status, 409, 'a sent message cannot be cancelled')
    assert.equal(history.filter((m: any) => m.author === 'operator').length, 1, 'the cancelled one never went out')
  })

  it('skips a message whose thread was blocked by delivery time', async () => {
    const { chatId } = await newChat()
    await threadIn(chatId, 'sched-blocked', 'manual')
    const scheduled = (await api('POST', '/threads/sched-blocked/send', { text: 'later', scheduledAt: new Date(Date.now() + 800).toISOString() })).body
    assert.equal((await api('POST', `/chats/${chatId}/threads/sched-blocked/mode`, { mode: 'blocked' })).status, 200)
    let row: any
    for (let i = 0; i < 100; i++) {
      row = (await api('GET', '/threads/sched-blocked/scheduled')).body[0]
      if (row.status !== 'scheduled') break
      await sleep(100)
    }
    assert.equal(row.id, scheduled.id)
    assert.equal(row.status, 'skipped')
    assert.match(row.reason, /blocked/)
    const [thread] = await ctx.database.db.select().from(threads).where(eq(threads.id, 'sched-blocked'))
    assert.equal(thread!.mode, 'blocked')
  })
})
