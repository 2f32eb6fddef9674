import type { DatabaseHandle } from '../../platform/db/client.ts'
import { AppError } from '../../platform/errors.ts'
import type { JobQueue } from '../../platform/jobs/queue.ts'
import type { ModelRegistry } from '../agent/index.ts'
import type { BotSettings } from '../bots/index.ts'
import type { ChatService } from './chats.ts'
import { loadHistory } from './history.ts'
import type { ThreadRow, Tx } from './message-writer.ts'
import { produceReply, type Reply, type ReplyDeps, type StoredContext } from './reply.ts'
import { JOB_SCHEDULED_REPLY, type ScheduledReply } from './scheduled-reply.ts'
import type { PersonInput, Stored } from './threads.ts'
import { newLeaseOwner } from './owed-replies.ts'
import { newId } from '../../platform/db/ids.ts'

/** An inbound user message, from whichever door it came through. */
export type InboundMessage = {
  projectId: string
  chatId: string
  /** The conversation's id: chosen by the API caller, or derived from the channel's conversation. */
  threadId: string
  texts: string[]
  person?: PersonInput | undefined
  /** Store now, reply then (the API's `scheduledAt`). */
  scheduledAt?: Date | null
  /**
   * Runs in the transaction that stores the messages; a throw stores nothing. A channel marks its
   * update taken in there, so an update is never taken in twice (a crash, a lapsed claim).
   */
  alongside?: ((tx: Tx) => Promise<void>) | undefined
  /**
   * How a new turn refused for want of credits is told: `error` (the API: a 402
   * `insufficient_credits`), or `message` (a channel: the user's message is stored and a
   * polite fixed answer goes back to them, with a `billing.credits_exhausted` event).
   */
  refusal?: 'error' | 'message' | undefined
}

/**
 * Billing's say on new turns (the composition root gives it; conversations does not import
 * billing): a turn that would call the model is refused when `allowed` is false.
 */
export type TurnGate = {
  mayStartTurn(projectId: string): Promise<{ allowed: boolean; organizationId: string | null; balance: { credits: number; bonus: number } }>
}

/** What a channel's user reads when the organization has no credits left: fixed, polite, and says nothing of billing. */
export const CREDITS_EXHAUSTED_REPLY = 'Sorry, I cannot answer right now. Please try again later.'

/** What became of it. `reply`: the bot is answering; everything else was stored with no reply now. */
export type IngestResult =
  | { status: 'reply'; reply: Reply; stored: Promise<Stored> }
  | { status: 'scheduled' | 'pending_operator' | 'stored' | 'refused'; thread: ThreadRow; messageIds: string[]; scheduledAt: Date | null }

export type IngestDeps = ReplyDeps & { chats: ChatService; models: ModelRegistry; jobs?: JobQueue | undefined; turnGate?: TurnGate | undefined }

/**
 * The main path of the product, the same for every way a message comes in
 * (the API stream today; channel webhooks and the widget next): check the chat
 * and its bot, store the message (the thread and its person on first use),
 * and decide by the thread's mode — `auto` answers, `manual`/`operator` count
 * it as pending for a person, `blocked` only stores it.
 *
 * In `auto` the model call starts before the message is stored (the store
 * runs alongside, so the database's time is not added to the time to first
 * token); the reply is stored only after the message, and if storing fails,
 * or a concurrent change took the thread out of `auto`, the reply stops with
 * an `error` event and nothing of it is kept.
 */
