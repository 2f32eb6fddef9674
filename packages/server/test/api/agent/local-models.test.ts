import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateText, stepCountIs, streamText, tool } from 'ai'
import { z } from 'zod'
import { DEMO_ANSWER, localLanguageModel } from '../../../src/modules/agent/local-models.ts'
import { ModelRegistry } from '../../../src/modules/agent/models.ts'
import { loadConfig } from '../../../src/config.ts'
import { AppError } from '../../../src/platform/errors.ts'
import { createTestContext, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

const quiet = { onError: () => {} }
const echo = localLanguageModel('echo', { tokenDelayMs: 0 })

describe('local/echo, an AI SDK language model', () => {
  it('streams the last user message back word by word, then a finish with usage in words', async () => {
    const result = streamText({
      model: echo,
      instructions: 'You are a helpful assistant.',
      messages: [
        { role: 'user', content: 'First' },
        { role: 'assistant', content: 'You said: First' },
        { role: 'user', content: 'Hello there, Worken' },
      ],
      ...quiet,
    })
    const deltas: string[] = []
    let finish: any
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') deltas.push(part.text)
      if (part.type === 'finish') finish = part
    }
    assert.deepEqual(deltas, ['You', ' said:', ' Hello', ' there,', ' Worken'])
    assert.equal(finish.finishReason, 'stop')
    // 5 words of instruction + 1 + 3 + 3 in the prompt; 5 words out.
    assert.equal(finish.totalUsage.inputTokens, 12)
    assert.equal(finish.totalUsage.outputTokens, 5)
  })

  it('answers generateText the same way, and stops at maxOutputTokens with finish reason length', async () => {
    const whole = await generateText({ model: echo, prompt: 'Привет, мир' })
    assert.equal(whole.text, 'You said: Привет, мир')
    assert.deepEqual([whole.usage.inputTokens, whole.usage.outputTokens], [2, 4])
    const cut = streamText({ model: echo, prompt: 'one two three four', maxOutputTokens: 3, ...quiet })
    assert.equal(await cut.text, 'You said: one')
    assert.equal(await cut.finishReason, 'length')
  })

  it('stops streaming when the call is aborted', async () => {
    const slow = localLanguageModel('echo', { tokenDelayMs: 30 })
    const controller = new AbortController()
    const result = streamText({ model: slow, prompt: 'a b c d e f g h i j k l m n o p', abortSignal: controller.signal, ...quiet })
    const deltas: string[] = []
    let aborted = false
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') {
        deltas.push(part.text)
        if (deltas.length === 2) controller.abort()
      }
      if (part.type === 'abort' || part.type === 'error') aborted = true
    }
    assert.ok(aborted)
    assert.ok(deltas.length < 5, `stopped early: ${deltas.length} deltas`)
  })

  it('the registry serves local/echo and local/demo with no provider configured, and names them for a wrong id', () => {
    const registry = new ModelRegistry(loadConfig({}).providers)
    assert.deepEqual(registry.configuredProviders(), ['local'])
    assert.equal((registry.languageModel('local/echo') as any).modelId, 'echo')
    assert.equal((registry.languageModel('local/demo') as any).provider, 'local')
    assert.throws(
      () => registry.languageModel('local/gpt-4o'),
      (error: unknown) => error instanceof AppError && error.code === 'model_unavailable' && /local\/echo and local\/demo/.test(error.message),
    )
    assert.throws(() => registry.languageModel('openai/gpt-4o-mini'), /set OPENAI_API_KEY .*or use the offline model local\/echo/)
  })
})

describe('local/demo', () => {
  const demo = localLanguageModel('demo', { tokenDelayMs: 0 })

  it('answers with its canned text when no tool fits', async () => {
    assert.equal((await generateText({ model: demo, prompt: 'What can you do?' })).text, DEMO_ANSWER)
  })

  it('calls handoff_to_operator when asked for a person, then says so', async () => {
    const reasons: string[] = []
    const handoff = tool({
      description: 'Hand over',
      inputSchema: z.object({ reason: z.string() }),
      execute: async ({ reason }) => {
        reasons.push(reason)
        return { handedOff: true }
      },
    })
    const result = streamText({ model: demo, prompt: 'Can I talk to a human, please?', tools: { handoff_to_operator: handoff }, stopWhen: stepCountIs(3), ...quiet })
    const kinds: string[] = []
    for await (const part of result.fullStream) if (['tool-call', 'tool-result', 'text-delta'].includes(part.type)) kinds.push(part.type)
    assert.deepEqual(reasons, ['The user asked for a person: "Can I talk to a human, please?"'])
    assert.deepEqual(kinds.slice(0, 2), ['tool-call', 'tool-result'])
    assert.equal(await result.text, 'I have asked a person to take over. An operator will reply here shortly.')
    assert.equal((await result.steps).length, 2)
  })

  it('searches with file_search when it is offered, and cites what it found', async () => {
    const fileSearch = tool({
      description: 'Search',
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => ({ results: [{ file_id: 'file_1', filename: 'handbook.md', score: 0.9, text: `Vacation: 28 days. (${query})` }] }),
    })
    const result = await generateText({ model: demo, prompt: 'How long is the vacation?', tools: { file_search: fileSearch }, stopWhen: stepCountIs(3) })
    assert.equal(result.text, 'Here is what I found in your documents:\n\n- handbook.md: Vacation: 28 days. (How long is the vacation?)')
    // A greeting is not a question to search for.
    const hello = await generateText({ model: demo, prompt: 'Hello!', tools: { file_search: fileSearch }, stopWhen: stepCountIs(3) })
    assert.equal(hello.text, DEMO_ANSWER)
  })
})

