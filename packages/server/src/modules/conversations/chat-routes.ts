import { createRoute, z } from '@hono/zod-openapi'
import { ingest } from './ingest.ts'
import { replyResponse } from './reply-stream.ts'
import type { ConversationServices as Services } from './services.ts'
import type { PersonInput, ThreadMode } from './threads.ts'
import { AppError } from '../../platform/errors.ts'
import { Deleted, Page, parseScheduledAt, storableTextProblem } from '../../platform/http/fields.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent, validationHook } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import { fieldProblems } from '../../platform/http/errors.ts'
import type { Context } from 'hono'
import type { ZodError } from 'zod'
import { ChatParams, ChatSchema, CreateChatBody, MessageSchema, SetModeBody, StreamAcceptedSchema, StreamBody, StreamQuery, ThreadParams, ThreadSchema, UiChatBody } from './schemas.ts'

const tags = ['Chats']

const listChats = createRoute({
  ...access('member'),
  method: 'get', path: '/chats', operationId: 'chats.list', tags, summary: 'List chats',
  description: 'Oldest first, a page at a time (`limit`, `offset`; `X-Total-Count`).',
  request: { query: Page },
  responses: { 200: listContent(ChatSchema, 'A page of chats, oldest first'), ...errorResponses(422) },
})
const createChat = createRoute({
  ...access('admin'),
  method: 'post', path: '/chats', operationId: 'chats.create', tags, summary: 'Create an API chat (extension)',
  description: 'A chat with no integration (`integration_id: null`), reached through this API only.',
  request: { body: jsonBody(CreateChatBody) },
  responses: { 200: jsonContent(ChatSchema, 'The new chat'), ...errorResponses(400, 403, 422) },
})
const getChat = createRoute({
  ...access('member'),
  method: 'get', path: '/chats/{chat_id}', operationId: 'chats.get', tags, summary: 'Get a chat',
  request: { params: ChatParams },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(404) },
})
const listThreads = createRoute({
  ...access('member'),
  method: 'get', path: '/chats/{chat_id}/threads', operationId: 'chats.threads.list', tags, summary: 'List threads in a chat',
  description: 'Most recent activity first, a page at a time (`limit`, `offset`; `X-Total-Count`).',
  request: { params: ChatParams, query: Page },
  responses: { 200: listContent(ThreadSchema, 'A page of threads'), ...errorResponses(404, 422) },
})
const listMessages = createRoute({
  ...access('member'),
  method: 'get', path: '/chats/{chat_id}/threads/{thread_id}/messages', tags, summary: 'Get thread messages',
  operationId: 'chats.threads.messages.list',
  description: 'The history, oldest first, a page at a time: the first 100 messages without `limit` (at most 1000); `X-Total-Count` says how many there are, so a client that wants the whole history pages with `offset`.',
  request: { params: ThreadParams, query: Page },
  responses: { 200: listContent(MessageSchema, 'A page of the history, oldest first'), ...errorResponses(404, 422) },
})
const deleteThread = createRoute({
  ...access('admin'),
  method: 'post', path: '/chats/{chat_id}/threads/{thread_id}/delete', operationId: 'chats.threads.delete', tags, summary: 'Delete a thread',
  description: 'The thread, its messages, working memory, embeddings and pending approvals are removed.',
  request: { params: ThreadParams },
  responses: { 200: jsonContent(Deleted, 'The thread is gone'), ...errorResponses(403, 404) },
})
const setMode = createRoute({
  ...access('member'),
  method: 'post', path: '/chats/{chat_id}/threads/{thread_id}/mode', operationId: 'chats.threads.mode.update', tags, summary: 'Set thread mode',
  request: { params: ThreadParams, body: jsonBody(SetModeBody) },
  responses: { 200: jsonContent(ThreadSchema, 'The thread'), ...errorResponses(400, 404, 422) },
})

