import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import { embedMany, type EmbeddingModel, type LanguageModel } from 'ai'
import { AppError } from '../../platform/errors.ts'
import { createLocalEmbedder, type Embedder } from '../knowledge/index.ts'
import { localLanguageModel } from './local-models.ts'

const OPENROUTER_BASE_URL = 'https://openrouter.ai/api/v1'

type ProviderFactory = {
  chat(modelId: string): LanguageModel
  embedding(modelId: string): EmbeddingModel | undefined
}

/** An OpenAI-compatible endpoint declared with WORKEN_PROVIDER_<NAME>_BASE_URL (Ollama, vLLM, a gateway). */
export type CompatibleProvider = { name: string; baseUrl: string; apiKey: string | undefined }

/** The model providers this server may call, as read from the environment (config.ts). */
export type ProviderConfig = {
  openai: { apiKey: string; baseUrl: string | undefined } | undefined
  anthropic: { apiKey: string; baseUrl: string | undefined } | undefined
  openrouter: { apiKey: string; baseUrl: string | undefined } | undefined
  compatible: CompatibleProvider[]
}

/**
 * Turns `provider/model` ids into AI SDK models from the configured providers:
 * openai, anthropic, openrouter and any number of OpenAI-compatible endpoints
 * (WORKEN_PROVIDER_<NAME>_BASE_URL), and the built-in offline `local` models
 * (`local/echo`, `local/demo`), which need no configuration. Providers are built once.
 */
export class ModelRegistry {
  private readonly providers = new Map<string, ProviderFactory>()
  /** Built-in providers that exist but lack credentials, with the variable that would enable them. */
  private readonly unconfigured = new Map<string, string>()

  constructor(config: ProviderConfig) {
    // Always there: a new server can hold a conversation before anyone has an LLM account.
    this.providers.set('local', { chat: (id) => localLanguageModel(id), embedding: () => undefined })
    if (config.openai) {
      const openai = createOpenAI({ apiKey: config.openai.apiKey, baseURL: config.openai.baseUrl })
      // Chat Completions rather than the Responses API: every OpenAI-compatible gateway speaks it.
      this.providers.set('openai', { chat: (id) => openai.chat(id), embedding: (id) => openai.embedding(id) })
    } else this.unconfigured.set('openai', 'OPENAI_API_KEY')
    if (config.anthropic) {
      const anthropic = createAnthropic({ apiKey: config.anthropic.apiKey, baseURL: config.anthropic.baseUrl })
      this.providers.set('anthropic', { chat: (id) => anthropic(id), embedding: () => undefined })
    } else this.unconfigured.set('anthropic', 'ANTHROPIC_API_KEY')
    if (config.openrouter) {
      this.providers.set('openrouter', compatible('openrouter', config.openrouter.baseUrl ?? OPENROUTER_BASE_URL, config.openrouter.apiKey))
    } else this.unconfigured.set('openrouter', 'OPENROUTER_API_KEY')
    for (const provider of config.compatible) this.providers.set(provider.name, compatible(provider.name, provider.baseUrl, provider.apiKey))
  }

  /** The chat model for an id, or a 422 saying what is wrong with it. */
  languageModel(modelId: string): LanguageModel {
    const { provider, model } = splitModelId(modelId)
    const factory = this.providers.get(provider)
    if (!factory) throw this.providerError(provider, modelId)
    return factory.chat(model)
  }

  /** The embedder for WORKEN_EMBEDDING_MODEL: `local/…` is the embedded lexical one. */
  embedder(modelId: string): Embedder {
    const { provider, model } = splitModelId(modelId)
    if (provider === 'local') return createLocalEmbedder()
    const factory = this.providers.get(provider)
    if (!factory) throw this.providerError(provider, modelId)
    const embeddingModel = factory.embedding(model)
    if (!embeddingModel) throw new AppError('model_unavailable', `Model provider '${provider}' has no embedding models`)
    let dimensions = 0
    return {
      id: modelId,
      get dimensions() {
        return dimensions
      },
      async embed(texts, options) {
        const { embeddings } = await embedMany({ model: embeddingModel, values: texts, maxRetries: 2, ...(options?.abortSignal ? { abortSignal: options.abortSignal } : {}) })
        dimensions = embeddings[0]?.length ?? dimensions
        return embeddings
      },
    }
  }

  configuredProviders(): string[] {
    return [...this.providers.keys()]
  }

  private providerError(provider: string, modelId: string): AppError {
    const variable = this.unconfigured.get(provider)
    if (variable) return new AppError('model_unavailable', `Model provider '${provider}' is not configured: set ${variable} to use '${modelId}' (or use the offline model local/echo to try things out)`)
    const known = this.configuredProviders()
    return new AppError('model_unavailable', `Unknown model provider '${provider}' in '${modelId}'${known.length ? `; configured providers: ${known.join(', ')}` : '; no model provider is configured'}`)
  }
}

function compatible(name: string, baseURL: string, apiKey: string | undefined): ProviderFactory {
  const provider = createOpenAICompatible({ name, baseURL, apiKey, includeUsage: true })
  return { chat: (id) => provider.chatModel(id), embedding: (id) => provider.embeddingModel(id) }
}

export function splitModelId(modelId: string): { provider: string; model: string } {
  const slash = modelId.indexOf('/')
  if (slash <= 0 || slash === modelId.length - 1) throw new AppError('invalid_request', `Model id '${modelId}' must look like provider/model`)
  return { provider: modelId.slice(0, slash), model: modelId.slice(slash + 1) }
}
