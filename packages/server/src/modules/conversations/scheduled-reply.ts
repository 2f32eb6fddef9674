import type { Logger } from 'pino'
import type { JobQueue } from '../../platform/jobs/queue.ts'
import type { OwedReplyRow } from './owed-replies.ts'
import { produceReply } from './reply.ts'
import type { ConversationServices as Services } from './services.ts'

export const JOB_SCHEDULED_REPLY = 'thread.scheduled-reply'

/** `owedReplyId` names the owed reply to pay; jobs queued before owed replies existed lack it. */
export type ScheduledReply = { projectId: string; chatId: string; threadId: string; newMessages: number; owedReplyId?: string }

/**
 * The bot's reply to messages stored earlier with `scheduledAt`, produced when
 * the job comes due (after a restart too). The job wakes the reply on time; the
 * owed reply it names is what makes it happen once (the sweep would find it too).
 */
export function registerScheduledReplies(queue: JobQueue, services: Services, logger: Logger): void {
  queue.define<ScheduledReply>(JOB_SCHEDULED_REPLY, async (job) => {
    if (job.owedReplyId) {
      // Null: already claimed (by the sweep, or a previous attempt of this job that is answering).
      const [owed] = await services.owedReplies.claimDue({ limit: 1, id: job.owedReplyId })
      if (owed) await answerOwedReply(services, logger, owed)
      return
    }
    const thread = await services.threads.require(job.projectId, job.threadId).catch(() => null)
    if (!thread || thread.mode !== 'auto') return
    const chat = await services.chats.requireRow(job.projectId, job.chatId).catch(() => null)
    const bot = chat ? await services.bots.requireRow(job.projectId, chat.botId).catch(() => null) : null
    if (!chat || !bot || chat.status !== 'active' || bot.status !== 'active') return
    const settings = bot.settings
    const reply = produceReply({ ...services, logger }, {
      projectId: job.projectId, chatId: chat.id, threadId: thread.id, settings, model: services.models.languageModel(settings.ai.model.id), newMessages: job.newMessages,
    })
    const outcome = await reply.done
    // Nothing was stored for a failed reply, so a retry cannot duplicate it.
    if (outcome.status === 'failed') throw new Error(`scheduled reply for thread ${job.threadId} failed`)
  }, { retryLimit: 2, retryDelaySeconds: 30, retryBackoff: true })
}

/**
 * Answers an owed reply this process has claimed, deciding as at that moment: a thread no
 * longer in `auto`, or a chat or bot switched off, owes nothing (the message stays stored,
 * for an operator or nobody, as if it had come then). A failure releases it for another
 * attempt, up to the limit, then gives it up with `thread.reply.failed`.
 */
export async function answerOwedReply(services: Services, logger: Logger, owed: OwedReplyRow & { owner: string }): Promise<void> {
  const claim = { id: owed.id, owner: owed.owner }
  const thread = await services.threads.require(owed.projectId, owed.threadId).catch(() => null)
  const chat = thread ? await services.chats.requireRow(owed.projectId, owed.chatId).catch(() => null) : null
  const bot = chat ? await services.bots.requireRow(owed.projectId, chat.botId).catch(() => null) : null
  if (!thread || thread.mode !== 'auto' || !chat || !bot || chat.status !== 'active' || bot.status !== 'active') {
    await services.owedReplies.drop(claim)
    return
  }
  let model
  try {
    model = services.models.languageModel(bot.settings.ai.model.id)
  } catch (error) {
    await services.owedReplies.fail(claim, error instanceof Error ? error.message : String(error), { retry: false })
    return
  }
  logger.info({ threadId: owed.threadId, owedReplyId: owed.id, attempt: owed.attempts }, 'answering an owed reply')
  const reply = produceReply({ ...services, logger }, {
    projectId: owed.projectId, chatId: chat.id, threadId: thread.id, settings: bot.settings, model, newMessages: owed.newMessages, claim, retryOnFailure: true,
  })
  await reply.done
}

/**
 * Every process looks for owed replies that are due and held by nobody (scheduled ones,
 * released ones, and those of a process that died mid-turn, once their lease lapses) and
 * answers them. With `takeOverAtStart` (PGlite: one process owns the database), the first
 * look also takes leases that have not lapsed yet: their holder is gone.
 */
export class OwedReplySweeper {
  private readonly services: Services
  private readonly logger: Logger
  private readonly takeOverAtStart: boolean
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<void> | undefined
  private readonly answering = new Set<Promise<void>>()
  private stopped = false

  constructor(services: Services, logger: Logger, options: { takeOverAtStart: boolean }) {
    this.services = services
    this.logger = logger
    this.takeOverAtStart = options.takeOverAtStart
  }

  async start(): Promise<void> {
    this.stopped = false
    await this.sweep(this.takeOverAtStart)
    this.timer = setInterval(() => void this.sweep(false), this.services.owedReplies.sweepMs)
    this.timer.unref()
  }

  /**
   * Stops looking and waits for the replies under way, up to `timeoutMs`: one still running
   * then is left to its lease, and answered after the next start.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.sweeping
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled([...this.answering]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
  }

  private sweep(takeOver: boolean): Promise<void> {
    if (this.stopped || this.sweeping) return this.sweeping ?? Promise.resolve()
    this.sweeping = (async () => {
      try {
        // A bounded number at a time, so a backlog after a long outage does not start every model call at once.
        const claimed = await this.services.owedReplies.claimDue({ limit: Math.max(0, 20 - this.answering.size), takeOver })
        if (claimed.length > 0) this.logger.warn({ count: claimed.length }, 'answering replies owed since before a crash, or scheduled')
        for (const owed of claimed) {
          const answering: Promise<void> = answerOwedReply(this.services, this.logger, owed)
            .catch((error: unknown) => this.logger.error({ err: error, owedReplyId: owed.id }, 'answering an owed reply failed'))
            .finally(() => this.answering.delete(answering))
          this.answering.add(answering)
        }
      } catch (error) {
        if (!this.stopped) this.logger.warn({ err: error }, 'looking for owed replies failed')
      } finally {
        this.sweeping = undefined
      }
    })()
    return this.sweeping
  }
}
