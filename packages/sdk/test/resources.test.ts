import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { ConflictError, EventFeed, NotFoundError, OffsetPage, ReplyStream, WorkenClient, type Bot, type StreamEvent } from '@worken/sdk'
import { echoChat, startWorken, waitFor, type Worken } from './support/worken.ts'

let worken: Worken
let client: WorkenClient

before(async () => {
  // Telegram integrations are made here: their vendor API is a loopback port with nothing on it.
  const spare = net.createServer()
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve))
  const { port } = spare.address() as net.AddressInfo
  await new Promise((resolve) => spare.close(resolve))
  worken = await startWorken({ WORKEN_TELEGRAM_API_URL: `http://127.0.0.1:${port}` })
  client = worken.client()
})

after(() => worken?.stop())

describe('typed resources against the real server', () => {
  test('health', async () => {
    assert.deepEqual(await client.health.live(), { status: 'ok' })
    assert.deepEqual(await client.health.ready(), { status: 'ok' })
  })

  test('bots: create, retrieve, update, status, settings, clone, delete', async () => {
    const bot = await client.bots.create({ name: 'Support Bot', description: 'Answers questions' })
    assert.equal((await client.bots.retrieve(bot.id)).name, 'Support Bot')
    assert.equal((await client.bots.update(bot.id, { name: 'Sales Bot' })).name, 'Sales Bot')
    assert.equal((await client.bots.status.update(bot.id, { status: 'disabled' })).status, 'disabled')
    const settings = await client.bots.settings.update(bot.id, { ai: { instruction: 'Be brief.', model: { id: 'local/echo', temperature: 0.3 } } })
    assert.equal(settings.ai.model.id, 'local/echo')
    assert.equal((await client.bots.settings.retrieve(bot.id)).ai.instruction, 'Be brief.')
    const copy = await client.bots.clone(bot.id)
    assert.notEqual(copy.id, bot.id)
    assert.equal((await client.bots.settings.retrieve(copy.id)).ai.instruction, 'Be brief.')
    assert.deepEqual(await client.bots.delete(copy.id), { id: copy.id, deleted: true })
    await assert.rejects(client.bots.retrieve(copy.id), NotFoundError)
  })

  test('chats, threads, modes, operator messages, scheduled messages, memory', async () => {
    const { chatId } = await echoChat(client, 'Chats')
    assert.equal((await client.chats.retrieve(chatId)).id, chatId)
    assert.equal((await client.chats.update(chatId, { settings: { locale: 'en' } })).settings?.locale, 'en')
    assert.equal((await client.chats.status.update(chatId, { status: 'disabled' })).status, 'disabled')
    await client.chats.status.update(chatId, { status: 'active' })

    await (await client.chats.threads.stream(chatId, 'ops-1', { messages: [{ role: 'user', content: 'I need a refund' }] })).finalText()
    const [thread] = (await client.chats.threads.list(chatId)).data
    assert.equal(thread?.id, 'ops-1')
    const detail = await client.threads.retrieve('ops-1')
    assert.deepEqual(detail.stats, { ...detail.stats, user_messages: 1, bot_messages: 1 })

    assert.equal((await client.chats.threads.mode.update(chatId, 'ops-1', { mode: 'manual' })).mode, 'manual')
    const sent = await client.threads.send('ops-1', { text: 'A colleague will refund you today.' })
    assert.ok('role' in sent && sent.role === 'assistant')
    const scheduled = await client.threads.send('ops-1', { text: 'Did the refund arrive?', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() })
    assert.ok('status' in scheduled && scheduled.status === 'scheduled')
    const [listed] = (await client.threads.scheduled.list('ops-1')).data
    assert.equal(listed?.id, scheduled.id)
    assert.equal((await client.threads.scheduled.cancel('ops-1', scheduled.id)).status, 'cancelled')

    const memory = await client.threads.memory.retrieve('ops-1')
    assert.ok('content' in memory)
    const found = await client.threads.list({ search: 'refund', chat_id: chatId })
    assert.deepEqual(found.data.map((item) => item.id), ['ops-1'])

    assert.deepEqual(await client.chats.threads.delete(chatId, 'ops-1'), { id: 'ops-1', deleted: true })
    assert.deepEqual(await client.chats.delete(chatId), { id: chatId, deleted: true })
  })

  test('approvals: a user_approve tool stops the turn; deciding streams the rest', async () => {
    const bot = await client.bots.create({ name: 'Demo' })
    await client.bots.settings.update(bot.id, { ai: { model: { id: 'local/demo' }, tools: { handoff_to_operator: 'user_approve' } } })
    const chat = await client.chats.create({ bot_id: bot.id, name: 'Demo chat' })
    const events: StreamEvent[] = []
    for await (const event of await client.chats.threads.stream(chat.id, 'approve-1', { messages: [{ role: 'user', content: 'Can I talk to a human, please?' }] })) events.push(event)
    const request = events.find((event) => event.type === 'tool-approval-request')
    assert.ok(request?.type === 'tool-approval-request', JSON.stringify(events))
    assert.equal(request.toolName, 'handoff_to_operator')
    const rest = await client.threads.approvals.decide('approve-1', request.approvalId, { approved: true })
    assert.ok(rest instanceof ReplyStream)
    const after: StreamEvent[] = []
    for await (const event of rest) after.push(event)
    assert.ok(after.some((event) => event.type === 'tool-result' && event.toolName === 'handoff_to_operator'), JSON.stringify(after))
    assert.equal((await client.threads.retrieve('approve-1')).mode, 'manual')
  })

  test('projects and API keys: a new key works, a deleted one does not', async () => {
    const [project] = (await client.projects.list()).data
    assert.ok(project)
    const created = await client.projects.create({ name: 'Staging', organization_id: project.organization_id })
    assert.match(created.api_key.key, /^sk-/)
    const { key, id } = await client.projects.apiKeys.create(project.id, { name: 'ci' })
    const other = new WorkenClient({ apiKey: key, baseURL: worken.url })
    assert.ok(Array.isArray((await other.bots.list()).data))
    assert.ok((await client.projects.apiKeys.list(project.id)).data.some((item) => item.id === id))
    await client.projects.apiKeys.delete(project.id, id)
    await assert.rejects(other.bots.list({}, { maxRetries: 0 }), { name: 'AuthenticationError' })
  })

  test('files: upload bytes or a File, read the content back as a Response, delete', async () => {
    const text = 'Returns are free within 30 days of delivery.'
    const file = await client.files.create({ file: new TextEncoder().encode(text), filename: 'returns.txt', purpose: 'assistants' })
    assert.equal(file.filename, 'returns.txt')
    assert.equal(file.bytes, text.length)
    assert.equal((await client.files.retrieve(file.id)).id, file.id)
    const response = await client.files.content.retrieve(file.id)
    assert.equal(await response.text(), text)
    const named = await client.files.create({ file: new File(['# Shipping\n\nWe ship in two days.'], 'shipping.md'), purpose: 'assistants' })
    assert.equal(named.filename, 'shipping.md')
    assert.deepEqual(await client.files.delete(named.id), { id: named.id, object: 'file', deleted: true })
    assert.throws(() => client.files.create({ file: new Uint8Array([1]), purpose: 'assistants' }), /needs a filename/)
  })

  test('vector stores: attach and upload files, wait for indexing, search, batches', async () => {
    const store = await client.vectorStores.create({ name: 'Help center' })
    const file = await client.files.create({ file: new TextEncoder().encode('You can return any item within 30 days of delivery.'), filename: 'returns.txt', purpose: 'assistants' })
    await client.vectorStores.files.create(store.id, { file_id: file.id, attributes: { region: 'eu' } })
    const uploaded = await client.vectorStores.files.upload(store.id, { file: new Blob(['Shipping takes two days inside the EU.']), filename: 'shipping.txt', attributes: { region: 'eu' } })
    await waitFor(async () => (await client.vectorStores.files.retrieve(store.id, uploaded.id)).status === 'processed' && (await client.vectorStores.files.retrieve(store.id, file.id)).status === 'processed', { what: 'indexing' })
    const content = await client.vectorStores.files.content.retrieve(store.id, file.id)
    assert.match(content.data.map((part) => part.text).join(' '), /30 days/)
    const results = await client.vectorStores.search(store.id, { query: 'How long do I have to return an item?' })
    assert.equal(results.data[0]?.file_id, file.id)
    assert.equal((await client.vectorStores.files.update(store.id, file.id, { attributes: { region: 'us' } })).attributes?.region, 'us')

    const another = await client.files.create({ file: new TextEncoder().encode('Gift cards never expire.'), filename: 'gifts.txt', purpose: 'assistants' })
    const batch = await client.vectorStores.fileBatches.create(store.id, { file_ids: [another.id] })
    assert.equal((await client.vectorStores.fileBatches.retrieve(store.id, batch.id)).id, batch.id)
    const batchFiles = []
    for await (const item of client.vectorStores.fileBatches.files.list(store.id, batch.id)) batchFiles.push(item.id)
    assert.deepEqual(batchFiles, [another.id])
    await waitFor(async () => (await client.vectorStores.fileBatches.retrieve(store.id, batch.id)).status !== 'in_progress', { what: 'the batch' })
    // Cancelling a finished batch is refused (409); either way the route was reached.
    const cancelled = await client.vectorStores.fileBatches.cancel(store.id, batch.id, { maxRetries: 0 }).catch((error) => {
      if (error instanceof ConflictError) return null
      throw error
    })
    assert.ok(cancelled === null || ['completed', 'cancelled'].includes(cancelled.status))

    assert.equal((await client.vectorStores.update(store.id, { name: 'Help center (EU)' })).name, 'Help center (EU)')
    assert.equal((await client.vectorStores.retrieve(store.id)).file_counts.total, 3)
    assert.equal((await client.vectorStores.files.delete(store.id, file.id)).deleted, true)
    assert.equal((await client.vectorStores.delete(store.id)).deleted, true)
  })

  test('integrations and their chats', async () => {
    const bot = await client.bots.create({ name: 'Telegram bot' })
    const integration = await client.integrations.create({ name: 'Support channel', vendor: 'telegram', auth_data: { token: '123456789:AAH-test-token' } })
    assert.equal((await client.integrations.retrieve(integration.id)).vendor, 'telegram')
    assert.equal((await client.integrations.update(integration.id, { status: 'disabled' })).status, 'disabled')
    const chat = await client.integrations.chats.create(integration.id, { bot_id: bot.id, name: 'Telegram' })
    assert.equal(chat.integration_id, integration.id)
    assert.equal((await client.integrations.chats.update(integration.id, chat.id, { name: 'Telegram (sales)' })).name, 'Telegram (sales)')
    assert.equal((await client.integrations.chats.status.update(integration.id, chat.id, { status: 'disabled' })).status, 'disabled')
    assert.deepEqual((await client.integrations.chats.list(integration.id)).data.map((item) => item.id), [chat.id])
    assert.ok((await client.integrations.list()).data.some((item) => item.id === integration.id))
    // Telegram has no OAuth: the server says so in its error shape.
    await assert.rejects(client.integrations.oauth.start(integration.id, { maxRetries: 0 }), (error: { status?: number }) => error.status !== undefined && error.status < 500)
    assert.equal((await client.integrations.chats.delete(integration.id, chat.id)).deleted, true)
    assert.equal((await client.integrations.delete(integration.id)).deleted, true)
  })
})

