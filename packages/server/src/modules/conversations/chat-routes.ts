import { createRoute, z } from '@hono/zod-openapi'
import { JOB_SCHEDULED_REPLY, type ScheduledReply } from './scheduled-reply.ts'
import { loadHistory } from './history.ts'
import { startTurnStream } from './reply-stream.ts'
import type { TurnContext } from '../agent/turn.ts'
import type { BotSettings } from '../bots/settings.ts'
import type { ConversationServices as Services } from './services.ts'
import type { PersonInput } from './threads.ts'
import { AppError } from '../../platform/errors.ts'
import { Deleted, OptionalPage, parseScheduledAt, storableTextProblem } from '../../platform/http/fields.ts'
import { createRouter, errorResponses, jsonBody, jsonContent } from '../../platform/http/router.ts'
import { ChatParams, ChatSchema, CreateChatBody, MessageSchema, SetModeBody, StreamBody, StreamQuery, ThreadParams, ThreadSchema, UiChatBody } from './schemas.ts'

const tags = ['Chats']

const listChats = createRoute({
  method: 'get', path: '/chats', tags, summary: 'List chats',
  request: { query: OptionalPage },
  responses: { 200: jsonContent(z.array(ChatSchema), 'The chats, oldest first'), ...errorResponses(422) },
})
const createChat = createRoute({
  method: 'post', path: '/chats', tags, summary: 'Create an API chat (extension)',
  description: 'A chat with no integration (`integration_id: null`), reached through this API only.',
  request: { body: jsonBody(CreateChatBody) },
  responses: { 200: jsonContent(ChatSchema, 'The new chat'), ...errorResponses(400, 422) },
})
const getChat = createRoute({
  method: 'get', path: '/chats/{chat_id}', tags, summary: 'Get a chat',
  request: { params: ChatParams },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(404) },
})
const listThreads = createRoute({
  method: 'get', path: '/chats/{chat_id}/threads', tags, summary: 'List threads in a chat',
  description: 'Most recent activity first.',
  request: { params: ChatParams },
  responses: { 200: jsonContent(z.array(ThreadSchema), 'The threads'), ...errorResponses(404) },
})
const listMessages = createRoute({
  method: 'get', path: '/chats/{chat_id}/threads/{thread_id}/messages', tags, summary: 'Get thread messages',
  operationId: 'chats.threads.messages.list',
  description: 'Oldest first. Without `limit`, the whole history (as the specification says); with `limit`/`offset`, a page of it.',
  request: { params: ThreadParams, query: OptionalPage },
  responses: { 200: jsonContent(z.array(MessageSchema), 'The history (or the page), oldest first'), ...errorResponses(404, 422) },
})
const deleteThread = createRoute({
  method: 'post', path: '/chats/{chat_id}/threads/{thread_id}/delete', tags, summary: 'Delete a thread',
  description: 'The thread, its messages, working memory, embeddings and pending approvals are removed.',
  request: { params: ThreadParams },
  responses: { 200: jsonContent(Deleted, 'The thread is gone'), ...errorResponses(404) },
})
const setMode = createRoute({
  method: 'post', path: '/chats/{chat_id}/threads/{thread_id}/mode', tags, summary: 'Set thread mode',
  request: { params: ThreadParams, body: jsonBody(SetModeBody) },
  responses: { 200: jsonContent(ThreadSchema, 'The thread'), ...errorResponses(400, 404, 422) },
})

const Accepted = z
  .object({
    status: z.enum(['pending_operator', 'stored', 'scheduled']),
    mode: z.enum(['auto', 'manual', 'operator', 'blocked']),
    thread_id: z.string(),
    message_ids: z.array(z.string()),
    pending_count: z.number().int(),
    scheduled_at: z.string().nullable(),
  })
  .openapi('StreamAccepted')

