import { stepCountIs, streamText, type LanguageModel, type ModelMessage, type TextStreamPart, type ToolSet } from 'ai'
import { and, eq, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { BotSettings } from '../bots/settings.ts'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { messages, threads, toolApprovals } from '../conversations/tables.ts'
import { announceEvents, appendEvents, type OutboxEvent } from '../../platform/events/outbox.ts'
import { toMessage } from '../conversations/threads.ts'
import type { KnowledgeSearch } from '../knowledge/vector-stores/search-types.ts'
import { createReplyFormatter } from './formatting.ts'
import type { Embedder } from '../knowledge/local-embedder.ts'
import { loadHistory, workingMemoryInstruction } from '../conversations/history.ts'
import { recallInstruction, recallSimilar } from '../conversations/recall.ts'
import { buildTools } from './tools.ts'

/** The spec's stream events, plus two extensions (`tool-approval-request`, `error`). */
export type StreamEvent =
  | { type: 'text-delta'; textDelta: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; args: unknown }
  | { type: 'tool-result'; toolCallId: string; toolName: string; result: unknown }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string; toolName: string; args: unknown; policy: string }
  | { type: 'finish'; finishReason: string; usage: { inputTokens: number | null; outputTokens: number | null } }
  | { type: 'error'; error: string }

export type TurnInput = {
  projectId: string
  chatId: string
  threadId: string
  settings: BotSettings
  modelId: string
  model: LanguageModel
  /** How many of the newest stored messages are the ones this turn answers. */
  newMessages: number
  /** Context read before the user's messages were stored (they are appended in memory), to start the model sooner. */
  preloaded?: TurnContext
  /** Resolves once the user's messages are stored; the reply is persisted only after it. */
  persistAfter?: Promise<unknown>
  abortSignal?: AbortSignal
}

export type TurnContext = { history: ModelMessage[]; oldestSeq: number | null; workingMemory: string | null }

/** Reads what a turn needs from the thread as stored: recent history and working memory. */
export async function loadContext(database: DatabaseHandle, input: Pick<TurnInput, 'projectId' | 'threadId' | 'newMessages' | 'settings'>): Promise<TurnContext> {
  const [thread] = await database.db
    .select({ workingMemory: threads.workingMemory })
    .from(threads)
    .where(and(eq(threads.projectId, input.projectId), eq(threads.id, input.threadId)))
  const { history, oldestSeq } = await loadHistory(database.db, input.projectId, input.threadId, input.settings.ai.memory.lastMessages, input.newMessages)
  return { history, oldestSeq, workingMemory: thread?.workingMemory ?? null }
}

export type TurnOutcome = { status: 'completed' | 'failed'; finishReason?: string; messageIds: string[] }

export type TurnDeps = {
  database: DatabaseHandle
  logger: Logger
  /** Present when semantic recall can work here (an embedder and pgvector). */
  recallEmbedder?: Embedder
  /** Search over vector stores, for the `file_search` tool; without it the tool is not offered. */
  knowledge?: KnowledgeSearch | undefined
  /** Retries of a failed model call before the first token (the SDK's own, with back-off). */
  maxRetries?: number
  afterTurn?: (input: TurnInput, outcome: TurnOutcome) => void
}

const MAX_STEPS = 5

/**
 * One agent turn: context (instruction, working memory, recent history) →
 * the model with the bot's settings and tools → events to `emit` as they come →
 * on finish, the reply and its usage stored with their outbox events in one
 * transaction. Runs to the end even if nobody listens any more.
 */
