import assert from 'node:assert/strict'
import type http from 'node:http'
import { after, before, describe, test } from 'node:test'
import { AuthenticationError, EventFeed, NotFoundError, WorkenClient, type ReconnectInfo, type ThreadEvent } from '@worken/sdk'
import { errorBody, startFakeServer, type FakeServer } from './support/fake-server.ts'
import { startProxy, type Proxy } from './support/proxy.ts'
import { echoChat, startWorken, waitFor, type Worken } from './support/worken.ts'

let worken: Worken
let proxy: Proxy
/** Through the proxy, whose connections a test can cut and whose upstream survives a restart. */
let client: WorkenClient
let chatId: string

before(async () => {
  worken = await startWorken()
  proxy = await startProxy(worken.url)
  client = new WorkenClient({ apiKey: worken.apiKey, baseURL: proxy.url })
  ;({ chatId } = await echoChat(client))
})

after(async () => {
  await proxy?.close()
  await worken?.stop()
})

/** Iterates a feed in the background, keeping what it yields with the position after each. */
function collect(feed: EventFeed): { events: ThreadEvent[]; positions: Array<string | null>; done: Promise<unknown> } {
  const events: ThreadEvent[] = []
  const positions: Array<string | null> = []
  const done = (async () => {
    for await (const event of feed) {
      events.push(event)
      positions.push(feed.lastEventId)
    }
  })().catch((error) => error)
  return { events, positions, done }
}

/** A reply of local/echo in a thread: thread_created (first time), two message_created. */
async function converse(threadId: string, text: string): Promise<void> {
  const stream = await client.chats.threads.stream(chatId, threadId, { messages: [{ role: 'user', content: text }] })
  await stream.finalText()
}