const stream = createRoute({
  method: 'post', path: '/chats/{chat_id}/threads/{thread_id}/stream', tags, summary: 'Stream a response (SSE)',
  description: [
    'Stores the user message(s) and, in `auto` mode, streams the reply as `text/event-stream`: frames `data: <JSON>` with',
    '`text-delta`, `tool-call`, `tool-result`, `tool-approval-request` (extension), `finish`, or `error`, then `data: [DONE]`.',
    'An unknown thread id creates the thread. In `manual`/`operator`/`blocked` mode, or with `scheduledAt`, nothing streams:',
    'the answer is `202` JSON saying what happened. See docs/conversations.md.',
  ].join(' '),
  request: { params: ThreadParams, query: StreamQuery, body: jsonBody(z.union([StreamBody, UiChatBody])) },
  responses: {
    200: { description: 'The reply as Server-Sent Events', content: { 'text/event-stream': { schema: z.string() } } },
    202: jsonContent(Accepted, 'Stored; no reply in this response'),
    ...errorResponses(400, 404, 409, 422),
  },
})

export const chatRoutes = createRouter<Services>()
  .openapi(listChats, async (c) => c.json(await c.get('services').chats.list(c.get('principal').projectId, c.req.valid('query')), 200))
  .openapi(createChat, async (c) => c.json(await c.get('services').chats.create(c.get('principal').projectId, c.req.valid('json')), 200))
  .openapi(getChat, async (c) => c.json(await c.get('services').chats.get(c.get('principal').projectId, c.req.valid('param').chat_id), 200))
  .openapi(listThreads, async (c) => {
    const { projectId } = c.get('principal')
    const { chats, threads } = c.get('services')
    const chat = await chats.requireRow(projectId, c.req.valid('param').chat_id)
    return c.json(await threads.listInChat(projectId, chat.id), 200)
  })
  .openapi(listMessages, async (c) => {
    const { chat_id, thread_id } = c.req.valid('param')
    return c.json(await c.get('services').threads.messages(c.get('principal').projectId, chat_id, thread_id, c.req.valid('query')), 200)
  })
  .openapi(deleteThread, async (c) => {
    const { chat_id, thread_id } = c.req.valid('param')
    await c.get('services').threads.delete(c.get('principal').projectId, chat_id, thread_id)
    return c.json({ id: thread_id, deleted: true as const }, 200)
  })
  .openapi(setMode, async (c) => {
    const { chat_id, thread_id } = c.req.valid('param')
    return c.json(await c.get('services').threads.setMode(c.get('principal').projectId, chat_id, thread_id, c.req.valid('json').mode), 200)
  })
  .openapi(stream, async (c) => {
    const { projectId } = c.get('principal')
    const services = c.get('services')
    const { chat_id, thread_id } = c.req.valid('param')
    const format = c.req.valid('query').format ?? 'data'
    const { texts, scheduledAtText, person } = readStreamBody(c.req.valid('json'), format)
    // `/threads/events` is the event feed, so a thread with that id could never be addressed under /threads.
    if (thread_id === RESERVED_THREAD_ID) throw AppError.validation([{ path: 'thread_id', message: `'${RESERVED_THREAD_ID}' is reserved (GET /threads/events is the event feed); choose another thread id` }])

    // Every check that can fail happens before anything is written.
    const { chat, bot, thread: existing } = await services.chats.requireConversable(projectId, chat_id, thread_id)
    const scheduledAt = parseScheduledAt(scheduledAtText)
    const settings = bot.settings
    const mode = existing?.mode ?? 'auto'
    const model = mode === 'auto' ? services.models.languageModel(settings.ai.model.id) : null
    if (scheduledAt && !services.jobs) throw new AppError('invalid_request', 'scheduledAt: this server runs without background workers')
    const turnInput = { projectId, chatId: chat.id, threadId: thread_id, settings, modelId: settings.ai.model.id, newMessages: texts.length }

    // The usual case: start the model call first and store the user's messages while it
    // thinks, so the database's time is not added to the time to first token. The reply
    // is stored only after the messages; if storing fails, the call is aborted.
    const preloaded = model && !scheduledAt ? await preloadContext(services, turnInput, existing?.workingMemory ?? null, existing !== null, texts) : null
    const ingesting = services.threads.ingestUserMessages(projectId, { id: chat.id, botId: chat.botId }, thread_id, texts, person)
    ingesting.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
    const turn = model && preloaded
      ? startTurnStream(services, c.get('logger'), c.get('requestId'), { ...turnInput, model, preloaded, persistAfter: ingesting }, format)
      : null
    if (turn) {
      // Streaming starts now; the store runs alongside. If it fails, or a concurrent
      // change took the thread out of auto mode, the turn stops with an `error` event.
      ingesting.then(
        (done) => {
          if (done.thread.mode !== 'auto') turn.abort(`The thread is now in ${done.thread.mode} mode; your message was stored for an operator`)
        },
        (error: unknown) => {
          if (!(error instanceof AppError)) c.get('logger').error({ err: error, requestId: c.get('requestId') }, 'storing the user message failed')
          turn.abort('Your message could not be stored; nothing was sent to the model')
        },
      )
      return turn.response()
    }
    const ingested = await ingesting
    const thread = ingested.thread

    if (scheduledAt && thread.mode === 'auto' && model && services.jobs) {
      const reply: ScheduledReply = { projectId, chatId: chat.id, threadId: thread.id, newMessages: texts.length }
      await services.jobs.send(JOB_SCHEDULED_REPLY, reply, { startAfter: scheduledAt })
      return c.json({
        status: 'scheduled' as const,
        mode: 'auto' as const,
        thread_id: thread.id,
        message_ids: ingested.messageIds,
        pending_count: thread.pendingCount,
        scheduled_at: scheduledAt.toISOString(),
      }, 202)
    }
    // Not auto (or no longer auto): stored for an operator, or just stored.
    return c.json({
      status: thread.mode === 'blocked' ? ('stored' as const) : ('pending_operator' as const),
      mode: thread.mode as 'auto' | 'manual' | 'operator' | 'blocked',
      thread_id: thread.id,
      message_ids: ingested.messageIds,
      pending_count: thread.pendingCount,
      scheduled_at: null,
    }, 202)
  })

