import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { createOpenAI } from '@ai-sdk/openai'
import { APICallError, cosineSimilarity, embedMany, generateText, isStepCount, streamText, tool, type TextStreamPart, type ToolSet } from 'ai'
import { z } from 'zod'
import { startLlmServer, type LlmServer } from '../support/llm-server.ts'

// The real provider, over real HTTP: these tests pin down what the app will
// see from the AI SDK when the vendor behaves (or misbehaves) in a given way.

let llm: LlmServer
let openai: ReturnType<typeof createOpenAI>

before(async () => {
  llm = await startLlmServer()
  openai = createOpenAI({ baseURL: llm.url + '/v1', apiKey: 'test' })
})
beforeEach(() => llm.reset())
after(() => llm.close())

// Retries would hide the scripted failure (and back off for seconds); onError
// replaces the SDK's default console.error logging.
const quiet = { maxRetries: 0, onError: () => {} }

async function collect<TOOLS extends ToolSet>(stream: AsyncIterable<TextStreamPart<TOOLS>>): Promise<TextStreamPart<TOOLS>[]> {
  const parts: TextStreamPart<TOOLS>[] = []
  for await (const part of stream) parts.push(part)
  return parts
}

const weatherInput = z.object({ city: z.string() })

describe('chat completions, streamed', () => {
  it('yields the scripted deltas and usage, over the Chat Completions wire format', async () => {
    llm.replyWith({ text: ['Hel', 'lo', ' there'], usage: { promptTokens: 11, completionTokens: 7 } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Say hello', ...quiet })
    const parts = await collect(result.stream)

    assert.deepEqual(parts.flatMap((part) => (part.type === 'text-delta' ? [part.text] : [])), ['Hel', 'lo', ' there'])
    const finish = parts.find((part) => part.type === 'finish')
    assert.equal(finish?.finishReason, 'stop')
    assert.equal(finish?.totalUsage.inputTokens, 11)
    assert.equal(finish?.totalUsage.outputTokens, 7)
    assert.equal(finish?.totalUsage.totalTokens, 18)

    const request = llm.requests[0]!
    assert.equal(request.path, '/v1/chat/completions')
    assert.equal(request.headers.authorization, 'Bearer test')
    assert.equal(request.body.model, 'gpt-4o-mini')
    assert.equal(request.body.stream, true)
    assert.deepEqual(request.body.stream_options, { include_usage: true })
    assert.deepEqual(request.body.messages, [{ role: 'user', content: 'Say hello' }])
  })

  it('passes sampling settings through to the request body', async () => {
    const result = streamText({
      model: openai.chat('gpt-4o-mini'),
      instructions: 'Be brief.',
      prompt: 'Hi',
      temperature: 0.3,
      maxOutputTokens: 123,
      topP: 0.9,
      frequencyPenalty: 0.5,
      presencePenalty: 0.25,
      ...quiet,
    })
    assert.equal(await result.text, 'Hello from the test model.')

    const body = llm.lastChatRequest()
    assert.equal(body.temperature, 0.3)
    assert.equal(body.max_tokens, 123)
    assert.equal(body.top_p, 0.9)
    assert.equal(body.frequency_penalty, 0.5)
    assert.equal(body.presence_penalty, 0.25)
    assert.deepEqual(body.messages[0], { role: 'system', content: 'Be brief.' })
  })

  it('runs a tool the model calls, then answers in a second step', async () => {
    llm.replyWith((turn) => (turn.endsWithToolResult
      ? { text: [`It is ${JSON.parse(turn.toolResults[0]!.content).sky} in Paris.`] }
      : { toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] }))
    const weather = tool({ inputSchema: weatherInput, execute: async ({ city }) => ({ city, sky: 'sunny' }) })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Weather in Paris?', tools: { weather }, stopWhen: isStepCount(3), ...quiet })
    const parts = await collect(result.stream)

    const call = parts.find((part) => part.type === 'tool-call')
    assert.equal(call?.toolName, 'weather')
    assert.deepEqual(call?.input, { city: 'Paris' })
    const toolResult = parts.find((part) => part.type === 'tool-result')
    assert.deepEqual(toolResult?.output, { city: 'Paris', sky: 'sunny' })
    assert.deepEqual(parts.filter((part) => part.type === 'finish-step').map((part) => part.finishReason), ['tool-calls', 'stop'])
    assert.equal(await result.text, 'It is sunny in Paris.')

    const [first, second] = llm.chatRequests()
    assert.deepEqual(first?.tools?.map((offered) => offered.function.name), ['weather'])
    assert.equal(second?.messages[1]?.tool_calls?.[0]?.function.name, 'weather')
    assert.deepEqual(second?.messages[2], { role: 'tool', tool_call_id: call?.toolCallId, content: '{"city":"Paris","sky":"sunny"}' })
  })

  it('streams several tool calls in one step, arguments in fragments', async () => {
    llm.queueReplies(
      { toolCalls: [
        { name: 'weather', arguments: { city: 'Paris' }, argumentChunks: ['{"ci', 'ty":"Pa', 'ris"}'] },
        { name: 'weather', arguments: { city: 'Oslo' } },
      ] },
      { text: ['Both done.'] },
    )
    const cities: string[] = []
    const weather = tool({ inputSchema: weatherInput, execute: async ({ city }) => { cities.push(city); return 'ok' } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Two cities', tools: { weather }, stopWhen: isStepCount(3), ...quiet })
    const parts = await collect(result.stream)

    assert.deepEqual(cities.sort(), ['Oslo', 'Paris'])
    assert.deepEqual(parts.filter((part) => part.type === 'tool-input-delta').slice(0, 3).map((part) => part.delta), ['{"ci', 'ty":"Pa', 'ris"}'])
    assert.equal(await result.text, 'Both done.')
    assert.equal(llm.lastChatRequest().messages.filter((message) => message.role === 'tool').length, 2)
  })

  it('asks for approval instead of running a tool that needs it', async () => {
    llm.replyWith({ toolCalls: [{ name: 'deleteFile', arguments: { path: '/etc/passwd' }, id: 'call_delete' }] })
    let executed = false
    const deleteFile = tool({ inputSchema: z.object({ path: z.string() }), needsApproval: true, execute: async () => { executed = true } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Delete it', tools: { deleteFile }, stopWhen: isStepCount(3), ...quiet })
    const parts = await collect(result.stream)

    const approval = parts.find((part) => part.type === 'tool-approval-request')
    assert.ok(approval?.approvalId)
    assert.equal(approval.toolCall.toolCallId, 'call_delete')
    assert.equal(approval.toolCall.toolName, 'deleteFile')
    assert.deepEqual(approval.toolCall.input, { path: '/etc/passwd' })
    assert.equal(executed, false)
    assert.equal(llm.chatRequests().length, 1)
  })

  it('asks for approval through the v7 toolApproval setting too', async () => {
    llm.replyWith({ toolCalls: [{ name: 'deleteFile', arguments: { path: '/tmp/x' } }] })
    const deleteFile = tool({ inputSchema: z.object({ path: z.string() }), execute: async () => 'deleted' })
    const result = streamText({
      model: openai.chat('gpt-4o-mini'),
      prompt: 'Delete it',
      tools: { deleteFile },
      toolApproval: { deleteFile: 'user-approval' },
      ...quiet,
    })
    const types = (await collect(result.stream)).map((part) => part.type)
    assert.ok(types.includes('tool-approval-request'))
    assert.ok(!types.includes('tool-result'))
  })

  it('surfaces an HTTP 500 as an error part and a rejected result', async () => {
    llm.replyWith({ error: { status: 500, message: 'The server had an error' } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', ...quiet })
    const parts = await collect(result.stream)

    const failure = parts.find((part) => part.type === 'error')
    assert.ok(APICallError.isInstance(failure?.error))
    assert.equal(failure.error.statusCode, 500)
    assert.equal(failure.error.message, 'The server had an error')
    await assert.rejects(async () => result.text)
  })

  it('retries a 429 after its retry-after-ms, when the caller allows retries', async () => {
    llm.queueReplies({ error: { status: 429, message: 'Rate limit reached', headers: { 'retry-after-ms': '10' } } }, { text: ['Recovered'] })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', maxRetries: 1, onError: () => {} })
    assert.equal(await result.text, 'Recovered')
    assert.equal(llm.chatRequests().length, 2)
  })

  it('surfaces a socket destroyed mid-stream as an error part', async () => {
    llm.replyWith({ text: ['one', 'two', 'three'], interrupt: { afterChunks: 2, mode: 'destroy' } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', ...quiet })
    const failure = (await collect(result.stream)).find((part) => part.type === 'error')
    assert.ok(APICallError.isInstance(failure?.error))
  })

  it('reports a stream that ends without a finish reason or [DONE] as interrupted', async () => {
    llm.replyWith({ text: ['one', 'two', 'three'], interrupt: { afterChunks: 2, mode: 'end' } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', ...quiet })
    const parts = await collect(result.stream)
    assert.equal(parts.find((part) => part.type === 'finish')?.finishReason, 'interrupted')
    assert.equal(await result.text, 'one')
  })

  it('surfaces an in-stream error event as an error part', async () => {
    llm.replyWith({ text: ['one', 'two'], interrupt: { afterChunks: 2, mode: 'error-event' } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', ...quiet })
    const parts = await collect(result.stream)
    assert.ok(parts.some((part) => part.type === 'error'))
    assert.equal(parts.find((part) => part.type === 'finish')?.finishReason, 'error')
  })

  it('lets the client give up on a stalled stream', async () => {
    llm.replyWith({ text: ['one', 'two'], interrupt: { afterChunks: 2, mode: 'stall' } })
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', abortSignal: AbortSignal.timeout(100), ...quiet })
    const parts = await collect(result.stream)
    assert.equal(parts.at(-1)?.type, 'abort')
  })

  it('waits before the response and between chunks', async () => {
    llm.replyWith({ text: ['a', 'b', 'c'], delayMs: 40, chunkDelayMs: 20 })
    const started = performance.now()
    const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', ...quiet })
    assert.equal(await result.text, 'abc')
    assert.ok(performance.now() - started >= 40 + 3 * 20)
  })
})

describe('chat completions, not streamed', () => {
  it('answers with a chat.completion object', async () => {
    llm.replyWith({ text: ['Cut ', 'short'], finishReason: 'length', usage: { promptTokens: 5, completionTokens: 2 } })
    const result = await generateText({ model: openai.chat('gpt-4o-mini'), prompt: 'Hi', ...quiet })
    assert.equal(result.text, 'Cut short')
    assert.equal(result.finishReason, 'length')
    assert.equal(result.usage.inputTokens, 5)
    assert.equal(result.usage.outputTokens, 2)
    assert.ok(!llm.lastChatRequest().stream)
  })
})

describe('embeddings', () => {
  const embedder = () => openai.embedding('text-embedding-3-small')

  it('returns deterministic vectors of the configured dimension, closer for similar texts', async () => {
    const values = ['cats purr softly', 'cats purr loudly', 'quarterly stock market report']
    const { embeddings, usage } = await embedMany({ model: embedder(), values, maxRetries: 0 })
    assert.equal(embeddings.length, 3)
    for (const vector of embeddings) assert.equal(vector.length, 8)
    assert.ok(cosineSimilarity(embeddings[0]!, embeddings[1]!) > cosineSimilarity(embeddings[0]!, embeddings[2]!))
    assert.ok(usage.tokens > 0)

    const again = await embedMany({ model: embedder(), values, maxRetries: 0 })
    assert.deepEqual(again.embeddings, embeddings)
    assert.deepEqual(llm.requests[0]?.body.input, values)
  })

  it('uses an embedder a test supplies', async () => {
    llm.embedWith((text) => [text.length, 0, 1])
    const { embeddings } = await embedMany({ model: embedder(), values: ['ab', 'abcd'], maxRetries: 0 })
    assert.deepEqual(embeddings, [[2, 0, 1], [4, 0, 1]])
  })
})

describe('everything else', () => {
  it('answers 404 with an OpenAI-style error', async () => {
    const response = await fetch(`${llm.url}/v1/responses`, { method: 'POST', body: '{}' })
    assert.equal(response.status, 404)
    assert.deepEqual(await response.json(), {
      error: { message: 'Invalid URL (POST /v1/responses)', type: 'invalid_request_error', param: null, code: null },
    })
    assert.equal(llm.requests[0]?.path, '/v1/responses')
  })
})