describe('client.threads.events', () => {
  test('yields the live events of the project, in order, with their positions', async () => {
    const feed = client.threads.events()
    const seen = collect(feed)
    // The first frame says where the stream starts: from then on nothing is missed.
    const start = await waitFor(() => feed.lastEventId, { what: 'the start position' })
    await converse('feed-1', 'hello')
    await waitFor(() => seen.events.some((event) => event.thread_id === 'feed-1' && event.message?.role === 'assistant'), { what: 'the reply event' })
    feed.controller.abort()
    assert.equal(await seen.done, undefined, 'an abort ends the loop quietly')
    const mine = seen.events.filter((event) => event.thread_id === 'feed-1')
    assert.deepEqual(mine.slice(0, 2).map((event) => [event.type, event.message?.role]), [['thread_created', undefined], ['message_created', 'user']])
    assert.equal(mine.filter((event) => event.type === 'message_created').length, 2)
    const assistant = mine.find((event) => event.type === 'message_created' && event.message?.role === 'assistant')
    assert.equal(assistant?.message?.content, 'You said: hello')
    const positions = seen.positions.map((position) => BigInt(position!))
    assert.ok(positions.every((position, index) => position > (index === 0 ? BigInt(start) : positions[index - 1]!)), 'positions only grow')
  })

  test('a cut connection is resumed with Last-Event-ID: nothing lost, nothing twice', async () => {
    const reconnects: ReconnectInfo[] = []
    // Where the feed stood at each reconnection: what it must send as Last-Event-ID.
    const positionsAtReconnect: Array<string | null> = []
    const feed = client.threads.events({
      onReconnect: (info) => {
        reconnects.push(info)
        positionsAtReconnect.push(feed.lastEventId)
      },
    })
    const seen = collect(feed)
    const start = await waitFor(() => feed.lastEventId, { what: 'the start position' })
    await converse('cut-1', 'before the cut')
    await waitFor(() => seen.events.filter((event) => event.thread_id === 'cut-1').length >= 3, { what: 'the first events' })
    const cutAt = proxy.connections.length
    const positionAtCut = feed.lastEventId
    proxy.cutAll()
    // These happen while the feed waits to reconnect (the server's retry: is 1–5 s).
    await converse('cut-1', 'during the cut')
    await converse('cut-2', 'also during the cut')
    const seenAfterStart = () => seen.positions.filter((position) => BigInt(position!) > BigInt(start)).length
    const total = await waitFor(async () => {
      const reference = await backlogAll(start)
      return seenAfterStart() >= reference.length && reference.length > 0 ? reference : null
    }, { timeoutMs: 20_000, what: 'the feed to catch up' })
    feed.controller.abort()
    await seen.done
    // Compared from `start` on: when an earlier test's late event (a title, say) is the feed's first, `start`
    // is that event's own position, and the backlog after it rightly leaves it out.
    const afterStart = seen.events.filter((_event, index) => BigInt(seen.positions[index]!) > BigInt(start))
    assert.ok(seen.events.length - afterStart.length <= 1, 'at most the first event is at the start position')
    assert.deepEqual(afterStart.map((event) => event.event_id), total.map((event) => event.event_id))
    assert.equal(new Set(seen.events.map((event) => event.event_id)).size, seen.events.length)
    assert.ok(reconnects.length >= 1)
    assert.equal(reconnects[0]!.attempt, 1)
    // The reconnection sent the position of the last event yielded before it: the one at the cut, or a later
    // one when events that had arrived before the cut were still being read out of the connection's buffer.
    const resumedFrom = positionsAtReconnect[0]!
    assert.ok(BigInt(resumedFrom) >= BigInt(positionAtCut!), `the feed went back from ${positionAtCut} to ${resumedFrom}`)
    const heads = proxy.connections.slice(cutAt).flatMap((connection) => connection.requestHeads).filter((head) => head.startsWith('GET /threads/events '))
    assert.ok(
      heads.some((head) => new RegExp(`^last-event-id: ${resumedFrom}\r?$`, 'm').test(head)),
      `no reconnection with Last-Event-ID ${resumedFrom} (${positionAtCut} at the cut) among:\n${heads.join('\n\n')}`,
    )
  })

  test('resumes after the server process restarts on the same data', async () => {
    const feed = client.threads.events()
    const seen = collect(feed)
    const start = await waitFor(() => feed.lastEventId, { what: 'the start position' })
    await converse('restart-1', 'before the restart')
    await waitFor(() => seen.events.filter((event) => event.thread_id === 'restart-1').length >= 3, { what: 'the first events' })
    const server = await worken.restart()
    proxy.retarget(server.publicUrl)
    await converse('restart-1', 'after the restart')
    const reference = await waitFor(async () => {
      const all = await backlogAll(start)
      return all.filter((event) => event.thread_id === 'restart-1' && event.type === 'message_created').length === 4 && seen.events.length >= all.length ? all : null
    }, { timeoutMs: 30_000, what: 'the feed to catch up after the restart' })
    feed.controller.abort()
    await seen.done
    assert.deepEqual(seen.events.map((event) => event.event_id), reference.map((event) => event.event_id))
  })

  test('one thread: client.threads.events(threadId) yields that thread only', async () => {
    await converse('solo-1', 'first')
    const feed = client.threads.events('solo-1')
    const seen = collect(feed)
    await waitFor(() => feed.lastEventId, { what: 'the start position' })
    await converse('solo-2', 'another thread')
    await converse('solo-1', 'this thread')
    await waitFor(() => seen.events.filter((event) => event.type === 'message_created').length >= 2, { what: 'two messages' })
    feed.controller.abort()
    await seen.done
    assert.ok(seen.events.every((event) => event.thread_id === 'solo-1'))
  })

  test('break closes the connection; a deleted thread is 404 on the next connection', async () => {
    const feed = client.threads.events.streamThread('solo-1')
    const iterator = feed[Symbol.asyncIterator]()
    const pending = iterator.next()
    await waitFor(() => feed.lastEventId, { what: 'the start position' })
    await converse('solo-1', 'wake up')
    assert.equal((await pending).done, false)
    await iterator.return?.(undefined)
    assert.equal(feed.controller.signal.aborted, true)

    await client.chats.threads.delete(chatId, 'solo-1')
    const error = await (async () => {
      for await (const _ of client.threads.events('solo-1'));
    })().catch((caught) => caught)
    assert.ok(error instanceof NotFoundError)
  })

  test('a token minted by the backend opens the feed without the key', async () => {
    await converse('token-1', 'hello')
    const { token } = await client.threads.events.tokens.create({ thread_id: 'token-1', expires_in: 60 })
    assert.match(token, /^est_/)
    // The page's client never sees the key: a placeholder, which the feed does not send.
    const page = new WorkenClient({ apiKey: 'sk-not-sent', baseURL: proxy.url })
    const feed = page.threads.events('token-1', { token })
    const seen = collect(feed)
    await waitFor(() => feed.lastEventId, { what: 'the start position' })
    await converse('token-1', 'again')
    await waitFor(() => seen.events.length >= 2, { what: 'events through the token' })
    feed.controller.abort()
    await seen.done
    assert.ok(seen.events.every((event) => event.thread_id === 'token-1'))
  })

  test('a bad key is thrown, not retried forever', async () => {
    const stranger = new WorkenClient({ apiKey: `sk-${'0'.repeat(64)}`, baseURL: worken.url })
    const error = await (async () => {
      for await (const _ of stranger.threads.events());
    })().catch((caught) => caught)
    assert.ok(error instanceof AuthenticationError)
  })
})