/** Thread ids that would collide with a route under /threads. */
const RESERVED_THREAD_ID = 'events'

/** The stored context (nothing for a new thread) with the new user messages appended. */
async function preloadContext(services: Services, input: { projectId: string; threadId: string; settings: BotSettings }, workingMemory: string | null, threadExists: boolean, texts: string[]): Promise<TurnContext> {
  const stored = threadExists
    ? await loadHistory(services.database.db, input.projectId, input.threadId, input.settings.ai.memory.lastMessages, 0)
    : { history: [], oldestSeq: null }
  return { history: [...stored.history, ...texts.map((content) => ({ role: 'user' as const, content }))], oldestSeq: stored.oldestSeq, workingMemory }
}

/**
 * The new user texts of a stream request. A `useChat` body carries the whole
 * conversation; its last message must be the user's new one.
 */
function readStreamBody(body: z.infer<typeof StreamBody> | z.infer<typeof UiChatBody>, format: 'data' | 'ui-message-stream'): { texts: string[]; scheduledAtText: string | undefined; person?: PersonInput | undefined } {
  const last = body.messages.at(-1)
  if (last && 'parts' in last) {
    if (format !== 'ui-message-stream') throw AppError.validation([{ path: 'messages', message: 'AI SDK UI messages need ?format=ui-message-stream' }])
    const text = last.parts.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('')
    if (last.role !== 'user' || text.trim() === '') throw AppError.validation([{ path: 'messages', message: 'the last message must be a user message with text' }])
    if (text.length > 100_000) throw AppError.validation([{ path: 'messages', message: 'the text must be at most 100000 characters' }])
    const problem = storableTextProblem(text)
    if (problem) throw AppError.validation([{ path: 'messages', message: `the text ${problem}` }])
    return { texts: [text], scheduledAtText: undefined }
  }
  const plain = body as z.infer<typeof StreamBody>
  return { texts: plain.messages.map((message) => message.content), scheduledAtText: plain.scheduledAt, person: plain.person }
}
