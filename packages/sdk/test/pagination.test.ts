import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CursorPage, NextCursorPage, OffsetPage, WorkenClient } from '@worken/sdk'
import { echoChat, startWorken, type Worken } from './support/worken.ts'

let worken: Worken
let client: WorkenClient
let chatId: string
const botIds: string[] = []
const threadIds = ['page-1', 'page-2', 'page-3', 'page-4', 'page-5']

before(async () => {
  worken = await startWorken()
  client = worken.client()
  ;({ chatId, botId: botIds[0]! } = await echoChat(client, 'Bot 0'))
  for (let index = 1; index < 5; index++) botIds.push((await client.bots.create({ name: `Bot ${index}` })).id)
  // One exchange per thread, oldest first: page-5 has the most recent activity.
  for (const threadId of threadIds) await (await client.chats.threads.stream(chatId, threadId, { messages: [{ role: 'user', content: threadId }] })).finalText()
})

after(() => worken?.stop())

describe('offset lists (a bare array with X-Total-Count)', () => {
  test('a page knows the total; iterating it walks every page', async () => {
    const page = await client.bots.list({ limit: 2 })
    assert.ok(page instanceof OffsetPage)
    assert.deepEqual(page.data.map((bot) => bot.id), botIds.slice(0, 2))
    assert.equal(page.total, 5)
    assert.equal(page.hasNextPage(), true)
    const ids: string[] = []
    for await (const bot of page) ids.push(bot.id)
    assert.deepEqual(ids, botIds)
  })

  test('the unawaited list is iterable too; pages one by one; the last page has no next', async () => {
    const ids: string[] = []
    for await (const bot of client.bots.list({ limit: 2 })) ids.push(bot.id)
    assert.deepEqual(ids, botIds)
    const sizes: number[] = []
    for await (const page of (await client.bots.list({ limit: 2 })).iterPages()) sizes.push(page.data.length)
    assert.deepEqual(sizes, [2, 2, 1])
    const last = await client.bots.list({ limit: 2, offset: 4 })
    assert.equal(last.hasNextPage(), false)
    await assert.rejects(last.getNextPage(), /no next page/)
  })

  test('a starting offset is kept; JSON.stringify prints the server body', async () => {
    const ids: string[] = []
    for await (const bot of client.bots.list({ limit: 2, offset: 1 })) ids.push(bot.id)
    assert.deepEqual(ids, botIds.slice(1))
    const page = await client.bots.list({ limit: 1 })
    assert.deepEqual(JSON.parse(JSON.stringify(page)), JSON.parse(JSON.stringify(page.data)))
  })

  test("a thread's messages across pages", async () => {
    await (await client.chats.threads.stream(chatId, 'page-1', { messages: [{ role: 'user', content: 'second turn' }] })).finalText()
    const contents: string[] = []
    for await (const message of client.chats.threads.messages.list(chatId, 'page-1', { limit: 3 })) contents.push(message.content)
    assert.deepEqual(contents, ['page-1', 'You said: page-1', 'second turn', 'You said: second turn'])
  })
})

describe('cursor lists', () => {
  test('GET /threads pages by next_cursor and drops the offset after the first page', async () => {
    const page = await client.threads.list({ chat_id: chatId, limit: 2 })
    assert.ok(page instanceof NextCursorPage)
    assert.equal(page.data.length, 2)
    assert.ok(page.next_cursor)
    const ids: string[] = []
    for await (const thread of page) ids.push(thread.id)
    assert.deepEqual(new Set(ids), new Set(threadIds))
    assert.equal(ids.length, threadIds.length)

    const skipped: string[] = []
    for await (const thread of client.threads.list({ chat_id: chatId, limit: 2, offset: 1 })) skipped.push(thread.id)
    assert.deepEqual(skipped, ids.slice(1))
  })

  test('OpenAI-style lists page by after = the last id while has_more', async () => {
    const uploaded: string[] = []
    for (const name of ['a', 'b', 'c']) {
      uploaded.push((await client.files.create({ file: new TextEncoder().encode(`file ${name}`), filename: `${name}.txt`, purpose: 'assistants' })).id)
    }
    const page = await client.files.list({ limit: 1 })
    assert.ok(page instanceof CursorPage)
    assert.equal(page.data.length, 1)
    assert.equal(page.has_more, true)
    const ids: string[] = []
    for await (const file of page) ids.push(file.id)
    assert.deepEqual([...ids].sort(), [...uploaded].sort())

    const stores = [(await client.vectorStores.create({ name: 'One' })).id, (await client.vectorStores.create({ name: 'Two' })).id]
    const storeIds: string[] = []
    for await (const store of client.vectorStores.list({ limit: 1, order: 'asc' })) storeIds.push(store.id)
    assert.deepEqual(storeIds, stores)
  })
})