/** Every event after `position` (the project's whole backlog from there). */
async function backlogAll(position: string): Promise<ThreadEvent[]> {
  const events: ThreadEvent[] = []
  const feed = client.threads.events({ lastEventId: position })
  const reading = (async () => {
    for await (const event of feed) events.push(event)
  })()
  // The backlog comes first and at once; then the stream only waits for new events.
  await new Promise((resolve) => setTimeout(resolve, 300))
  feed.controller.abort()
  await reading
  return events
}

describe('reconnection rules, against a scripted SSE server', () => {
  let fake: FakeServer
  before(async () => {
    fake = await startFakeServer()
  })
  after(() => fake?.close())

  function sse(frames: string, end = true) {
    return (_: unknown, response: http.ServerResponse) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write(frames)
      if (end) response.end()
    }
  }

  test("waits the server's retry: before reconnecting, sends Last-Event-ID, and skips an event sent again", async () => {
    fake.requests.length = 0
    fake.queue(
      sse('retry: 400\nid: 5\n\nid: 6\ndata: {"type":"pending_count","thread_id":"t1","pending_count":1}\n\n'),
      // A server that sends id 6 again must not make the feed yield it twice.
      sse('id: 6\ndata: {"type":"pending_count","thread_id":"t1","pending_count":1}\n\nid: 7\ndata: {"type":"mode_changed","thread_id":"t1","mode":"manual"}\n\n', false),
    )
    const feed = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url }).threads.events()
    const events: ThreadEvent[] = []
    for await (const event of feed) {
      events.push(event)
      if (events.length === 2) break
    }
    assert.deepEqual(events.map((event) => event.type), ['pending_count', 'mode_changed'])
    assert.equal(feed.lastEventId, '7')
    assert.equal(fake.requests[0]!.headers['last-event-id'], undefined)
    assert.equal(fake.requests[1]!.headers['last-event-id'], '6')
    assert.equal(fake.requests[1]!.headers.accept, 'text/event-stream')
    const waited = fake.requests[1]!.at - fake.requests[0]!.at
    assert.ok(waited >= 390 && waited < 1000, `reconnected after ${Math.round(waited)} ms for retry: 400`)
  })

  test('an id-only first frame is a position: a feed cut before any event resumes from it', async () => {
    fake.requests.length = 0
    fake.queue(sse('retry: 50\nid: 41\n\n'), sse('id: 42\ndata: {"type":"title_changed","thread_id":"t1","title":"Hi"}\n\n', false))
    const feed = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url }).threads.events()
    for await (const event of feed) {
      assert.equal(event.type, 'title_changed')
      break
    }
    assert.equal(fake.requests[1]!.headers['last-event-id'], '41')
  })

  test('5xx and 429 answers are retried (after Retry-After), with growing waits; lastEventId is kept', async () => {
    fake.requests.length = 0
    fake.queue(
      sse('retry: 50\nid: 9\n\n'),
      { status: 503, body: errorBody(503, 'unavailable') },
      { status: 429, headers: { 'retry-after': '0.3' }, body: errorBody(429, 'rate_limited') },
      sse('id: 10\ndata: {"type":"thread_deleted","thread_id":"t1"}\n\n', false),
    )
    const reconnects: ReconnectInfo[] = []
    const feed = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url }).threads.events({ onReconnect: (info) => reconnects.push(info) })
    for await (const event of feed) {
      assert.equal(event.type, 'thread_deleted')
      break
    }
    assert.deepEqual(reconnects.map((info) => info.attempt), [1, 2, 3])
    assert.equal(reconnects[0]!.delayMs, 50)
    assert.ok(reconnects[1]!.delayMs >= 50)
    assert.ok(reconnects[2]!.delayMs >= 300, 'Retry-After: 0.3 is waited out')
    assert.deepEqual(fake.requests.slice(1).map((request) => request.headers['last-event-id']), ['9', '9', '9'])
  })

  test('an idle connection (no bytes, no keep-alive) is dropped and reconnected', async () => {
    fake.requests.length = 0
    fake.queue(sse('retry: 10\nid: 1\n\n', false), sse('id: 2\ndata: {"type":"thread_deleted","thread_id":"t1"}\n\n', false))
    const feed = new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url }).threads.events({ idleTimeout: 200 })
    for await (const _ of feed) break
    const waited = fake.requests[1]!.at - fake.requests[0]!.at
    assert.ok(waited >= 200 && waited < 1000, `reconnected after ${Math.round(waited)} ms`)
  })

  test('lastEventId must be a position', () => {
    assert.throws(() => new WorkenClient({ apiKey: 'sk-test', baseURL: fake.url }).threads.events({ lastEventId: 'abc' }), /non-negative integer/)
  })
})
