import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai'
import { and, asc, eq } from 'drizzle-orm'
import { chats, events, messages } from '../../../src/schema.ts'
import { createApp } from '../../../src/app.ts'
import { createTestContext, openaiAt, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext
let owner: Seeded
let api: Call

before(async () => {
  llm = await startLlmServer()
  ctx = await createTestContext({
    services: {
      providers: openaiAt(`${llm.url}/v1`),
      streamKeepaliveMs: 15_000,
      modelMaxRetries: 0,
    },
  })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

async function newChat(settings?: unknown, call: Call = api): Promise<{ botId: string; chatId: string }> {
  const bot = (await call('POST', '/bots', { name: 'Assistant' })).body
  if (settings) assert.equal((await call('POST', `/bots/${bot.id}/settings`, settings)).status, 200)
  const chat = await call('POST', '/chats', { bot_id: bot.id, name: 'Website' })
  assert.equal(chat.status, 200, chat.text)
  return { botId: bot.id, chatId: chat.body.id }
}

function send(chatId: string, threadId: string, content: string | string[], extra: Record<string, unknown> = {}, call: Call = api) {
  const list = Array.isArray(content) ? content : [content]
  return call('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: list.map((text) => ({ role: 'user', content: text })), ...extra })
}

/** The `data:` payloads of an SSE body, `[DONE]` included as a string. */
function frames(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => {
      const data = frame.slice(6)
      return data === '[DONE]' ? data : JSON.parse(data)
    })
}

async function storedMessages(threadId: string) {
  return ctx.database.db.select().from(messages).where(and(eq(messages.projectId, owner.projectId), eq(messages.threadId, threadId))).orderBy(asc(messages.seq))
}

describe('chats', () => {
  it('creates an API chat and lists and gets it with events_24h', async () => {
    const { botId, chatId } = await newChat()
    const chat = (await api('GET', `/chats/${chatId}`)).body
    assert.deepEqual(Object.keys(chat).sort(), ['bot_id', 'created_at', 'events_24h', 'id', 'integration_id', 'name', 'project_id', 'settings', 'status', 'updated_at'])
    assert.equal(chat.bot_id, botId)
    assert.equal(chat.integration_id, null)
    assert.equal(chat.events_24h, 0)
    assert.ok((await api('GET', '/chats')).body.some((c: any) => c.id === chatId))
    llm.replyWith({ text: ['Hi'] })
    await send(chatId, 'e24', 'hello')
    // One user message and one reply: two message events today.
    assert.equal((await api('GET', `/chats/${chatId}`)).body.events_24h, 2)
    // Older events do not count.
    await ctx.database.db.update(events).set({ createdAt: new Date(Date.now() - 25 * 3600_000) }).where(eq(events.chatId, chatId))
    assert.equal((await api('GET', `/chats/${chatId}`)).body.events_24h, 0)
  })

  it('validates the bot of a new chat', async () => {
    const bad = await api('POST', '/chats', { bot_id: 'bot_nope', name: 'x' })
    assert.equal(bad.status, 422)
    assert.match(bad.body.message, /bot_id/)
    assert.equal((await api('POST', '/chats', { name: 'x' })).status, 422)
  })
})

describe('streaming', () => {
  it("streams the spec's event shapes, byte for byte, and stores both sides with usage", async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: ['Our return ', 'policy is ', '30 days.'], usage: { promptTokens: 21, completionTokens: 7 } })
    const response = await send(chatId, 'thread-1', 'What is your return policy?')
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/)
    assert.equal(
      response.text,
      'data: {"type":"text-delta","textDelta":"Our return "}\n\n' +
        'data: {"type":"text-delta","textDelta":"policy is "}\n\n' +
        'data: {"type":"text-delta","textDelta":"30 days."}\n\n' +
        'data: {"type":"finish","finishReason":"stop","usage":{"inputTokens":21,"outputTokens":7}}\n\n' +
        'data: [DONE]\n\n',
    )
    const history = (await api('GET', `/chats/${chatId}/threads/thread-1/messages`)).body
    assert.deepEqual(history.map((m: any) => [m.role, m.content, m.author]), [
      ['user', 'What is your return policy?', 'user'],
      ['assistant', 'Our return policy is 30 days.', 'bot'],
    ])
    assert.deepEqual(history[1].usage, { model: 'openai/gpt-4o-mini', input_tokens: 21, output_tokens: 7 })
    const thread = (await api('GET', `/chats/${chatId}/threads`)).body[0]
    assert.equal(thread.id, 'thread-1')
    assert.equal(thread.mode, 'auto')
    assert.ok(thread.last_message_at)
  })

  it('passes every model setting to the provider, with the instruction as the system message', async () => {
    const { chatId } = await newChat({ ai: { instruction: 'Be terse.', model: { temperature: 0.3, max_tokens: 77, top_p: 0.9, frequency_penalty: 0.5, presence_penalty: -0.5 } } })
    llm.replyWith({ text: 'ok' })
    await send(chatId, 't-settings', 'hi')
    const request = llm.lastChatRequest()
    assert.equal(request.model, 'gpt-4o-mini')
    assert.equal(request.temperature, 0.3)
    assert.equal(request.max_tokens ?? request.max_completion_tokens, 77)
    assert.equal(request.top_p, 0.9)
    assert.equal(request.frequency_penalty, 0.5)
    assert.equal(request.presence_penalty, -0.5)
    assert.deepEqual(request.messages[0], { role: 'system', content: 'Be terse.' })
  })

  it('sends only lastMessages of history, plus the new message', async () => {
    const { chatId } = await newChat({ ai: { memory: { lastMessages: 2 } } })
    llm.replyWith((turn) => ({ text: `echo ${turn.lastUserText}` }))
    for (const text of ['one', 'two', 'three']) await send(chatId, 't-window', text)
    const request = llm.lastChatRequest()
    const contents = request.messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content])
    assert.deepEqual(contents, [['user', 'two'], ['assistant', 'echo two'], ['user', 'three']])
    // lastMessages 0: only the new message.
    await api('POST', `/bots/${(await api('GET', `/chats/${chatId}`)).body.bot_id}/settings`, { ai: { memory: { lastMessages: 0 } } })
    await send(chatId, 't-window', 'four')
    assert.deepEqual(llm.lastChatRequest().messages.filter((m) => m.role !== 'system').map((m) => m.content), ['four'])
  })

  it('creates the thread on first use; the id may not belong to another chat (409)', async () => {
    const first = await newChat()
    const second = await newChat()
    llm.replyWith({ text: 'ok' })
    assert.equal((await send(first.chatId, 'shared-id', 'hi')).status, 200)
    const clash = await send(second.chatId, 'shared-id', 'hi')
    assert.equal(clash.status, 409)
    assert.equal(clash.body.error, 'Conflict')
    assert.equal((await api('GET', `/chats/${second.chatId}/threads`)).body.length, 0)
  })

  it('two chats racing for one new thread id: one wins, the other gets a 409 or an error event, nothing mixed', async () => {
    const first = await newChat()
    const second = await newChat()
    llm.replyWith({ text: ['racing'], delayMs: 100 })
    const [a, b] = await Promise.all([send(first.chatId, 'race-id', 'from first'), send(second.chatId, 'race-id', 'from second')])
    const outcomes = [a, b].map((response) => {
      if (response.status === 409) return 'conflict'
      const parts = frames(response.text) as any[]
      if (parts.some((part) => part.type === 'error')) return 'error-event'
      return parts.some((part) => part.type === 'finish') ? 'reply' : 'other'
    })
    assert.equal(outcomes.filter((outcome) => outcome === 'reply').length, 1, JSON.stringify(outcomes))
    assert.ok(outcomes.some((outcome) => outcome === 'conflict' || outcome === 'error-event'), JSON.stringify(outcomes))
    const stored = await storedMessages('race-id')
    assert.equal(stored.length, 2)
    const winner = stored[0]!.content === 'from first' ? first : second
    assert.equal((await api('GET', `/chats/${winner.chatId}/threads`)).body[0].id, 'race-id')
  })

  it('names the field in every stream validation error (the body is a union of two shapes)', async () => {
    const { chatId } = await newChat()
    const cases: Array<[unknown, string, RegExp]> = [
      [{ messages: [] }, 'messages', /at least one message/],
      [{ messages: [{ role: 'assistant', content: 'x' }] }, 'messages.0.role', /./],
      [{ messages: [{ role: 'user', content: '' }] }, 'messages.0.content', /must not be empty/],
      [{ messages: [{ role: 'user', content: 'x' }], extra: 1 }, 'extra', /not a known field/],
      [{}, 'messages', /./],
      [{ messages: [{ role: 'user', parts: 'nope' }] }, 'messages.0.parts', /./],
    ]
    for (const [body, path, message] of cases) {
      const response = await api('POST', `/chats/${chatId}/threads/t-fields/stream`, body)
      assert.equal(response.status, 422, JSON.stringify(body))
      assert.equal(response.body.code, 'invalid_request')
      const problem = response.body.details.find((detail: { path: string }) => detail.path === path)
      assert.ok(problem, `${JSON.stringify(body)} → ${JSON.stringify(response.body.details)}`)
      assert.match(problem.message, message)
      assert.doesNotMatch(response.body.message, /^Invalid input$/)
    }
  })

  it('answers 404, 409 and 422 as JSON before writing anything', async () => {
    const { botId, chatId } = await newChat()
    assert.equal((await send('chat_unknown', 't', 'hi')).status, 404)
    const invalid = [
      { messages: [] },
      { messages: [{ role: 'assistant', content: 'x' }] },
      { messages: [{ role: 'user', content: '' }] },
      { messages: [{ role: 'user', content: 'lone \ud800 surrogate' }] },
      { messages: [{ role: 'user', content: 'x' }], scheduledAt: 'tomorrow' },
      { messages: [{ role: 'user', content: 'x' }], scheduledAt: '2001-01-01T00:00:00Z' },
    ]
    for (const body of invalid) {
      const response = await api('POST', `/chats/${chatId}/threads/t-invalid/stream`, body)
      assert.equal(response.status, 422, JSON.stringify(body))
    }
    await api('POST', `/bots/${botId}/settings`, { ai: { model: { id: 'anthropic/claude-sonnet' } } })
    const unconfigured = await send(chatId, 't-invalid', 'hi')
    assert.equal(unconfigured.status, 422)
    assert.match(unconfigured.body.message, /anthropic.*not configured.*ANTHROPIC_API_KEY/)
    await api('POST', `/bots/${botId}/settings`, { ai: { model: { id: 'nosuch/model' } } })
    assert.match((await send(chatId, 't-invalid', 'hi')).body.message, /Unknown model provider 'nosuch'/)
    await api('POST', `/bots/${botId}/settings`, { ai: { model: { id: 'openai/gpt-4o-mini' } } })
    await api('POST', `/bots/${botId}/status`, { status: 'disabled' })
    assert.equal((await send(chatId, 't-invalid', 'hi')).status, 409)
    await api('POST', `/bots/${botId}/status`, { status: 'active' })
    await ctx.database.db.update(chats).set({ status: 'disabled' }).where(eq(chats.id, chatId))
    assert.equal((await send(chatId, 't-invalid', 'hi')).status, 409)
    assert.equal((await storedMessages('t-invalid')).length, 0)
    assert.equal(llm.chatRequests().length, 0)
  })

  it('a provider failure mid-stream arrives as an error event; the user message stays, no half reply', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: ['Par', 'tial', ' reply'], interrupt: { afterChunks: 2, mode: 'destroy' } })
    const response = await send(chatId, 't-fail', 'hello?')
    assert.equal(response.status, 200)
    const parts = frames(response.text) as any[]
    assert.deepEqual(parts.at(-1), '[DONE]')
    const error = parts.at(-2)
    assert.equal(error.type, 'error')
    assert.equal(typeof error.error, 'string')
    assert.ok(!parts.some((part) => part.type === 'finish'))
    const stored = await storedMessages('t-fail')
    assert.deepEqual(stored.map((m) => [m.role, m.content]), [['user', 'hello?']])
  })

  it('an HTTP 500 from the provider before the first token is an error event too', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ error: { status: 500, message: 'upstream exploded' } })
    const parts = frames((await send(chatId, 't-500', 'hello?')).text) as any[]
    assert.equal(parts.at(-2).type, 'error')
    assert.match(parts.at(-2).error, /upstream exploded/)
  })

  it('a client that disconnects does not lose anything: the reply is still stored', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: ['slow ', 'but ', 'complete'], chunkDelayMs: 150 })
    const controller = new AbortController()
    const response = await ctx.publicApp.request(`/chats/${chatId}/threads/t-gone/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'tell me' }] }),
      signal: controller.signal,
    })
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    controller.abort()
    let stored: Awaited<ReturnType<typeof storedMessages>> = []
    for (let i = 0; i < 100; i++) {
      stored = await storedMessages('t-gone')
      if (stored.length === 2) break
      await sleep(50)
    }
    assert.deepEqual(stored.map((m) => [m.role, m.content]), [['user', 'tell me'], ['assistant', 'slow but complete']])
  })
})

describe('AI SDK UI message stream', () => {
  it('?format=ui-message-stream takes a useChat body and answers what readUIMessageStream (useChat) parses', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: ['Hello ', 'from the ', 'UI stream'] })
    const useChatBody = {
      id: 'chat-session',
      trigger: 'submit-message',
      messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi there' }] }],
    }
    const response = await api('POST', `/chats/${chatId}/threads/t-ui/stream?format=ui-message-stream`, useChatBody)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('x-vercel-ai-ui-message-stream'), 'v1')
    const chunks = frames(response.text)
    assert.equal(chunks.at(-1), '[DONE]')
    const stream = new ReadableStream<UIMessageChunk>({
      start(controller) {
        for (const chunk of chunks.slice(0, -1)) controller.enqueue(chunk as UIMessageChunk)
        controller.close()
      },
    })
    let message: UIMessage | undefined
    for await (const state of readUIMessageStream({ stream })) message = state
    assert.equal(message?.role, 'assistant')
    assert.deepEqual(message?.parts.filter((part) => part.type === 'text').map((part) => (part as { text: string }).text), ['Hello from the UI stream'])
    // The server kept the history: the user's text and the reply.
    const history = (await api('GET', `/chats/${chatId}/threads/t-ui/messages`)).body
    assert.deepEqual(history.map((m: any) => m.content), ['Hi there', 'Hello from the UI stream'])
  })

  it('refuses a useChat body without the format, and one whose last message is not the user', async () => {
    const { chatId } = await newChat()
    const body = { messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] }] }
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-ui2/stream`, body)).status, 422)
    const notUser = { messages: [{ id: 'm1', role: 'assistant', parts: [{ type: 'text', text: 'Hi' }] }] }
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-ui2/stream?format=ui-message-stream`, notUser)).status, 422)
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-ui2/stream?format=html`, body)).status, 422)
  })
})

