import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ConflictError, type Fetch } from '../src/index.ts'
import { echoChat, startWorken, type Worken } from './support/worken.ts'

let worken: Worken

before(async () => {
  worken = await startWorken()
})
after(() => worken?.stop())

/**
 * A fetch whose first answer to a POST is lost on the way back: the server did the work,
 * the caller sees a connection error and retries, as after a dropped connection.
 */
function losingFirstAnswer(): { fetch: Fetch; keys: string[] } {
  const keys: string[] = []
  let lost = false
  const fetch: Fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init)
    const key = new Headers(init?.headers).get('idempotency-key')
    if (init?.method === 'POST' && key) keys.push(key)
    if (init?.method === 'POST' && !lost) {
      lost = true
      await response.body?.cancel()
      throw new TypeError('fetch failed: the connection was reset')
    }
    return response
  }
  return { fetch, keys }
}

describe('retries against the real server do not do things twice', () => {
  it('a create whose answer was lost is retried with the same key and answered from the first run', async () => {
    const { fetch, keys } = losingFirstAnswer()
    const client = worken.client({ fetch, maxRetries: 2 })
    const bot = await client.bots.create({ name: 'Created once' })
    assert.equal(keys.length, 2)
    assert.equal(keys[0], keys[1])
    const named = (await worken.client().bots.list({ limit: 1000 })).data.filter((each) => each.name === 'Created once')
    assert.deepEqual(named.map((each) => each.id), [bot.id])
  })

  it('a reply stream whose answer was lost is replayed, not answered twice', async () => {
    const { chatId } = await echoChat(worken.client(), 'Idempotent stream')
    const { fetch } = losingFirstAnswer()
    const client = worken.client({ fetch, maxRetries: 2 })
    const stream = await client.chats.threads.stream(chatId, 'once', { messages: [{ role: 'user', content: 'Only once' }] })
    let text = ''
    for await (const event of stream) if (event.type === 'text-delta') text += event.textDelta
    assert.equal(text, 'You said: Only once')
    assert.equal(stream.response.headers.get('idempotent-replayed'), 'true')
    const messages = (await worken.client().chats.threads.messages.list(chatId, 'once')).data
    assert.deepEqual(messages.map((message) => message.role), ['user', 'assistant'])
  })

  it('the same key with another body is a ConflictError at once, not retried', async () => {
    const client = worken.client({ maxRetries: 2 })
    await client.bots.create({ name: 'First' }, { idempotencyKey: 'sdk-reused-key' })
    const started = performance.now()
    await assert.rejects(client.bots.create({ name: 'Second' }, { idempotencyKey: 'sdk-reused-key' }), (error: unknown) => {
      assert.ok(error instanceof ConflictError)
      assert.equal(error.code, 'idempotency_key_reused')
      return true
    })
    assert.ok(performance.now() - started < 400, 'x-should-retry: false stops the retries')
  })
})
