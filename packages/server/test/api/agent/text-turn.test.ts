import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pino from 'pino'
import { loadConfig } from '../../../src/config.ts'
import { ModelRegistry } from '../../../src/modules/agent/models.ts'
import { runTurn, type StreamEvent, type TurnInput, type TurnResult } from '../../../src/modules/agent/index.ts'
import { defaultBotSettings, type BotSettings } from '../../../src/modules/bots/index.ts'
import { startLlmServer, type LlmServer, type ReplyScript } from '../../support/llm-server.ts'

// A turn that can only be text runs on the AI SDK's single-call stream instead of `streamText`'s
// agent loop (turn.ts). These hold the two to the same events, stored messages, usage, finish
// reason, failures and upstream request, script by script.

let llm: LlmServer
let registry: ModelRegistry
const logger = pino({ level: 'silent' })
const thread = { handOff: async () => {}, updateWorkingMemory: async () => {} }

before(async () => {
  llm = await startLlmServer()
  registry = new ModelRegistry(loadConfig({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${llm.url}/v1`, WORKEN_PROVIDER_MY_GATEWAY_BASE_URL: `${llm.url}/v1` }).providers)
})
after(() => llm.close())

type Run = { events: StreamEvent[]; result: TurnResult; upstream: unknown[] }

async function turn(engine: 'auto' | 'loop', script: ReplyScript, options: { modelId?: string; settings?: BotSettings; maxRetries?: number; abortAfterMs?: number } = {}): Promise<Run> {
  llm.reset()
  llm.replyWith(script)
  const settings = options.settings ?? defaultBotSettings()
  const modelId = options.modelId ?? 'openai/gpt-4o-mini'
  settings.ai.model.id = modelId
  settings.ai.instruction = 'You are a test bot.'
  const controller = new AbortController()
  if (options.abortAfterMs !== undefined) setTimeout(() => controller.abort('The client went away'), options.abortAfterMs)
  const input: TurnInput = {
    projectId: 'prj_test',
    threadId: 't',
    settings,
    modelId,
    model: registry.languageModel(modelId),
    context: { history: [{ role: 'user', content: 'earlier' }, { role: 'assistant', content: 'an answer' }, { role: 'user', content: 'hello' }], workingMemory: null },
    abortSignal: controller.signal,
    engine,
  }
  const events: StreamEvent[] = []
  const result = await runTurn({ logger, thread, maxRetries: options.maxRetries ?? 0 }, input, (event) => events.push(event))
  return { events, result, upstream: llm.chatRequests() }
}

async function bothAgree(script: ReplyScript, options: Parameters<typeof turn>[2] = {}): Promise<Run> {
  const lean = await turn('auto', script, options)
  const loop = await turn('loop', script, options)
  assert.deepEqual(lean.events, loop.events, 'the same events')
  assert.deepEqual(lean.result, loop.result, 'the same result: messages, usage, finish reason')
  assert.deepEqual(lean.upstream, loop.upstream, 'the same request to the model')
  return lean
}

describe('a text-only turn on the single-call stream agrees with the agent loop', () => {
  it('a streamed reply: deltas, one assistant message, usage and finish reason', async () => {
    const run = await bothAgree({ text: ['Hel', 'lo', ' there', '!'], usage: { promptTokens: 12, completionTokens: 4 } })
    assert.deepEqual(run.events.map((event) => event.type === 'text-delta' && event.textDelta), ['Hel', 'lo', ' there', '!'])
    assert.equal(run.result.status, 'completed')
    if (run.result.status !== 'completed') return
    assert.equal(run.result.finishReason, 'stop')
    assert.deepEqual(run.result.usage, { inputTokens: 12, outputTokens: 4 })
    assert.equal(run.result.replies.length, 1)
    assert.equal(run.result.replies[0]!.role, 'assistant')
  })

  it('a reply cut at the length limit', async () => {
    const run = await bothAgree({ text: ['one ', 'two'], finishReason: 'length' })
    assert.equal(run.result.status === 'completed' && run.result.finishReason, 'length')
  })

  it('through an OpenAI-compatible provider as well', async () => {
    await bothAgree({ text: ['compatible ', 'reply'] }, { modelId: 'my-gateway/some-model' })
  })

  it('the model settings reach the request the same way', async () => {
    const settings = defaultBotSettings()
    settings.ai.model.temperature = 0.3
    settings.ai.model.max_tokens = 77
    settings.ai.model.top_p = 0.9
    const run = await bothAgree({ text: 'ok' }, { settings })
    const body = run.upstream[0] as Record<string, unknown>
    assert.equal(body.temperature, 0.3)
    assert.equal(body.max_tokens, 77)
  })

  it('an HTTP error from the model fails the turn with the same message', async () => {
    const run = await bothAgree({ error: { status: 400, message: 'bad prompt' } })
    assert.deepEqual(run.result, { status: 'failed', error: 'bad prompt' })
  })

  it('an error event in the middle of the stream fails the turn after the text so far', async () => {
    const run = await bothAgree({ text: ['a', 'b', 'c'], interrupt: { afterChunks: 3, mode: 'error-event' } })
    assert.equal(run.result.status, 'failed')
  })

  it('a 503 is retried by the AI SDK in both', async () => {
    let calls = 0
    const flaky: ReplyScript = { text: 'after a retry' }
    for (const engine of ['auto', 'loop'] as const) {
      llm.reset()
      calls = 0
      llm.replyWith(() => (++calls === 1 ? { error: { status: 503, message: 'busy', headers: { 'retry-after-ms': '5' } } } : flaky))
      const settings = defaultBotSettings()
      settings.ai.model.id = 'openai/gpt-4o-mini'
      const events: StreamEvent[] = []
      const result = await runTurn({ logger, thread, maxRetries: 2 }, { projectId: 'p', threadId: 't', settings, modelId: settings.ai.model.id, model: registry.languageModel(settings.ai.model.id), context: { history: [{ role: 'user', content: 'hi' }], workingMemory: null }, engine }, (event) => events.push(event))
      assert.equal(result.status, 'completed', engine)
      assert.equal(calls, 2, `${engine}: one retry`)
      assert.deepEqual(events, [{ type: 'text-delta', textDelta: 'after a retry' }])
    }
  })

  it('an abort while the model streams fails the turn with the abort reason', async () => {
    for (const engine of ['auto', 'loop'] as const) {
      const run = await turn(engine, { text: ['a', 'b', 'c', 'd'], chunkDelayMs: 100 }, { abortAfterMs: 150 })
      assert.deepEqual(run.result, { status: 'failed', error: 'The client went away' }, engine)
      assert.ok(run.events.length < 4, `${engine}: the stream stopped`)
    }
  })

  it('formatting or tools take the agent loop (the single-call path is for plain text only)', async () => {
    const settings = defaultBotSettings()
    settings.ai.formatting.removeMarkdown = true
    const run = await bothAgree({ text: ['**bold** ', 'text'] }, { settings })
    assert.deepEqual(run.events.map((event) => event.type === 'text-delta' && event.textDelta).join(''), 'bold text')
  })
})
