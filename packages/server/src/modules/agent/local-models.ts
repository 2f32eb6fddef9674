import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3Usage,
} from '@ai-sdk/provider'
import { AppError } from '../../platform/errors.ts'

/**
 * The built-in `local` provider: scripted models that run in the process, with
 * no account, key or network, so a new server can hold a conversation (and
 * tests and demos can too). They do not understand anything; they follow a
 * script. They speak the AI SDK's language-model interface (v3, the one `ai` 7
 * calls), so the turn, tools, approvals and streaming run exactly as with a
 * real provider.
 */
export const LOCAL_MODELS = {
  /** Says back the user's last message: "You said: …". */
  echo: echoScript,
  /** A friendly canned answer; calls `handoff_to_operator` or `file_search` when offered and asked for. */
  demo: demoScript,
} as const

export type LocalModelName = keyof typeof LOCAL_MODELS

/** Pause between streamed words, so a reply arrives as a stream (visible with `curl -N`), not as one chunk. */
export const LOCAL_TOKEN_DELAY_MS = 20

/** One step of a script: text to say, or one tool to call. */
type Move = { text: string } | { toolName: string; input: Record<string, string> }

type Script = (options: LanguageModelV3CallOptions) => Move

export function localLanguageModel(name: string, options: { tokenDelayMs?: number } = {}): LanguageModelV3 {
  if (!Object.hasOwn(LOCAL_MODELS, name)) {
    const known = Object.keys(LOCAL_MODELS).map((model) => `local/${model}`)
    throw new AppError('model_unavailable', `Unknown local model 'local/${name}': the built-in local models are ${known.join(' and ')}`)
  }
  return new LocalLanguageModel(name, LOCAL_MODELS[name as LocalModelName], options.tokenDelayMs ?? LOCAL_TOKEN_DELAY_MS)
}

class LocalLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3'
  readonly provider = 'local'
  readonly supportedUrls = {}
  readonly modelId: string
  private readonly script: Script
  private readonly tokenDelayMs: number

  constructor(modelId: string, script: Script, tokenDelayMs: number) {
    this.modelId = modelId
    this.script = script
    this.tokenDelayMs = tokenDelayMs
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    options.abortSignal?.throwIfAborted()
    const move = this.script(options)
    const inputTokens = countWords(options.prompt)
    if ('toolName' in move) {
      const call = toolCall(move)
      return { content: [call], finishReason: reason('tool-calls'), usage: usage(inputTokens, 1), warnings: [], response: this.metadata() }
    }
    const { tokens, finishReason } = limitTokens(move.text, options.maxOutputTokens)
    const content: LanguageModelV3Content[] = tokens.length > 0 ? [{ type: 'text', text: tokens.join('') }] : []
    return { content, finishReason, usage: usage(inputTokens, tokens.length), warnings: [], response: this.metadata() }
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    options.abortSignal?.throwIfAborted()
    const move = this.script(options)
    const inputTokens = countWords(options.prompt)
    const parts = this.parts(move, inputTokens, options.maxOutputTokens)
    const signal = options.abortSignal
    const delay = this.tokenDelayMs
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      async pull(controller) {
        const next = parts.next()
        if (next.done) return controller.close()
        // An aborted call stops between words, as a closed HTTP stream would stop a remote model.
        if (next.value.type === 'text-delta' && delay > 0) await sleep(delay, undefined, signal ? { signal } : {})
        signal?.throwIfAborted()
        controller.enqueue(next.value)
      },
    })
    return { stream }
  }

  private *parts(move: Move, inputTokens: number, maxOutputTokens: number | undefined): Generator<LanguageModelV3StreamPart> {
    yield { type: 'stream-start', warnings: [] }
    yield { type: 'response-metadata', ...this.metadata() }
    if ('toolName' in move) {
      const call = toolCall(move)
      yield { type: 'tool-input-start', id: call.toolCallId, toolName: call.toolName }
      yield { type: 'tool-input-delta', id: call.toolCallId, delta: call.input }
      yield { type: 'tool-input-end', id: call.toolCallId }
      yield call
      yield { type: 'finish', finishReason: reason('tool-calls'), usage: usage(inputTokens, 1) }
      return
    }
    const { tokens, finishReason } = limitTokens(move.text, maxOutputTokens)
    if (tokens.length > 0) {
      yield { type: 'text-start', id: 'text-0' }
      for (const token of tokens) yield { type: 'text-delta', id: 'text-0', delta: token }
      yield { type: 'text-end', id: 'text-0' }
    }
    yield { type: 'finish', finishReason, usage: usage(inputTokens, tokens.length) }
  }

  private metadata() {
    return { id: `local-${randomBytes(8).toString('hex')}`, modelId: `local/${this.modelId}`, timestamp: new Date() }
  }
}