describe('keep-alive', () => {
  it('sends a ": keepalive" comment while the model is silent', async () => {
    const quick = createApp({ kind: 'public', services: { ...ctx.services, streamKeepaliveMs: 200 }, logger: silentLogger })
    const { chatId } = await newChat()
    llm.replyWith({ text: ['late'], delayMs: 700 })
    const response = await quick.request(`/chats/${chatId}/threads/t-keepalive/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'take your time' }] }),
    })
    const text = await response.text()
    assert.ok(text.startsWith(': keepalive\n\n'), text)
    assert.ok(text.endsWith('data: [DONE]\n\n'))
    assert.deepEqual((frames(text) as any[]).filter((p) => p.type === 'text-delta').map((p) => p.textDelta), ['late'])
  })
})

describe('thread modes', () => {
  it('manual and operator store the message, raise pending_count and call no model', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: 'hi' })
    await send(chatId, 't-manual', 'first')
    for (const mode of ['manual', 'operator'] as const) {
      const set = await api('POST', `/chats/${chatId}/threads/t-manual/mode`, { mode })
      assert.equal(set.status, 200)
      assert.equal(set.body.mode, mode)
      const before = llm.chatRequests().length
      const response = await send(chatId, 't-manual', [`waiting in ${mode}`, 'and more'])
      assert.equal(response.status, 202)
      assert.equal(response.body.status, 'pending_operator')
      assert.equal(response.body.mode, mode)
      assert.equal(response.body.message_ids.length, 2)
      assert.equal(llm.chatRequests().length, before)
    }
    const thread = (await api('GET', `/chats/${chatId}/threads`)).body[0]
    assert.equal(thread.pending_count, 4)
    // Back to auto: the AI answers again and nothing is pending any more.
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-manual/mode`, { mode: 'auto' })).body.pending_count, 0)
    assert.equal((await send(chatId, 't-manual', 'anyone?')).status, 200)
  })

  it('blocked stores the message with no reply and nothing pending', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: 'hi' })
    await send(chatId, 't-blocked', 'first')
    await api('POST', `/chats/${chatId}/threads/t-blocked/mode`, { mode: 'blocked' })
    const response = await send(chatId, 't-blocked', 'spam')
    assert.equal(response.status, 202)
    assert.equal(response.body.status, 'stored')
    assert.equal(response.body.pending_count, 0)
    assert.equal((await storedMessages('t-blocked')).at(-1)!.content, 'spam')
  })

  it('validates the mode and the thread', async () => {
    const { chatId } = await newChat()
    assert.equal((await api('POST', `/chats/${chatId}/threads/nope/mode`, { mode: 'manual' })).status, 404)
    llm.replyWith({ text: 'hi' })
    await send(chatId, 't-mode', 'x')
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-mode/mode`, { mode: 'paused' })).status, 422)
  })
})

describe('tools and memory', () => {
  it('working memory is written by the tool and read back', async () => {
    const { chatId } = await newChat({ ai: { memory: { workingMemory: { enabled: true } } } })
    const memory = '# User Information\n- **First Name**: Ada\n'
    llm.replyWith((turn) =>
      turn.endsWithToolResult ? { text: 'Nice to meet you, Ada.' } : { toolCalls: [{ name: 'updateWorkingMemory', arguments: { memory } }] },
    )
    assert.equal((await api('GET', '/threads/t-memory/memory')).status, 404)
    const parts = frames((await send(chatId, 't-memory', 'I am Ada')).text) as any[]
    assert.deepEqual(parts.map((p) => (typeof p === 'string' ? p : p.type)), ['tool-call', 'tool-result', 'text-delta', 'finish', '[DONE]'])
    assert.equal(parts[0].toolName, 'updateWorkingMemory')
    assert.deepEqual(parts[0].args, { memory })
    assert.deepEqual(parts[1].result, { success: true })
    assert.deepEqual((await api('GET', '/threads/t-memory/memory')).body, { content: memory })
    // The next turn shows the model its memory.
    llm.replyWith({ text: 'Hello again' })
    await send(chatId, 't-memory', 'remember me?')
    const system = llm.lastChatRequest().messages[0]!
    assert.equal(system.role, 'system')
    assert.ok(String(system.content).includes('**First Name**: Ada'))
    // The tool call and its result are replayed to the model in order.
    const roles = llm.lastChatRequest().messages.map((m) => m.role)
    assert.deepEqual(roles, ['system', 'user', 'assistant', 'tool', 'assistant', 'user'])
  })

  it('stores a tool turn so a reader sees the call and the result, and the model still sees the same history', async () => {
    const { chatId } = await newChat({ ai: { memory: { workingMemory: { enabled: true } } } })
    llm.replyWith((turn) =>
      turn.endsWithToolResult ? { text: 'Noted, Ada.' } : { text: 'Let me remember that.', toolCalls: [{ name: 'updateWorkingMemory', arguments: { memory: '# Ada' } }] },
    )
    await send(chatId, 't-tool-read', 'I am Ada')
    const stored = (await api('GET', `/chats/${chatId}/threads/t-tool-read/messages`)).body
    assert.deepEqual(stored.map((m: any) => m.role), ['user', 'assistant', 'tool', 'assistant'])
    const [, call, result, answer] = stored
    assert.equal(call.content, 'Let me remember that.')
    assert.equal(call.tool_calls.length, 1)
    assert.equal(call.tool_calls[0].name, 'updateWorkingMemory')
    assert.deepEqual(call.tool_calls[0].args, { memory: '# Ada' })
    assert.equal(call.tool_results, null)
    assert.deepEqual(result.tool_results, [{ tool_call_id: call.tool_calls[0].id, name: 'updateWorkingMemory', result: { success: true } }])
    assert.equal(result.tool_calls, null)
    assert.equal(answer.content, 'Noted, Ada.')
    assert.equal(answer.tool_calls, null)
    assert.equal(stored[0].tool_calls, null)
    // The next turn replays the call and its result to the model, in order.
    llm.replyWith({ text: 'Hello again' })
    await send(chatId, 't-tool-read', 'still there?')
    const replayed = llm.lastChatRequest().messages
    assert.deepEqual(replayed.map((m) => m.role), ['system', 'user', 'assistant', 'tool', 'assistant', 'user'])
  })

  it('handoff_to_operator switches the thread to manual with an event', async () => {
    const { chatId } = await newChat({ ai: { tools: { handoff_to_operator: 'auto' } } })
    llm.replyWith((turn) =>
      turn.endsWithToolResult ? { text: 'An operator will reply shortly.' } : { toolCalls: [{ name: 'handoff_to_operator', arguments: { reason: 'asked for a human' } }] },
    )
    await send(chatId, 't-handoff', 'I want a human')
    const thread = (await api('GET', `/chats/${chatId}/threads`)).body[0]
    assert.equal(thread.mode, 'manual')
    const modeEvents = await ctx.database.db.select().from(events).where(and(eq(events.threadId, 't-handoff'), eq(events.type, 'thread.mode.changed')))
    assert.equal(modeEvents.length, 1)
    assert.equal((modeEvents[0]!.data as any).mode, 'manual')
    assert.equal((await send(chatId, 't-handoff', 'hello?')).status, 202)
  })

  it('a tool under user_approve stops the turn with an approval request, persisted', async () => {
    const { chatId } = await newChat({ ai: { tools: { handoff_to_operator: 'user_approve' } } })
    llm.replyWith({ toolCalls: [{ name: 'handoff_to_operator', arguments: { reason: 'needs a refund' } }] })
    const parts = frames((await send(chatId, 't-approve', 'refund please')).text) as any[]
    const request = parts.find((p) => p.type === 'tool-approval-request')
    assert.ok(request, JSON.stringify(parts))
    assert.equal(request.toolName, 'handoff_to_operator')
    assert.equal(request.policy, 'user_approve')
    assert.ok(parts.some((p) => p.type === 'tool-call' && p.toolName === 'handoff_to_operator'))
    assert.equal(parts.find((p) => p.type === 'finish').finishReason, 'tool-calls')
    // Not run: the thread is still in auto mode.
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).body[0].mode, 'auto')
  })

  it('a model that writes a NUL or a lone surrogate (in text or tool arguments) loses nothing: stored as U+FFFD', async () => {
    const { chatId } = await newChat({ ai: { memory: { workingMemory: { enabled: true } } } })
    llm.replyWith((turn) => (turn.endsWithToolResult
      ? { text: ['fine a\u0000b', ' \ud800 end'] }
      : { toolCalls: [{ name: 'updateWorkingMemory', arguments: { memory: '# x\u0000y' } }] }))
    const parts = frames((await send(chatId, 't-nul-model', 'hi')).text) as any[]
    assert.ok(!parts.some((p) => p.type === 'error'), JSON.stringify(parts))
    assert.equal(parts.find((p) => p.type === 'tool-result').result.success, true)
    const messages = (await api('GET', `/chats/${chatId}/threads/t-nul-model/messages`)).body
    assert.equal(messages.at(-1).content, 'fine a\uFFFDb \uFFFD end')
    assert.equal((await api('GET', '/threads/t-nul-model/memory')).body.content, '# x\uFFFDy')
  })

  it('updateWorkingMemory goes through the same policy step: under user_approve it asks instead of writing', async () => {
    const { chatId } = await newChat({ ai: { memory: { workingMemory: { enabled: true } }, tools: { updateWorkingMemory: 'user_approve' } } })
    llm.replyWith({ toolCalls: [{ name: 'updateWorkingMemory', arguments: { memory: '# Ada' } }] })
    const parts = frames((await send(chatId, 't-memory-approve', 'I am Ada')).text) as any[]
    const request = parts.find((p) => p.type === 'tool-approval-request')
    assert.ok(request, JSON.stringify(parts))
    assert.equal(request.toolName, 'updateWorkingMemory')
    assert.equal(request.policy, 'user_approve')
    assert.ok(!parts.some((p) => p.type === 'tool-result'), 'the tool must not have run')
    const memory = await api('GET', '/threads/t-memory-approve/memory')
    assert.equal(memory.status, 200)
    assert.ok(!JSON.stringify(memory.body).includes('# Ada'), JSON.stringify(memory.body))
  })
})

describe('approvals', () => {
  async function requestApproval(policy: 'user_approve' | 'operator_approve', threadId: string) {
    const { chatId } = await newChat({ ai: { tools: { handoff_to_operator: policy } } })
    llm.replyWith((turn) =>
      turn.endsWithToolResult
        ? { text: turn.toolResults[0]!.content.includes('handedOff') ? 'An operator will reply.' : 'Alright, I will keep helping.' }
        : { toolCalls: [{ name: 'handoff_to_operator', arguments: { reason: 'refund' } }] },
    )
    const parts = frames((await send(chatId, threadId, 'I want a refund')).text) as any[]
    const request = parts.find((p) => p.type === 'tool-approval-request')
    assert.equal(request.policy, policy)
    return { chatId, approvalId: request.approvalId as string }
  }

  for (const policy of ['user_approve', 'operator_approve'] as const) {
    it(`${policy}: approving runs the tool and resumes the reply as a stream; a second decision is 409`, async () => {
      const { chatId, approvalId } = await requestApproval(policy, `t-${policy}`)
      // A fresh app on the same database: nothing of the approval lives in process memory.
      const restarted = createApp({ kind: 'public', services: { ...ctx.services }, logger: silentLogger })
      const response = await restarted.request(`/threads/t-${policy}/approvals/${approvalId}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ approved: true }),
      })
      assert.equal(response.status, 200)
      const parts = frames(await response.text()) as any[]
      assert.ok(parts.some((p) => p.type === 'tool-result' && p.toolName === 'handoff_to_operator' && p.result.handedOff === true), JSON.stringify(parts))
      assert.equal(parts.filter((p) => p.type === 'text-delta').map((p) => p.textDelta).join(''), 'An operator will reply.')
      assert.equal((await api('GET', `/chats/${chatId}/threads`)).body[0].mode, 'manual')
      const again = await api('POST', `/threads/t-${policy}/approvals/${approvalId}`, { approved: true })
      assert.equal(again.status, 409)
    })
  }

  it('denying tells the model, which answers without running the tool', async () => {
    const { chatId, approvalId } = await requestApproval('user_approve', 't-deny')
    const response = await api('POST', `/threads/t-deny/approvals/${approvalId}`, { approved: false, reason: 'not now' })
    assert.equal(response.status, 200)
    const parts = frames(response.text) as any[]
    assert.ok(!parts.some((p) => p.type === 'tool-result' && p.result?.handedOff))
    assert.equal(parts.filter((p) => p.type === 'text-delta').map((p) => p.textDelta).join(''), 'Alright, I will keep helping.')
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).body[0].mode, 'auto')
  })

  it('unknown approvals and threads are 404; bad bodies 422', async () => {
    const { approvalId } = await requestApproval('user_approve', 't-approval-errors')
    assert.equal((await api('POST', '/threads/t-approval-errors/approvals/aitxt-nope', { approved: true })).status, 404)
    assert.equal((await api('POST', `/threads/nope/approvals/${approvalId}`, { approved: true })).status, 404)
    assert.equal((await api('POST', `/threads/t-approval-errors/approvals/${approvalId}`, { approved: 'yes' })).status, 422)
    const intruder = ctx.asKey((await ctx.seed()).key)
    assert.equal((await intruder('POST', `/threads/t-approval-errors/approvals/${approvalId}`, { approved: true })).status, 404)
  })
})

