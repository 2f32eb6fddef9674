import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ModelRegistry } from '../../../src/modules/agent/models.ts'
import { loadConfig } from '../../../src/config.ts'
import { createTestContext, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext

before(async () => {
  llm = await startLlmServer()
  const config = loadConfig({
    WORKEN_PROVIDER_OLLAMA_BASE_URL: `${llm.url}/v1`,
    WORKEN_PROVIDER_MY_GATEWAY_BASE_URL: `${llm.url}/v1`,
    WORKEN_PROVIDER_MY_GATEWAY_API_KEY: 'gateway-secret',
    OPENROUTER_API_KEY: 'or-key',
    OPENROUTER_BASE_URL: `${llm.url}/v1`,
    OPENAI_API_KEY: 'openai-key',
    OPENAI_BASE_URL: `${llm.url}/v1`,
  })
  ctx = await createTestContext({ services: { providers: config.providers, modelMaxRetries: 0 } })
})
after(async () => {
  await ctx.close()
  await llm.close()
})

describe('model providers from configuration', () => {
  for (const [modelId, wireModel, authorization] of [
    ['ollama/llama3.1:8b', 'llama3.1:8b', undefined],
    ['my-gateway/qwen2.5', 'qwen2.5', 'Bearer gateway-secret'],
    ['openrouter/meta-llama/llama-3-70b', 'meta-llama/llama-3-70b', 'Bearer or-key'],
    ['openai/gpt-4o-mini', 'gpt-4o-mini', 'Bearer openai-key'],
  ] as const) {
    it(`${modelId} streams through its provider and records usage`, async () => {
      const owner = await ctx.seed()
      const api = ctx.asKey(owner.key)
      const bot = (await api('POST', '/bots', { name: 'b' })).body
      assert.equal((await api('POST', `/bots/${bot.id}/settings`, { ai: { model: { id: modelId } } })).status, 200)
      const chat = (await api('POST', '/chats', { bot_id: bot.id, name: 'c' })).body
      llm.reset()
      llm.replyWith({ text: ['from ', modelId], usage: { promptTokens: 5, completionTokens: 3 } })
      const response = await api('POST', `/chats/${chat.id}/threads/t/stream`, { messages: [{ role: 'user', content: 'hi' }] })
      assert.equal(response.status, 200)
      assert.match(response.text, /"finishReason":"stop"/)
      const request = llm.requests.find((entry) => entry.path === '/v1/chat/completions')!
      assert.equal(request.body.model, wireModel)
      assert.equal(request.headers.authorization, authorization)
      const reply = (await api('GET', `/chats/${chat.id}/threads/t/messages`)).body[1]
      assert.deepEqual(reply.usage, { model: modelId, input_tokens: 5, output_tokens: 3 })
    })
  }

  it('embeds through a provider model (WORKEN_EMBEDDING_MODEL)', async () => {
    llm.reset()
    const registry = new ModelRegistry(loadConfig({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${llm.url}/v1` }).providers)
    const embedder = registry.embedder('openai/text-embedding-3-small')
    const vectors = await embedder.embed(['refund my order', 'opening hours'])
    assert.equal(vectors.length, 2)
    assert.equal(vectors[0]!.length, 8)
    assert.equal(embedder.dimensions, 8)
    assert.equal(llm.requests.at(-1)!.path, '/v1/embeddings')
    assert.equal(registry.embedder('local/lexical-v1').id, 'local/lexical-v1')
  })

  it('names what is missing for unconfigured and unknown providers', () => {
    const registry = new ModelRegistry(loadConfig({}).providers)
    assert.throws(() => registry.languageModel('anthropic/claude-3-5-haiku'), /not configured: set ANTHROPIC_API_KEY/)
    assert.throws(() => registry.languageModel('openrouter/x'), /set OPENROUTER_API_KEY/)
    assert.throws(() => registry.languageModel('vllm/x'), /Unknown model provider 'vllm'.*configured providers: local/)
    assert.throws(() => registry.embedder('openai/text-embedding-3-small'), /set OPENAI_API_KEY/)
  })

  it('rejects bad provider declarations at start-up, naming the variable', () => {
    assert.throws(() => loadConfig({ WORKEN_PROVIDER_OLLAMA_API_KEY: 'x' }), /WORKEN_PROVIDER_OLLAMA_BASE_URL: is required/)
    assert.throws(() => loadConfig({ WORKEN_PROVIDER_VLLM_BASE_URL: 'ftp://x' }), /WORKEN_PROVIDER_VLLM_BASE_URL: must be an http\(s\) URL/)
    assert.throws(() => loadConfig({ WORKEN_PROVIDER_OPENAI_BASE_URL: 'http://x' }), /built-in provider name/)
    assert.throws(() => loadConfig({ WORKEN_EMBEDDING_MODEL: 'nomodel' }), /WORKEN_EMBEDDING_MODEL/)
  })
})