export async function runTurn(deps: TurnDeps, input: TurnInput, emit: (event: StreamEvent) => void): Promise<TurnOutcome> {
  const { database, logger } = deps
  const { settings } = input
  const ai = settings.ai
  const { history, oldestSeq, workingMemory } = input.preloaded ?? (await loadContext(database, input))
  const recalled = ai.memory.semanticRecall && deps.recallEmbedder && oldestSeq !== null
    ? await recallSimilar(database.db, deps.recallEmbedder, input.projectId, input.threadId, latestUserText(history), oldestSeq).catch((error: unknown) => {
        logger.warn({ err: error, threadId: input.threadId }, 'semantic recall failed; answering without it')
        return []
      })
    : []
  const system = [
    ai.instruction,
    ai.memory.workingMemory.enabled ? workingMemoryInstruction(workingMemory) : null,
    recalled.length > 0 ? recallInstruction(recalled) : null,
  ]
    .filter(Boolean)
    .join('\n\n')
  const tools = buildTools(settings, {
    db: database.db,
    projectId: input.projectId,
    chatId: input.chatId,
    threadId: input.threadId,
    onEvents: () => announceEvents(database, input.projectId),
    ready: input.persistAfter,
    knowledge: deps.knowledge,
  })

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
    ...(ai.formatting.removeEmojis || ai.formatting.removeMarkdown ? { experimental_transform: formattingTransform(ai.formatting) } : {}),
    ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}),
    onError: () => {},
  })

  let failure: string | null = null
  const approvals: Array<{ approvalId: string; toolCallId: string; toolName: string; input: unknown; policy: string }> = []
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
        const policy = ai.tools[part.toolCall.toolName] ?? 'user_approve'
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
        failure = typeof input.abortSignal?.reason === 'string' ? input.abortSignal.reason : 'The model call was aborted'
        break
    }
  }

  if (failure !== null) {
    logger.warn({ projectId: input.projectId, threadId: input.threadId, model: input.modelId, error: failure }, 'agent turn failed')
    emit({ type: 'error', error: failure })
    const outcome: TurnOutcome = { status: 'failed', messageIds: [] }
    deps.afterTurn?.(input, outcome)
    return outcome
  }

  const [steps, usage] = await Promise.all([result.steps, result.totalUsage])
  // The user's messages must be stored before the reply that answers them.
  if (input.persistAfter) await input.persistAfter
  // In v7 `result.response` is the last step only; each step holds its own messages.
  const replies = steps.flatMap((step) => step.response.messages)
  const usageOf = { inputTokens: usage.inputTokens ?? null, outputTokens: usage.outputTokens ?? null }
  const messageIds = await persistReply(database, input, replies, usageOf, approvals)
  emit({ type: 'finish', finishReason, usage: usageOf })
  const outcome: TurnOutcome = { status: 'completed', finishReason, messageIds }
  deps.afterTurn?.(input, outcome)
  return outcome
}

/** Stores the turn's assistant and tool messages, usage on the last assistant message, pending approvals, and their events. */
async function persistReply(
  database: DatabaseHandle,
  input: TurnInput,
  replies: ModelMessage[],
  usage: { inputTokens: number | null; outputTokens: number | null },
  approvals: Array<{ approvalId: string; toolCallId: string; toolName: string; input: unknown; policy: string }>,
): Promise<string[]> {
  const lastAssistant = replies.map((message) => message.role).lastIndexOf('assistant')
  const replyRows = replies.filter((message) => message.role === 'assistant' || message.role === 'tool')
  if (replyRows.length === 0) return []
  let stored: string[] = []
  await database.db.transaction(async (tx) => {
    // The thread first (its lock, then its rows, as every writer of a thread does); it also gives chat and bot.
    const [thread] = await tx
      .update(threads)
      .set({ lastMessageAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(threads.projectId, input.projectId), eq(threads.id, input.threadId)))
      .returning({ chatId: threads.chatId, botId: threads.botId })
    if (!thread) return // deleted during the turn: nothing to keep
    const rows = replyRows.map((message, index) => ({
      id: newId('msg'),
      projectId: input.projectId,
      threadId: input.threadId,
      chatId: thread.chatId,
      botId: thread.botId,
      role: message.role,
      author: 'bot',
      content: textOf(message),
      parts: typeof message.content === 'string' ? null : (message.content as unknown),
      ...(index === lastAssistant ? { model: input.modelId, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } : {}),
    }))
    const inserted = await tx.insert(messages).values(rows).returning()
    stored = inserted.map((row) => row.id)
    if (approvals.length > 0) {
      await tx.insert(toolApprovals).values(
        approvals.map((approval) => ({
          id: approval.approvalId,
          projectId: input.projectId,
          threadId: input.threadId,
          toolCallId: approval.toolCallId,
          toolName: approval.toolName,
          input: approval.input as never,
          policy: approval.policy,
        })),
      )
    }
    const scope = { chatId: input.chatId, threadId: input.threadId }
    const outbox: OutboxEvent[] = inserted.map((row) => ({ type: 'thread.message.created', ...scope, data: { message: toMessage(row) } }))
    for (const approval of approvals) {
      outbox.push({ type: 'thread.approval.requested', ...scope, data: { approval_id: approval.approvalId, tool_name: approval.toolName, policy: approval.policy } })
    }
    await appendEvents(tx, input.projectId, outbox)
  })
  announceEvents(database, input.projectId)
  return stored
}

/** The text a person reads: text parts joined; tool messages read as nothing. */
function textOf(message: ModelMessage): string {
  if (typeof message.content === 'string') return message.content
  if (message.role === 'tool') return ''
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

function latestUserText(history: ModelMessage[]): string {
  const message = history.findLast((entry) => entry.role === 'user')
  if (!message) return ''
  return typeof message.content === 'string' ? message.content : message.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ')
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