describe('local models through the API', () => {
  let ctx: TestContext
  let owner: Seeded
  let api: Call
  before(async () => {
    ctx = await createTestContext() // no model provider configured at all
    owner = await ctx.seed()
    api = ctx.asKey(owner.key)
  })
  after(() => ctx.close())

  async function chatWith(ai: unknown): Promise<string> {
    const bot = (await api('POST', '/bots', { name: 'Local' })).body
    assert.equal((await api('POST', `/bots/${bot.id}/settings`, { ai })).status, 200)
    return (await api('POST', '/chats', { bot_id: bot.id, name: 'Try-out' })).body.id
  }
  const frames = (text: string) => text.split('\n\n').filter((frame) => frame.startsWith('data: ')).map((frame) => (frame === 'data: [DONE]' ? '[DONE]' : JSON.parse(frame.slice(6))))

  it('local/echo streams a reply, token by token, and stores it with its usage', async () => {
    const chatId = await chatWith({ model: { id: 'local/echo' } })
    const response = await api('POST', `/chats/${chatId}/threads/echo-1/stream`, { messages: [{ role: 'user', content: 'What is your return policy?' }] })
    assert.equal(response.status, 200, response.text)
    const events = frames(response.text)
    const deltas = events.filter((event: any) => event.type === 'text-delta').map((event: any) => event.textDelta)
    assert.ok(deltas.length >= 5)
    assert.equal(deltas.join(''), 'You said: What is your return policy?')
    const finish = events.find((event: any) => event.type === 'finish')
    assert.equal(finish.finishReason, 'stop')
    assert.deepEqual(finish.usage, { inputTokens: 10, outputTokens: 7 })
    assert.equal(events.at(-1), '[DONE]')
    const history = (await api('GET', `/chats/${chatId}/threads/echo-1/messages`)).body
    assert.equal(history.at(-1).content, 'You said: What is your return policy?')
    assert.deepEqual(history.at(-1).usage, { model: 'local/echo', input_tokens: 10, output_tokens: 7 })
  })

  it('local/demo hands the thread to an operator through the real tool', async () => {
    const chatId = await chatWith({ model: { id: 'local/demo' }, tools: { handoff_to_operator: 'auto' } })
    const response = await api('POST', `/chats/${chatId}/threads/demo-1/stream`, { messages: [{ role: 'user', content: 'I want to speak to a person' }] })
    const events = frames(response.text)
    assert.deepEqual(events.filter((event: any) => event.type === 'tool-call').map((event: any) => event.toolName), ['handoff_to_operator'])
    assert.deepEqual(events.find((event: any) => event.type === 'tool-result').result, { handedOff: true })
    assert.equal(events.filter((event: any) => event.type === 'text-delta').map((event: any) => event.textDelta).join(''), 'I have asked a person to take over. An operator will reply here shortly.')
    assert.equal((await api('GET', '/threads/demo-1')).body.mode, 'manual')
  })

  it('local/demo waits for an approval like any model, and says so when it is denied', async () => {
    const chatId = await chatWith({ model: { id: 'local/demo' }, tools: { handoff_to_operator: 'user_approve' } })
    const asked = frames((await api('POST', `/chats/${chatId}/threads/demo-2/stream`, { messages: [{ role: 'user', content: 'Get me a human' }] })).text)
    const request = asked.find((event: any) => event.type === 'tool-approval-request')
    assert.equal(request.toolName, 'handoff_to_operator')
    assert.equal(asked.find((event: any) => event.type === 'finish').finishReason, 'tool-calls')
    const resumed = await api('POST', `/threads/demo-2/approvals/${request.approvalId}`, { approved: false })
    assert.equal(resumed.status, 200, resumed.text)
    const text = frames(resumed.text).filter((event: any) => event.type === 'text-delta').map((event: any) => event.textDelta).join('')
    assert.equal(text, 'Understood: I will not use handoff_to_operator.')
    assert.equal((await api('GET', '/threads/demo-2')).body.mode, 'auto')
  })

  it('an unknown local model is 422 before anything is stored, naming the ones there are', async () => {
    const chatId = await chatWith({ model: { id: 'local/gpt' } })
    const response = await api('POST', `/chats/${chatId}/threads/nope-1/stream`, { messages: [{ role: 'user', content: 'Hi' }] })
    assert.equal(response.status, 422)
    assert.equal(response.body.code, 'model_unavailable')
    assert.match(response.body.message, /Unknown local model 'local\/gpt'.*local\/echo and local\/demo/)
    assert.equal((await api('GET', '/threads/nope-1')).status, 404)
  })
})
