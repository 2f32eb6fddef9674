import { experimental_streamLanguageModelCall as streamLanguageModelCall, stepCountIs, streamText, type LanguageModel, type ModelMessage, type TextStreamPart, type ToolSet } from 'ai'
import { prepareRetries, toResponseMessages } from 'ai/internal'
import type { Logger } from 'pino'
import type { BotSettings } from '../bots/index.ts'
import type { KnowledgeSearch } from '../knowledge/index.ts'
import { createReplyFormatter } from './formatting.ts'
import { recallInstruction, workingMemoryInstruction, type Recalled } from './instructions.ts'
import { buildTools, toolPolicies, type ThreadActions } from './tools.ts'

/** The spec's stream events, plus two extensions (`tool-approval-request`, `error`). */
export type StreamEvent =
  | { type: 'text-delta'; textDelta: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; args: unknown }
  | { type: 'tool-result'; toolCallId: string; toolName: string; result: unknown }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string; toolName: string; args: unknown; policy: string }
  | { type: 'finish'; finishReason: string; usage: Usage }
  | { type: 'error'; error: string }

export type Usage = { inputTokens: number | null; outputTokens: number | null }

/** What the model sees of the conversation: recent history (new messages last), working memory, recalled messages. */
export type TurnContext = { history: ModelMessage[]; workingMemory: string | null; recalled?: Recalled[] }

export type TurnInput = {
  projectId: string
  threadId: string
  settings: BotSettings
  modelId: string
  model: LanguageModel
  context: TurnContext
  abortSignal?: AbortSignal
  /**
   * `auto` (the default): a turn that can only be text (no tools, no formatting) is one model
   * call on the AI SDK's single-call stream; anything else runs `streamText`'s agent loop.
   * `loop` forces the loop, so that tests can hold the two to the same events and messages.
   */
  engine?: 'auto' | 'loop'
}

export type TurnDeps = {
  logger: Logger
  /** What the turn's tools may do to its thread (hand-off, working memory). */
  thread: ThreadActions
  /** Search over vector stores, for the `file_search` tool; without it the tool is not offered. */
  knowledge?: KnowledgeSearch | undefined
  /** Retries of a failed model call before its first token (the AI SDK's own, with back-off). */
  maxRetries?: number
}

/** A tool call that waits for a person's decision. */
export type PendingApproval = { approvalId: string; toolCallId: string; toolName: string; input: unknown; policy: string }

/** How a turn ended. A completed turn's `replies` are the assistant and tool messages to store. */
export type TurnResult =
  | { status: 'completed'; finishReason: string; replies: ModelMessage[]; usage: Usage; approvals: PendingApproval[] }
  | { status: 'failed'; error: string }

const MAX_STEPS = 5

/**
 * One agent turn: the context (instruction, working memory, recalled and recent
 * messages) → the model with the bot's settings and tools → events to `emit` as
 * they come. It stores nothing: the caller gets the finished reply (or the
 * failure) and decides what to keep, and sends `finish` or `error` itself once it
 * has. Runs to the end even if nobody listens any more.
 */
export async function runTurn(deps: TurnDeps, input: TurnInput, emit: (event: StreamEvent) => void): Promise<TurnResult> {
  const { logger } = deps
  const { settings } = input
  const ai = settings.ai
  const { history, workingMemory } = input.context
  const recalled = input.context.recalled ?? []
  const system = [
    ai.instruction,
    ai.memory.workingMemory.enabled ? workingMemoryInstruction(workingMemory) : null,
    recalled.length > 0 ? recallInstruction(recalled) : null,
  ]
    .filter(Boolean)
    .join('\n\n')
  const tools = buildTools(settings, { projectId: input.projectId, thread: deps.thread, knowledge: deps.knowledge, logger })
  const formatting = ai.formatting.removeEmojis || ai.formatting.removeMarkdown
  if (input.engine !== 'loop' && Object.keys(tools).length === 0 && !formatting) return runTextTurn(deps, input, system, emit)
  const policies = toolPolicies(settings)

  const result = streamText({
    model: input.model,
    instructions: system,
    messages: history,
    maxRetries: deps.maxRetries ?? 2,
    tools,
    stopWhen: stepCountIs(MAX_STEPS),
    temperature: ai.model.temperature,
    maxOutputTokens: ai.model.max_tokens,
    topP: ai.model.top_p,
    frequencyPenalty: ai.model.frequency_penalty,
    presencePenalty: ai.model.presence_penalty,
    // No transform layer at all when there is nothing to clean: every layer costs each chunk.
    ...(formatting ? { experimental_transform: formattingTransform(ai.formatting) } : {}),
    ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}),
    onError: () => {},
  })

  let failure: string | null = null
  const approvals: PendingApproval[] = []
  let finishReason = 'stop'
  for await (const part of result.fullStream) {
    switch (part.type) {
      case 'text-delta':
        if (part.text) emit({ type: 'text-delta', textDelta: part.text })
        break
      case 'tool-call':
        emit({ type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, args: part.input })
        break
      case 'tool-result':
        emit({ type: 'tool-result', toolCallId: part.toolCallId, toolName: part.toolName, result: part.output })
        break
      case 'tool-error':
        emit({ type: 'tool-result', toolCallId: part.toolCallId, toolName: part.toolName, result: { error: errorMessage(part.error) } })
        break
      case 'tool-approval-request': {
        const policy = policies[part.toolCall.toolName] ?? 'user_approve'
        approvals.push({ approvalId: part.approvalId, toolCallId: part.toolCall.toolCallId, toolName: part.toolCall.toolName, input: part.toolCall.input, policy })
        emit({ type: 'tool-approval-request', approvalId: part.approvalId, toolCallId: part.toolCall.toolCallId, toolName: part.toolCall.toolName, args: part.toolCall.input, policy })
        break
      }
      case 'finish':
        finishReason = approvals.length > 0 ? 'tool-calls' : part.finishReason
        break
      case 'error':
        failure = errorMessage(part.error)
        break
      case 'abort':
        failure = input.abortSignal ? abortReason(input.abortSignal) : 'The model call was aborted'
        break
    }
  }

  if (failure !== null) return failed(logger, input, failure)
  const [steps, usage] = await Promise.all([result.steps, result.totalUsage])
  // In v7 `result.response` is the last step only; each step holds its own messages.
  const replies = steps.flatMap((step) => step.response.messages).filter((message) => message.role === 'assistant' || message.role === 'tool')
  return { status: 'completed', finishReason, replies, usage: { inputTokens: usage.inputTokens ?? null, outputTokens: usage.outputTokens ?? null }, approvals }
}

