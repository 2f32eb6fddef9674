import type { Logger } from 'pino'
import type { JobQueue } from '../../platform/jobs/queue.ts'
import { produceReply } from './reply.ts'
import type { ConversationServices as Services } from './services.ts'

export const JOB_SCHEDULED_REPLY = 'thread.scheduled-reply'

export type ScheduledReply = { projectId: string; chatId: string; threadId: string; newMessages: number }

/**
 * The bot's reply to messages stored earlier with `scheduledAt`, produced when
 * the job comes due (after a restart too). The thread decides at that moment:
 * if it is no longer in `auto` mode, or its chat or bot is off, nothing is said.
 */
export function registerScheduledReplies(queue: JobQueue, services: Services, logger: Logger): void {
  queue.define<ScheduledReply>(JOB_SCHEDULED_REPLY, async (job) => {
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