describe('formatting', () => {
  it('removes Markdown and emojis from the deltas and the stored reply alike, across split chunks', async () => {
    const { chatId } = await newChat({ ai: { formatting: { removeEmojis: true, removeMarkdown: true } } })
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}'
    const text = `Here is **bold** and a [link](https://shop.example.test) ${family} done 😀!`
    // Split inside "**", inside the link, and between the code units of a surrogate pair.
    const cuts = [10, 11, 25, text.indexOf(family) + 1, text.indexOf('😀') + 1]
    const chunks: string[] = []
    let start = 0
    for (const cut of cuts) {
      chunks.push(text.slice(start, cut))
      start = cut
    }
    chunks.push(text.slice(start))
    llm.replyWith({ text: chunks })
    const parts = frames((await send(chatId, 't-format', 'format me')).text) as any[]
    const streamed = parts.filter((p) => p.type === 'text-delta').map((p) => p.textDelta).join('')
    const stored = (await storedMessages('t-format')).at(-1)!.content
    assert.equal(streamed, stored)
    assert.ok(!stored.includes('**') && !stored.includes('😀') && !stored.includes('\u200D') && !stored.includes(']('), stored)
    assert.match(stored, /bold/)
  })
})

describe('threads', () => {
  it('delete removes the thread, its messages and memory', async () => {
    const { chatId } = await newChat({ ai: { memory: { workingMemory: { enabled: true } } } })
    llm.replyWith((turn) => (turn.endsWithToolResult ? { text: 'ok' } : { toolCalls: [{ name: 'updateWorkingMemory', arguments: { memory: 'x' } }] }))
    await send(chatId, 't-delete', 'hi')
    const deleted = await api('POST', `/chats/${chatId}/threads/t-delete/delete`)
    assert.deepEqual(deleted.body, { id: 't-delete', deleted: true })
    assert.equal((await api('GET', `/chats/${chatId}/threads/t-delete/messages`)).status, 404)
    assert.equal((await api('GET', '/threads/t-delete/memory')).status, 404)
    assert.equal((await storedMessages('t-delete')).length, 0)
    assert.equal((await api('POST', `/chats/${chatId}/threads/t-delete/delete`)).status, 404)
    // The id is free again.
    llm.replyWith({ text: 'fresh' })
    assert.equal((await send(chatId, 't-delete', 'again')).status, 200)
  })

  it('the outbox holds the right events in order', async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: 'reply' })
    await send(chatId, 't-outbox', 'hello')
    await api('POST', `/chats/${chatId}/threads/t-outbox/mode`, { mode: 'manual' })
    await send(chatId, 't-outbox', 'waiting')
    const rows = await ctx.database.db.select().from(events).where(eq(events.threadId, 't-outbox')).orderBy(asc(events.seq))
    assert.deepEqual(rows.map((row) => row.type), [
      'thread.created',
      'thread.message.created',
      'thread.message.created',
      'thread.mode.changed',
      'thread.message.created',
      'thread.pending_count.changed',
    ])
    assert.deepEqual(rows.map((row) => (row.data as any).message?.role ?? null), [null, 'user', 'assistant', null, 'user', null])
    assert.ok(rows.every((row) => row.projectId === owner.projectId && row.chatId === chatId && /^evt_/.test(row.id)))
  })
})