/**
 * A turn that can only be text: one model call, its stream read directly. `streamText` runs
 * the same call through its agent loop (steps, tool execution, replayable results), which costs
 * about 1.5 ms of CPU per reply in web-stream layers; the AI SDK's single-call stream gives the
 * same parts, usage and response messages for a tenth of that (docs/performance.md). Retries before
 * the first byte are the AI SDK's own, as in `streamText`.
 */
async function runTextTurn(deps: TurnDeps, input: TurnInput, system: string, emit: (event: StreamEvent) => void): Promise<TurnResult> {
  const ai = input.settings.ai
  const { retry } = prepareRetries({ maxRetries: deps.maxRetries ?? 2, abortSignal: input.abortSignal })
  let end: { content: Parameters<typeof toResponseMessages>[0]['content']; finishReason: string; usage: { inputTokens: number | undefined; outputTokens: number | undefined } } | undefined
  let failure: string | null = null
  try {
    const call = await retry(() =>
      streamLanguageModelCall({
        model: input.model,
        instructions: system,
        messages: input.context.history,
        temperature: ai.model.temperature,
        maxOutputTokens: ai.model.max_tokens,
        topP: ai.model.top_p,
        frequencyPenalty: ai.model.frequency_penalty,
        presencePenalty: ai.model.presence_penalty,
        ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}),
        onLanguageModelCallEnd: (event) => {
          end = { content: event.content as never, finishReason: event.finishReason, usage: event.usage }
        },
      }),
    )
    for await (const part of call.stream) {
      if (part.type === 'text-delta') {
        if (part.text) emit({ type: 'text-delta', textDelta: part.text })
      } else if (part.type === 'error') {
        failure ??= errorMessage(part.error)
      } else if (part.type === 'tool-call') {
        // Nothing was offered, so nothing may be called.
        failure ??= `The model called the tool ${part.toolName}, which this bot does not offer`
      }
    }
  } catch (error) {
    failure = input.abortSignal?.aborted ? abortReason(input.abortSignal) : errorMessage(error)
  }
  if (failure === null && input.abortSignal?.aborted) failure = abortReason(input.abortSignal)
  if (failure !== null) return failed(deps.logger, input, failure)
  if (!end) return failed(deps.logger, input, 'The model stream ended without finishing')
  const replies = await toResponseMessages({ content: end.content, tools: undefined })
  return {
    status: 'completed',
    finishReason: end.finishReason,
    replies,
    usage: { inputTokens: end.usage.inputTokens ?? null, outputTokens: end.usage.outputTokens ?? null },
    approvals: [],
  }
}

function failed(logger: Logger, input: TurnInput, error: string): TurnResult {
  logger.warn({ projectId: input.projectId, threadId: input.threadId, model: input.modelId, error }, 'agent turn failed')
  return { status: 'failed', error }
}

function abortReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'The model call was aborted'
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return typeof error === 'string' ? error : 'The model provider failed'
}

/**
 * Cleans text deltas as they stream (emoji/Markdown removal) so that the
 * concatenated deltas, the stored message and the SDK's own result agree.
 */
function formattingTransform(options: BotSettings['ai']['formatting']) {
  return <TOOLS extends ToolSet>() => {
    const formatters = new Map<string, ReturnType<typeof createReplyFormatter>>()
    return new TransformStream<TextStreamPart<TOOLS>, TextStreamPart<TOOLS>>({
      transform(part, controller) {
        if (!options.removeEmojis && !options.removeMarkdown) return controller.enqueue(part)
        if (part.type === 'text-delta') {
          let formatter = formatters.get(part.id)
          if (!formatter) formatters.set(part.id, (formatter = createReplyFormatter(options)))
          const text = formatter.push(part.text)
          if (text) controller.enqueue({ ...part, text })
          return
        }
        if (part.type === 'text-end') {
          const rest = formatters.get(part.id)?.flush()
          formatters.delete(part.id)
          if (rest) controller.enqueue({ type: 'text-delta', id: part.id, text: rest })
        }
        controller.enqueue(part)
      },
    })
  }
}
