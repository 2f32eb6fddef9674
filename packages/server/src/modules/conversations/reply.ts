import type { LanguageModel, ModelMessage } from 'ai'
import { and, eq } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { AppError } from '../../platform/errors.ts'
import { storableJson } from '../../platform/db/storable.ts'
import { runTurn, type PendingApproval, type StreamEvent, type TurnContext, type Usage } from '../agent/index.ts'
import type { BotSettings } from '../bots/index.ts'
import type { Embedder, KnowledgeSearch } from '../knowledge/index.ts'
import { loadHistory } from './history.ts'
import type { MessageWriter, NewMessage, Tx } from './message-writer.ts'
import { recallSimilar } from './recall.ts'
import { threads, toolApprovals } from './tables.ts'
import type { ThreadService } from './threads.ts'
import { LeaseLostError, type OwedReplies, type OwedReplyClaim } from './owed-replies.ts'

/** The context as stored: `oldestSeq` is where the history window starts (recall looks before it). */
export type StoredContext = TurnContext & { oldestSeq: number | null }

/** How a reply ended, for whoever waited for it. */
export type ReplyOutcome =
  | { status: 'completed'; finishReason: string; messageIds: string[]; usage: Usage }
  | { status: 'failed'; error: string; messageIds: [] }

/**
 * A bot's reply, produced once and read by any number of consumers (the SSE
 * response today; a channel sender and the billing charge next). Each subscriber
 * first gets every event so far, then the rest as they come; `done` settles when
 * the reply is stored (or has failed). The producer never knows who reads.
 */
export type Reply = {
  subscribe(listener: (event: StreamEvent) => void): () => void
  readonly done: Promise<ReplyOutcome>
  /** Stops the model call; nothing of the reply is stored, and `reason` becomes the `error` event's text. */
  abort(reason?: string): void
}

/** What producing replies needs, from the container built at start-up. */
export type ReplyDeps = {
  database: DatabaseHandle
  /** Stores the reply (the one writer of messages). */
  writer: MessageWriter
  threads: ThreadService
  logger: Logger
  modelMaxRetries: number
  knowledge: KnowledgeSearch
  /** Present where semantic recall works (an embedder and pgvector). */
  recallEmbedder?: Embedder | undefined
  /** The durable record of replies owed (required for a request with a `claim`). */
  owedReplies?: OwedReplies | undefined
  /** Work after a stored reply (title, embeddings), off the reply's path. */
  afterReply?: ((request: ReplyRequest, outcome: ReplyOutcome) => void) | undefined
}

export type ReplyRequest = {
  projectId: string
  chatId: string
  threadId: string
  settings: BotSettings
  model: LanguageModel
  /** How many of the newest stored messages the reply answers (they close the history). */
  newMessages: number
  /** Context read before the user's messages were stored, with them appended: saves a round trip before the model call. */
  preloaded?: StoredContext
  /** Resolves once the user's messages are stored; the reply is stored only after it. */
  storedFirst?: Promise<unknown>
  /**
   * The owed reply this one pays (owed-replies.ts): its lease is renewed while the model runs,
   * and the reply is stored only in the transaction that deletes it under that lease.
   */
  claim?: OwedReplyClaim
  /** On failure, release the owed reply for another attempt (recovery) rather than give it up at once (a client saw the error). */
  retryOnFailure?: boolean
}

/**
 * Starts the bot's reply at once — the model call is in flight — and stores it
 * through the message writer when the model finishes: assistant and tool
 * messages, usage on the last assistant message, pending approvals, and their
 * events, in one transaction. `finish` is sent after that commit, so a client
 * that reads the thread on `finish` finds the reply there.
 */
