import { generateText } from 'ai'
import { and, asc, eq, isNull, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import { storableText } from '../../platform/db/storable.ts'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { messages, threads } from './tables.ts'
import { bots } from '../bots/index.ts'
import type { Outbox } from '../../platform/events/outbox.ts'
import type { JobQueue } from '../../platform/jobs/queue.ts'
import type { Embedder } from '../knowledge/index.ts'
import { splitModelId, type ModelRegistry } from '../agent/index.ts'
import { embedNewMessages } from './recall.ts'
import type { ReplyOutcome, ReplyRequest } from './reply.ts'

export const JOB_TITLE = 'thread.generate-title'
export const JOB_EMBED = 'thread.embed-messages'

type ThreadJob = { projectId: string; chatId: string; threadId: string }

export type FollowUpDeps = { database: DatabaseHandle; outbox: Outbox; logger: Logger; models: ModelRegistry; embedder: Embedder | undefined }

/**
 * Work that follows a stored reply but must not delay it: embeddings for
 * semantic recall and the thread's title. Durable jobs, retried on failure.
 */
export function registerFollowUps(queue: JobQueue, deps: FollowUpDeps): (input: ReplyRequest, outcome: ReplyOutcome) => void {
  // `short`: at most one waiting job per thread (the singleton key); a running one does not block the next.
  queue.define<ThreadJob>(JOB_TITLE, (job) => generateTitle(deps, job), { retryLimit: 3, retryDelaySeconds: 5, retryBackoff: true, policy: 'short' })
  if (deps.embedder) {
    const embedder = deps.embedder
    queue.define<ThreadJob>(JOB_EMBED, async (job) => {
      await embedNewMessages(deps.database.db, embedder, job.projectId, job.threadId)
    }, { retryLimit: 3, retryDelaySeconds: 5, retryBackoff: true, policy: 'short' })
  }
  return (input, outcome) => {
    if (outcome.status !== 'completed') return
    const job: ThreadJob = { projectId: input.projectId, chatId: input.chatId, threadId: input.threadId }
    const memory = input.settings.ai.memory
    const sends: Array<Promise<unknown>> = []
    if (memory.semanticRecall && deps.embedder) sends.push(queue.send(JOB_EMBED, job, { singletonKey: `${input.projectId}:${input.threadId}` }))
    if (memory.generateTitle) sends.push(queue.send(JOB_TITLE, job, { singletonKey: `${input.projectId}:${input.threadId}` }))
    Promise.all(sends).catch((error: unknown) => deps.logger.warn({ err: error, threadId: input.threadId }, 'could not queue follow-up work'))
  }
}

const TITLE_PROMPT =
  'Write a title for this conversation in at most 6 words, in the language of the conversation. Answer with the title only: no quotes, no trailing punctuation.'

/** Titles a thread after its first reply, with the bot's own model. A thread with a title keeps it. */
async function generateTitle(deps: FollowUpDeps, job: ThreadJob): Promise<void> {
  const { db } = deps.database
  const [thread] = await db
    .select({ title: threads.title, settings: bots.settings })
    .from(threads)
    .innerJoin(bots, eq(bots.id, threads.botId))
    .where(and(eq(threads.projectId, job.projectId), eq(threads.id, job.threadId)))
  if (!thread || thread.title !== null) return
  const opening = await db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(and(eq(messages.projectId, job.projectId), eq(messages.threadId, job.threadId), sql`${messages.content} <> ''`))
    .orderBy(asc(messages.seq))
    .limit(4)
  if (opening.length === 0) return
  const modelId = thread.settings.ai.model.id
  // The built-in offline models cannot summarise (local/echo would title a thread "You said: user: …"):
  // their threads are titled by the user's first words instead.
  const text = splitModelId(modelId).provider === 'local'
    ? firstWords(opening.find((message) => message.role === 'user')?.content ?? opening[0]!.content, 6)
    : (await generateText({
        model: deps.models.languageModel(modelId),
        instructions: TITLE_PROMPT,
        prompt: opening.map((message) => `${message.role}: ${message.content}`).join('\n'),
        maxOutputTokens: 32,
        temperature: 0.2,
      })).text
  const title = storableText(text).trim().replace(/^["'«]+|["'».!?]+$/g, '').slice(0, 200)
  if (!title) return
  await db.transaction(async (tx) => {
    const rows = await tx
      .update(threads)
      .set({ title, updatedAt: sql`now()` })
      .where(and(eq(threads.projectId, job.projectId), eq(threads.id, job.threadId), isNull(threads.title)))
      .returning({ id: threads.id })
    if (rows.length > 0) await deps.outbox.append(tx, job.projectId, [{ type: 'thread.title.changed', chatId: job.chatId, threadId: job.threadId, data: { title } }])
  })
}

/** The first `count` words of a text, on one line. */
function firstWords(text: string, count: number): string {
  return text.split(/\s+/).filter(Boolean).slice(0, count).join(' ')
}