// ── The scripts ──────────────────────────────────────────────────────────────

function echoScript(options: LanguageModelV3CallOptions): Move {
  const said = lastUserText(options.prompt)
  return { text: said ? `You said: ${said}` : 'You said nothing I can read.' }
}

const ASKS_FOR_A_PERSON = /\b(human|person|operator|someone|manager)\b|оператор|человек|менеджер/i
const GREETING = /^\s*(hi|hello|hey|good (morning|afternoon|evening)|привет|здравствуйте|добрый день)\b[\s!.,]*$/i

export const DEMO_ANSWER =
  "Hello! I'm local/demo, a scripted model built into Worken: I run offline, with no LLM account, so you can try " +
  "conversations, streaming, tools and operators. I don't understand what you write. Ask me for a person (with the " +
  'handoff_to_operator tool enabled) or ask a question with a knowledge base attached (file_search), and I will call ' +
  'the tool. For real answers, set the bot\'s model to, for example, openai/gpt-4o-mini and start the server with OPENAI_API_KEY.'

function demoScript(options: LanguageModelV3CallOptions): Move {
  const last = options.prompt.at(-1)
  // The tool this script called has answered: say what came of it.
  if (last?.role === 'tool') {
    const result = last.content.findLast((part) => part.type === 'tool-result')
    if (result) return { text: afterTool(result.toolName, result.output) }
  }
  const said = lastUserText(options.prompt)
  const offered = new Set(options.toolChoice?.type === 'none' ? [] : (options.tools ?? []).map((tool) => tool.name))
  if (offered.has('handoff_to_operator') && ASKS_FOR_A_PERSON.test(said)) {
    return { toolName: 'handoff_to_operator', input: { reason: `The user asked for a person: "${clip(said, 200)}"` } }
  }
  if (offered.has('file_search') && said.trim() && !GREETING.test(said)) {
    return { toolName: 'file_search', input: { query: clip(said, 1000) } }
  }
  return { text: DEMO_ANSWER }
}

function afterTool(toolName: string, output: LanguageModelV3ToolResultOutput): string {
  if (output.type === 'execution-denied') return `Understood: I will not use ${toolName}.`
  if (output.type === 'error-text' || output.type === 'error-json') return `I tried ${toolName}, but it failed. Please try again later.`
  if (toolName === 'handoff_to_operator') return 'I have asked a person to take over. An operator will reply here shortly.'
  if (toolName === 'file_search' && output.type === 'json') {
    const results = (output.value as { results?: Array<{ filename?: string; text?: string }> } | null)?.results ?? []
    if (results.length === 0) return 'I searched your documents but found nothing about that.'
    const found = results.slice(0, 3).map((result) => `- ${result.filename ?? 'a file'}: ${clip((result.text ?? '').replace(/\s+/g, ' ').trim(), 160)}`)
    return `Here is what I found in your documents:\n\n${found.join('\n')}`
  }
  return `${toolName} is done.`
}

// ── Helpers ──────────────────────────────────────────────────────────────────

/** The text of the last user message (its text parts; files are not read). */
function lastUserText(prompt: LanguageModelV3Prompt): string {
  const message = prompt.findLast((entry) => entry.role === 'user')
  if (!message || message.role !== 'user') return ''
  return message.content
    .flatMap((part) => (part.type === 'text' ? [part.text] : []))
    .join('\n')
    .trim()
}

/** Words with their leading spaces: the "tokens" these models stream and count. */
function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? []
}

function limitTokens(text: string, maxOutputTokens: number | undefined): { tokens: string[]; finishReason: LanguageModelV3FinishReason } {
  const tokens = tokenize(text)
  if (maxOutputTokens !== undefined && tokens.length > maxOutputTokens) return { tokens: tokens.slice(0, maxOutputTokens), finishReason: reason('length') }
  return { tokens, finishReason: reason('stop') }
}

/** Usage in words: there is no real tokenizer behind a script, and words are what it streams. */
function countWords(prompt: LanguageModelV3Prompt): number {
  let words = 0
  for (const message of prompt) {
    if (typeof message.content === 'string') words += tokenize(message.content).length
    else for (const part of message.content) if (part.type === 'text') words += tokenize(part.text).length
  }
  return words
}

function usage(inputTokens: number, outputTokens: number): LanguageModelV3Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: undefined },
  }
}

function reason(unified: LanguageModelV3FinishReason['unified']): LanguageModelV3FinishReason {
  return { unified, raw: unified }
}

function toolCall(move: { toolName: string; input: Record<string, string> }) {
  return { type: 'tool-call' as const, toolCallId: `call_local_${randomBytes(8).toString('hex')}`, toolName: move.toolName, input: JSON.stringify(move.input) }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
