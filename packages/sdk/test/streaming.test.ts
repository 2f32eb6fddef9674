import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startLlmServer, type LlmServer } from '../../server/test/support/llm-server.ts'
import { APIConnectionError, ReplyStream, StreamError, WorkenClient, type StreamEvent } from '@worken/sdk'
import { startProxy, type Proxy } from './support/proxy.ts'
import { echoChat, startWorken, waitFor, type Worken } from './support/worken.ts'

let worken: Worken
let llm: LlmServer
let proxy: Proxy
let client: WorkenClient
let chatId: string

before(async () => {
  llm = await startLlmServer()
  worken = await startWorken({ OPENAI_BASE_URL: `${llm.url}/v1`, OPENAI_API_KEY: 'x' })
  // Through a proxy, so a test can watch the client's connection close.
  proxy = await startProxy(worken.url)
  client = new WorkenClient({ apiKey: worken.apiKey, baseURL: proxy.url })
  ;({ chatId } = await echoChat(client))
})

after(async () => {
  await proxy?.close()
  await worken?.stop()
  await llm?.close()
})

describe('chats.threads.stream', () => {
  test('streams a reply from the real server and iterates its events until [DONE]', async () => {
    const stream = await client.chats.threads.stream(chatId, 'stream-1', { messages: [{ role: 'user', content: 'What is your return policy?' }] })
    assert.ok(stream instanceof ReplyStream)
    assert.equal(stream.accepted, null)
    assert.match(stream.response.headers.get('content-type') ?? '', /text\/event-stream/)
    const events: StreamEvent[] = []
    for await (const event of stream) events.push(event)
    const deltas = events.filter((event) => event.type === 'text-delta')
    assert.ok(deltas.length > 3, 'local/echo streams word by word')
    assert.equal(deltas.map((event) => event.textDelta).join(''), 'You said: What is your return policy?')
    const finish = events.at(-1)
    assert.equal(finish?.type, 'finish')
    assert.equal(finish?.type === 'finish' && finish.finishReason, 'stop')
    // [DONE] comes after the reply is stored: it can be read back at once.
    const history = await client.chats.threads.messages.list(chatId, 'stream-1')
    assert.deepEqual(history.data.map((message) => [message.role, message.content]), [
      ['user', 'What is your return policy?'],
      ['assistant', 'You said: What is your return policy?'],
    ])
  })

  test("the spec's example compiles and runs: chunk.textDelta ?? ''", async () => {
    const stream = await client.chats.threads.stream(chatId, 'stream-2', { messages: [{ role: 'user', content: 'Hi' }] })
    let written = ''
    for await (const chunk of stream) written += chunk.textDelta ?? ''
    assert.equal(written, 'You said: Hi')
  })

  test('finalText() reads the rest and joins the text', async () => {
    const stream = await client.chats.threads.stream(chatId, 'stream-3', { messages: [{ role: 'user', content: 'one two three' }] })
    assert.equal(await stream.finalText(), 'You said: one two three')
    await assert.rejects(async () => {
      for await (const _ of stream);
    }, /already iterated/)
  })

  test('outside auto mode the 202 answer is on stream.accepted and nothing is yielded', async () => {
    await (await client.chats.threads.stream(chatId, 'manual-1', { messages: [{ role: 'user', content: 'first' }] })).finalText()
    await client.chats.threads.mode.update(chatId, 'manual-1', { mode: 'manual' })
    const stream = await client.chats.threads.stream(chatId, 'manual-1', { messages: [{ role: 'user', content: 'Can a person help?' }] })
    assert.equal(stream.response.status, 202)
    assert.equal(stream.accepted?.status, 'pending_operator')
    assert.equal(stream.accepted?.pending_count, 1)
    const events: StreamEvent[] = []
    for await (const event of stream) events.push(event)
    assert.deepEqual(events, [])
  })

  test('an error event throws a StreamError; the user message is stored, no half reply', async () => {
    const bot = await client.bots.create({ name: 'Failing' })
    await client.bots.settings.update(bot.id, { ai: { model: { id: 'openai/gpt-test' } } })
    const chat = await client.chats.create({ bot_id: bot.id, name: 'Failing chat' })
    // A 400 from the provider is not retried by the server's AI SDK: the stream reports it at once.
    llm.replyWith({ error: { status: 400, message: 'the provider refused this request' } })
    try {
      const stream = await client.chats.threads.stream(chat.id, 'failing-1', { messages: [{ role: 'user', content: 'Hi' }] })
      const error = await (async () => {
        try {
          for await (const _ of stream);
        } catch (caught) {
          return caught
        }
        return null
      })()
      assert.ok(error instanceof StreamError, `expected a StreamError, got ${error}`)
      assert.equal(error.event.type, 'error')
      assert.match(error.message, /the provider refused this request/)
      const stored = await client.chats.threads.messages.list(chat.id, 'failing-1')
      assert.deepEqual(stored.data.map((message) => [message.role, message.content]), [['user', 'Hi']])
    } finally {
      llm.reset()
    }
  })

  test('leaving the loop with break aborts the request: the server sees the client close its connection', async () => {
    const words = Array.from({ length: 60 }, (_, index) => `word${index}`).join(' ')
    const stream = await client.chats.threads.stream(chatId, 'abort-1', { messages: [{ role: 'user', content: words }] })
    let deltas = 0
    for await (const event of stream) {
      if (event.type === 'text-delta') deltas++
      if (deltas === 2) break
    }
    const brokeAt = performance.now()
    assert.equal(stream.controller.signal.aborted, true)
    const connection = await waitFor(() => proxy.connections.find((candidate) => candidate.requestLines.some((line) => line.includes('/threads/abort-1/stream'))), { what: 'the stream connection' })
    await connection.closed
    assert.equal(connection.closedBy, 'client')
    // 62 words at 20 ms a word take over a second; the connection closed right after the break.
    assert.ok(connection.clientClosedAt! - brokeAt < 500, `closed ${Math.round(connection.clientClosedAt! - brokeAt)} ms after the break`)
    // The turn runs on without its client (docs/conversations.md) and stores the whole reply.
    const reply = await waitFor(async () => (await client.chats.threads.messages.list(chatId, 'abort-1')).data.find((message) => message.role === 'assistant'), { what: 'the stored reply' })
    assert.equal(reply.content, `You said: ${words}`)
  })

  test('a throw inside the loop aborts the request too', async () => {
    const stream = await client.chats.threads.stream(chatId, 'abort-2', { messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p' }] })
    await assert.rejects(async () => {
      for await (const _ of stream) throw new Error('consumer failed')
    }, /consumer failed/)
    assert.equal(stream.controller.signal.aborted, true)
    const connection = await waitFor(() => proxy.connections.find((candidate) => candidate.requestLines.some((line) => line.includes('/threads/abort-2/stream'))), { what: 'the stream connection' })
    await connection.closed
    assert.equal(connection.closedBy, 'client')
  })

  test('stream.controller.abort() from outside ends the loop quietly', async () => {
    const stream = await client.chats.threads.stream(chatId, 'abort-3', { messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p' }] })
    let deltas = 0
    for await (const event of stream) {
      if (event.type === 'text-delta' && ++deltas === 1) setTimeout(() => stream.controller.abort(), 0)
    }
    assert.ok(deltas < 10, `stopped after ${deltas} deltas`)
  })

  test('a stream cut by the network throws an APIConnectionError, not a silent end', async () => {
    const stream = await client.chats.threads.stream(chatId, 'cut-1', { messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p' }] })
    await assert.rejects(async () => {
      for await (const event of stream) if (event.type === 'text-delta') proxy.cutAll()
    }, APIConnectionError)
  })

  test('toReadableStream() gives the events as NDJSON', async () => {
    const stream = await client.chats.threads.stream(chatId, 'ndjson-1', { messages: [{ role: 'user', content: 'Hi' }] })
    const text = await new Response(stream.toReadableStream()).text()
    const events = text.trim().split('\n').map((line) => JSON.parse(line))
    assert.equal(events.filter((event) => event.type === 'text-delta').map((event) => event.textDelta).join(''), 'You said: Hi')
    assert.equal(events.at(-1).type, 'finish')
  })
})