describe('client.call: any operation by its operationId', () => {
  test('JSON operations, with path parameters, query and body', async () => {
    const bot = (await client.call('bots.create', { body: { name: 'Called' } })) as Bot
    assert.equal(((await client.call('bots.get', { params: { bot_id: bot.id } })) as Bot).name, 'Called')
    const page = await client.call('bots.list', { query: { limit: 1 } })
    assert.ok(page instanceof OffsetPage)
    assert.equal(JSON.stringify(page), JSON.stringify(page.data))
    const all: Bot[] = []
    for await (const item of page as OffsetPage<Bot>) all.push(item)
    assert.equal(all.length, page.total)
  })

  test('multipart, downloads, reply streams and event feeds', async () => {
    const file = (await client.call('files.create', { body: { file: new TextEncoder().encode('called content'), filename: 'called.txt', purpose: 'assistants' } })) as { id: string }
    const content = await client.call('files.content.get', { params: { file_id: file.id } })
    assert.ok(content instanceof Response)
    assert.equal(await content.text(), 'called content')

    const { chatId } = await echoChat(client, 'Caller')
    const stream = await client.call('chats.threads.stream', { params: { chat_id: chatId, thread_id: 'call-1' }, body: { messages: [{ role: 'user', content: 'via call' }] } })
    assert.ok(stream instanceof ReplyStream)
    assert.equal(await stream.finalText(), 'You said: via call')

    const feed = await client.call('threads.events.stream', { query: { last_event_id: 0 } })
    assert.ok(feed instanceof EventFeed)
    for await (const event of feed) {
      assert.ok(event.type)
      break
    }
  })

  test('mistakes are refused before anything is sent', async () => {
    await assert.rejects(client.call('bots.nope' as never), /Unknown operation 'bots.nope'/)
    await assert.rejects(client.call('bots.get'), /Missing path parameter 'bot_id'/)
    await assert.rejects(client.call('bots.get', { params: { botId: 'x' } as never }), /no path parameter 'botId'/)
    await assert.rejects(client.call('bots.list', { query: { limt: 5 } }), /no query parameter 'limt'/)
    await assert.rejects(client.call('bots.delete', { params: { bot_id: 'x' }, body: {} }), /takes no request body/)
    await assert.rejects(client.call('bots.create'), /needs a request body/)
  })
})