describe('tenancy', () => {
  it("another project's chat and threads are 404 on every endpoint", async () => {
    const { chatId } = await newChat()
    llm.replyWith({ text: 'private' })
    await send(chatId, 't-private', 'secret question')
    const intruder = ctx.asKey((await ctx.seed()).key)
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/chats/${chatId}`],
      ['GET', `/chats/${chatId}/threads`],
      ['GET', `/chats/${chatId}/threads/t-private/messages`],
      ['POST', `/chats/${chatId}/threads/t-private/mode`, { mode: 'blocked' }],
      ['POST', `/chats/${chatId}/threads/t-private/delete`],
      ['POST', `/chats/${chatId}/threads/t-private/stream`, { messages: [{ role: 'user', content: 'hi' }] }],
      ['GET', '/threads/t-private/memory'],
    ]
    for (const [method, path, body] of attempts) {
      const response = await intruder(method, path, body)
      assert.equal(response.status, 404, `${method} ${path}`)
      assert.ok(!response.text.includes('secret question'))
    }
    assert.deepEqual((await intruder('GET', '/chats')).body, [])
    const { botId } = await newChat()
    assert.equal((await intruder('POST', '/chats', { bot_id: botId, name: 'stolen' })).status, 422)
    assert.equal((await storedMessages('t-private')).length, 2)
    assert.equal((await api('GET', `/chats/${chatId}/threads`)).body[0].mode, 'auto')
  })
})