const stream = createRoute({
  ...access('member'),
  method: 'post', path: '/chats/{chat_id}/threads/{thread_id}/stream', operationId: 'chats.threads.stream', tags, summary: 'Stream a response (SSE)',
  description: [
    'Stores the user message(s) and, in `auto` mode, streams the reply as `text/event-stream`: frames `data: <JSON>` with',
    '`text-delta`, `tool-call`, `tool-result`, `tool-approval-request` (extension), `finish`, or `error`, then `data: [DONE]`.',
    'An unknown thread id creates the thread. In `manual`/`operator`/`blocked` mode, or with `scheduledAt`, nothing streams:',
    'the answer is `202` JSON saying what happened. See docs/conversations.md.',
  ].join(' '),
  request: {
    params: ThreadParams,
    query: StreamQuery,
    body: jsonBody(z.union([StreamBody, UiChatBody]).openapi({ example: { messages: [{ role: 'user', content: 'What is your return policy?' }] } })),
  },
  responses: {
    200: {
      description: 'The reply as Server-Sent Events',
      content: {
        'text/event-stream': {
          schema: z.string().openapi({
            example: 'data: {"type":"text-delta","textDelta":"You can return any item "}\n\ndata: {"type":"text-delta","textDelta":"within 30 days."}\n\ndata: {"type":"finish","finishReason":"stop","usage":{"inputTokens":21,"outputTokens":9}}\n\ndata: [DONE]\n\n',
          }),
        },
      },
    },
    202: jsonContent(StreamAcceptedSchema, 'Stored; no reply in this response'),
    ...errorResponses(400, 404, 409, 422),
  },
})

export const chatRoutes = createRouter<Services>()
  .openapi(listChats, async (c) => {
    const page = await c.get('services').chats.list(c.get('principal').projectId, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(createChat, async (c) => c.json(await c.get('services').chats.create(c.get('principal').projectId, c.req.valid('json')), 200))
  .openapi(getChat, async (c) => c.json(await c.get('services').chats.get(c.get('principal').projectId, c.req.valid('param').chat_id), 200))
  .openapi(listThreads, async (c) => {
    const { projectId } = c.get('principal')
    const { chats, threads } = c.get('services')
    const chat = await chats.requireRow(projectId, c.req.valid('param').chat_id)
    const page = await threads.listInChat(projectId, chat.id, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(listMessages, async (c) => {
    const { chat_id, thread_id } = c.req.valid('param')
    const page = await c.get('services').threads.messages(c.get('principal').projectId, chat_id, thread_id, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
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
    const { chat_id, thread_id } = c.req.valid('param')
    const format = c.req.valid('query').format ?? 'data'
    const { texts, scheduledAtText, person } = readStreamBody(c.req.valid('json'), format)
    // `/threads/events` is the event feed, so a thread with that id could never be addressed under /threads.
    if (thread_id === RESERVED_THREAD_ID) throw AppError.validation([{ path: 'thread_id', message: `'${RESERVED_THREAD_ID}' is reserved (GET /threads/events is the event feed); choose another thread id` }])
    const services = c.get('services')
    const result = await ingest({ ...services, logger: c.get('logger') }, {
      projectId: c.get('principal').projectId,
      chatId: chat_id,
      threadId: thread_id,
      texts,
      person,
      scheduledAt: parseScheduledAt(scheduledAtText),
    })
    if (result.status === 'reply') {
      return replyResponse(result.reply, { keepaliveMs: services.streamKeepaliveMs, requestId: c.get('requestId'), format, storedFirst: result.stored })
    }
    return c.json({
      status: result.status,
      mode: result.thread.mode as ThreadMode,
      thread_id: result.thread.id,
      message_ids: result.messageIds,
      pending_count: result.thread.pendingCount,
      scheduled_at: result.scheduledAt?.toISOString() ?? null,
    }, 202)
  }, streamBodyHook)

/**
 * A stream body is the spec's `{ messages: [{ role: 'user', content }] }` or a
 * `useChat` body. Validated as a union, any mistake would read "Invalid input"
 * with no field: judge the body by its shape instead (UI messages have `parts`)
 * and report that schema's problems, which name the field.
 */
function streamBodyHook(result: { success: true } | { success: false; target: string; error: ZodError; data?: unknown }, c: Context): undefined {
  if (!result.success && result.target === 'json' && 'data' in result) {
    const messages = (result.data as { messages?: unknown } | null)?.messages
    const looksLikeUi = Array.isArray(messages) && messages.some((message) => typeof message === 'object' && message !== null && 'parts' in message)
    const parsed = (looksLikeUi ? UiChatBody : StreamBody).safeParse(result.data)
    if (!parsed.success) throw AppError.validation(fieldProblems(parsed.error))
  }
  return validationHook(result, c)
}

/** Thread ids that would collide with a route under /threads. */
const RESERVED_THREAD_ID = 'events'

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