export async function ingest(deps: IngestDeps, message: InboundMessage): Promise<IngestResult> {
  const { projectId, threadId, texts } = message
  // Every check that can fail happens before anything is written.
  const { chat, bot, thread: existing } = await deps.chats.requireConversable(projectId, message.chatId, threadId)
  const scheduledAt = message.scheduledAt ?? null
  if (scheduledAt && !deps.jobs) throw new AppError('invalid_request', 'scheduledAt: this server runs without background workers')
  const settings = bot.settings
  const mode = existing?.mode ?? 'auto'
  const model = mode === 'auto' ? deps.models.languageModel(settings.ai.model.id) : null
  // The credits check and the context are read side by side: both must be in before the model is called.
  const [gate, preloaded] = await Promise.all([
    // Checked before the model is called; a reply already running is not stopped (it may end below zero).
    model && deps.turnGate ? deps.turnGate.mayStartTurn(projectId) : null,
    model && !scheduledAt ? preloadContext(deps.database, projectId, threadId, settings, existing, texts) : null,
  ])
  if (gate && !gate.allowed) return refuseTurn(deps, message, { id: chat.id, botId: chat.botId }, gate)
  // The reply these messages are owed is recorded with them (when the thread is in `auto` as stored),
  // so a crash before it is stored leaves a debt another start pays (owed-replies.ts).
  const claim = model && deps.owedReplies ? { id: newId('owe'), owner: newLeaseOwner() } : undefined
  const owedReplies = deps.owedReplies
  const alongside = message.alongside
  const stored = deps.threads.storeUserMessages(projectId, { id: chat.id, botId: chat.botId }, threadId, texts, message.person, (claim && owedReplies) || alongside
    ? async (tx, thread) => {
        if (alongside) await alongside(tx)
        if (!claim || !owedReplies || thread.mode !== 'auto') return
        await owedReplies.owe(tx, { id: claim.id, projectId, threadId, chatId: chat.id, newMessages: texts.length, dueAt: scheduledAt, owner: scheduledAt ? undefined : claim.owner })
      }
    : undefined)
  stored.catch(() => {}) // awaited below or by the reply; this only keeps an early failure from going unhandled

  if (model && preloaded) {
    const reply = produceReply(deps, { projectId, chatId: chat.id, threadId, settings, model, newMessages: texts.length, preloaded, storedFirst: stored, ...(claim ? { claim } : {}) })
    stored.then(
      (done) => {
        if (done.thread.mode !== 'auto') reply.abort(`The thread is now in ${done.thread.mode} mode; your message was stored for an operator`)
      },
      (error: unknown) => {
        if (!(error instanceof AppError)) deps.logger.error({ err: error, threadId }, 'storing the user message failed')
        reply.abort('Your message could not be stored; nothing was sent to the model')
      },
    )
    return { status: 'reply', reply, stored }
  }

  const { thread, messageIds } = await stored
  if (scheduledAt && thread.mode === 'auto' && model && deps.jobs) {
    const job: ScheduledReply = { projectId, chatId: chat.id, threadId: thread.id, newMessages: texts.length, ...(claim ? { owedReplyId: claim.id } : {}) }
    await deps.jobs.send(JOB_SCHEDULED_REPLY, job, { startAfter: scheduledAt })
    return { status: 'scheduled', thread, messageIds, scheduledAt }
  }
  // Not auto (or no longer auto): stored for an operator, or just stored.
  return { status: thread.mode === 'blocked' ? 'stored' : 'pending_operator', thread, messageIds, scheduledAt: null }
}

/**
 * No credits: the API caller gets a 402 that says not to retry; a channel's user gets the
 * fixed reply (stored with their message and sent by the outbox), and the project an event.
 */
async function refuseTurn(deps: IngestDeps, message: InboundMessage, chat: { id: string; botId: string }, gate: Awaited<ReturnType<TurnGate['mayStartTurn']>>): Promise<IngestResult> {
  if (message.refusal !== 'message') {
    throw new AppError('insufficient_credits', 'The organization has no credits left; top up to start a new conversation turn', { headers: { 'x-should-retry': 'false' } })
  }
  const { projectId, threadId } = message
  const alongside = message.alongside
  const stored = await deps.threads.storeUserMessages(projectId, chat, threadId, message.texts, message.person, alongside ? (tx) => alongside(tx) : undefined, {
    greeting: CREDITS_EXHAUSTED_REPLY,
    events: [{ type: 'billing.credits_exhausted', chatId: chat.id, threadId, data: { organization_id: gate.organizationId, ...gate.balance } }],
  })
  return { status: 'refused', thread: stored.thread, messageIds: stored.messageIds, scheduledAt: null }
}

/** The stored context (nothing for a new thread) with the new user messages appended. */
async function preloadContext(database: DatabaseHandle, projectId: string, threadId: string, settings: BotSettings, existing: ThreadRow | null, texts: string[]): Promise<StoredContext> {
  const stored = existing
    ? await loadHistory(database.db, projectId, threadId, settings.ai.memory.lastMessages, 0)
    : { history: [], oldestSeq: null }
  return {
    history: [...stored.history, ...texts.map((content) => ({ role: 'user' as const, content }))],
    oldestSeq: stored.oldestSeq,
    workingMemory: existing?.workingMemory ?? null,
  }
}