export function produceReply(deps: ReplyDeps, request: ReplyRequest): Reply {
  const controller = new AbortController()
  const events: StreamEvent[] = []
  const listeners = new Set<(event: StreamEvent) => void>()
  const emit = (event: StreamEvent) => {
    events.push(event)
    for (const listener of listeners) listener(event)
  }
  const stopHolding = holdClaim(deps, request, () => controller.abort(new LeaseLostError().message))
  const done = run(deps, request, controller.signal, emit)
    .catch((error: unknown): ReplyOutcome => {
      const message = error instanceof LeaseLostError ? error.message
        : controller.signal.aborted && typeof controller.signal.reason === 'string' ? controller.signal.reason
        : 'Internal Server Error'
      if (error instanceof LeaseLostError) deps.logger.warn({ threadId: request.threadId }, 'reply dropped: another process took over its lease')
      else if (!controller.signal.aborted) deps.logger.error({ err: error, threadId: request.threadId }, 'reply crashed')
      emit({ type: 'error', error: message })
      return { status: 'failed', error: message, messageIds: [] }
    })
    .then(async (outcome) => {
      stopHolding()
      if (outcome.status === 'failed' && request.claim && deps.owedReplies) {
        // A fast failure can come before the messages (and the owed reply) are stored: record it after them.
        await Promise.resolve(request.storedFirst).catch(() => {})
        await deps.owedReplies.fail(request.claim, outcome.error, { retry: request.retryOnFailure ?? false }).catch((error: unknown) => {
          deps.logger.error({ err: error, threadId: request.threadId }, 'recording a failed reply failed; the owed reply is retried when its lease lapses')
        })
      }
      return outcome
    })
  done.then((outcome) => deps.afterReply?.(request, outcome), () => {})
  return {
    subscribe(listener) {
      for (const event of events) listener(event)
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    done,
    abort: (reason) => controller.abort(reason ?? 'The model call was aborted'),
  }
}

/** Renews the owed reply's lease from when the user's messages (and the owed row) are stored until the reply settles. */
function holdClaim(deps: ReplyDeps, request: ReplyRequest, onLost: () => void): () => void {
  const { claim } = request
  const owed = deps.owedReplies
  if (!claim || !owed) return () => {}
  let stop: (() => void) | undefined
  let stopped = false
  void Promise.resolve(request.storedFirst).then(() => {
    if (!stopped) stop = owed.hold(claim, onLost, deps.logger)
  }, () => {})
  return () => {
    stopped = true
    stop?.()
  }
}

async function run(deps: ReplyDeps, request: ReplyRequest, signal: AbortSignal, emit: (event: StreamEvent) => void): Promise<ReplyOutcome> {
  const context = request.preloaded ?? (await loadContext(deps.database, request))
  const recalled = await recall(deps, request, context)
  const result = await runTurn(
    { logger: deps.logger, maxRetries: deps.modelMaxRetries, knowledge: deps.knowledge, thread: deps.threads.actions(request.projectId, request.threadId, request.storedFirst) },
    { projectId: request.projectId, threadId: request.threadId, settings: request.settings, modelId: request.settings.ai.model.id, model: request.model, context: { ...context, recalled }, abortSignal: signal },
    emit,
  )
  if (result.status === 'failed') {
    emit({ type: 'error', error: result.error })
    return { status: 'failed', error: result.error, messageIds: [] }
  }
  // The user's messages must be stored before the reply that answers them.
  if (request.storedFirst) await request.storedFirst
  const messageIds = await storeReply(deps, request, result.replies, result.usage, result.approvals)
  emit({ type: 'finish', finishReason: result.finishReason, usage: result.usage })
  return { status: 'completed', finishReason: result.finishReason, messageIds, usage: result.usage }
}

/** The stored context: recent history (ending with the new messages) and working memory. */
async function loadContext(database: DatabaseHandle, request: ReplyRequest): Promise<StoredContext> {
  const [thread] = await database.db
    .select({ workingMemory: threads.workingMemory })
    .from(threads)
    .where(and(eq(threads.projectId, request.projectId), eq(threads.id, request.threadId)))
  const { history, oldestSeq } = await loadHistory(database.db, request.projectId, request.threadId, request.settings.ai.memory.lastMessages, request.newMessages)
  return { history, oldestSeq, workingMemory: thread?.workingMemory ?? null }
}

/** Earlier messages like the newest user message, from before the history window; never fails the reply. */
async function recall(deps: ReplyDeps, request: ReplyRequest, context: StoredContext) {
  const oldestSeq = context.oldestSeq
  if (!request.settings.ai.memory.semanticRecall || !deps.recallEmbedder || oldestSeq === null) return []
  return recallSimilar(deps.database.db, deps.recallEmbedder, request.projectId, request.threadId, latestUserText(context.history), oldestSeq).catch((error: unknown) => {
    deps.logger.warn({ err: error, threadId: request.threadId }, 'semantic recall failed; answering without it')
    return []
  })
}

/** The reply's messages, usage on the last assistant message, pending approvals and their events; one transaction. */
async function storeReply(deps: ReplyDeps, request: ReplyRequest, replies: ModelMessage[], usage: Usage, approvals: PendingApproval[]): Promise<string[]> {
  const { database, writer } = deps
  const settle = async (tx: Tx) => {
    if (request.claim && deps.owedReplies) await deps.owedReplies.settle(tx, request.claim)
  }
  if (replies.length === 0) {
    await database.db.transaction(settle)
    return []
  }
  const lastAssistant = replies.map((message) => message.role).lastIndexOf('assistant')
  const modelId = request.settings.ai.model.id
  const stored = await database.db.transaction(async (tx) => {
    try {
      const written = await writer.write(tx, request.projectId, request.threadId, {
        compose: (thread) => {
          // Deleted during the turn and its id taken by another chat's thread: not this conversation any more.
          if (thread.chatId !== request.chatId) throw AppError.notFound('Thread', request.threadId)
          return replies.map((message, index): NewMessage => ({
            role: message.role as 'assistant' | 'tool',
            author: 'bot',
            content: textOf(message),
            parts: typeof message.content === 'string' ? undefined : message.content,
            ...(index === lastAssistant ? { usage: { model: modelId, ...usage } } : {}),
          }))
        },
        alongside: async () => {
          // Paid in the same transaction as the reply is stored, and only if still ours: a reply is stored once.
          await settle(tx)
          if (approvals.length === 0) return
          await tx.insert(toolApprovals).values(approvals.map((approval) => ({
            id: approval.approvalId,
            projectId: request.projectId,
            threadId: request.threadId,
            toolCallId: approval.toolCallId,
            toolName: approval.toolName,
            input: storableJson(approval.input) as never,
            policy: approval.policy,
          })))
        },
        eventsAfter: (_rows, thread) => approvals.map((approval) => ({
          type: 'thread.approval.requested' as const,
          chatId: thread.chatId,
          threadId: request.threadId,
          data: { approval_id: approval.approvalId, tool_name: approval.toolName, policy: approval.policy },
        })),
      })
      return written.rows.map((row) => row.id)
    } catch (error) {
      // The thread was deleted during the turn: there is nothing to keep the reply in.
      if (error instanceof AppError && error.code === 'not_found') return []
      throw error
    }
  })
  return stored
}

/** The text a person reads: the text parts joined; a tool message has none (its results are `tool_results`). */
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
