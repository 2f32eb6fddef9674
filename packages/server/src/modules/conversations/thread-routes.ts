import { createRoute, z } from '@hono/zod-openapi'
import { countCurrentTurnMessages } from './history.ts'
import { replyResponse } from './reply-stream.ts'
import { produceReply } from './reply.ts'
import { AppError } from '../../platform/errors.ts'
import {
  ApprovalBody, ApprovalParams, ListThreadsQuery, MessageSchema, ScheduledMessageSchema, ScheduledParams, SendMessageBody, ThreadDetailSchema, ThreadIdParams,
  ThreadListSchema, WorkingMemorySchema,
} from './schemas.ts'
import type { Principal } from '../../platform/http/context.ts'
import { Page, parseScheduledAt } from '../../platform/http/fields.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import type { ConversationServices } from './services.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import { decideApproval } from './approvals.ts'
import { listThreads } from './thread-list.ts'

const tags = ['Threads']

const list = createRoute({
  ...access('member'),
  method: 'get', path: '/threads', operationId: 'threads.list', tags, summary: 'List threads',
  description: [
    'Every thread of the project: most recent activity first, or best match first with `search`.',
    '`next_cursor` continues after the last row, over the project as it was when the first page was read:',
    'no thread is skipped or repeated while messages arrive (threads created meanwhile are not in the walk).',
    '`offset` skips rows from the top, or from the cursor\'s position when both are given. See docs/threads.md.',
  ].join(' '),
  request: { query: ListThreadsQuery },
  responses: { 200: jsonContent(ThreadListSchema, 'A page of threads'), ...errorResponses(422) },
})

const get = createRoute({
  ...access('member'),
  method: 'get', path: '/threads/{thread_id}', operationId: 'threads.get', tags, summary: 'Get a thread',
  request: { params: ThreadIdParams },
  responses: { 200: jsonContent(ThreadDetailSchema, 'The thread, its person and message counts'), ...errorResponses(404) },
})

const send = createRoute({
  ...access('member'),
  method: 'post', path: '/threads/{thread_id}/send', operationId: 'threads.send', tags, summary: 'Send an operator message',
  description:
    'The thread must be in `manual` mode (409 otherwise). Stored as an `assistant` message with `author: "operator"` and `operator_id`; `pending_count` goes to 0; the bot sees it in later turns. With `scheduledAt`: 202 and a scheduled message, delivered then by a durable job.',
  request: { params: ThreadIdParams, body: jsonBody(SendMessageBody) },
  responses: {
    200: jsonContent(MessageSchema, 'The stored message', {
      id: 'msg_01jdq3v5k7m9p2r4t6w8y0a2c5',
      role: 'assistant',
      content: 'Hi Anna, I have checked your order: it ships tomorrow.',
      created_at: '2026-11-22T12:07:00.000Z',
      author: 'operator',
      operator_id: 'usr_01jdq3v5k7m9p2r4t6w8y0a2c4',
      usage: null,
      tool_calls: null,
      tool_results: null,
    }),
    202: jsonContent(ScheduledMessageSchema, 'Scheduled for later'),
    ...errorResponses(400, 404, 409, 422),
  },
})

const listScheduled = createRoute({
  ...access('member'),
  method: 'get', path: '/threads/{thread_id}/scheduled', operationId: 'threads.scheduled.list', tags, summary: 'List scheduled operator messages (extension)',
  description: 'In delivery order, whatever their status, a page at a time (`limit`, `offset`; `X-Total-Count`).',
  request: { params: ThreadIdParams, query: Page },
  responses: { 200: listContent(ScheduledMessageSchema, 'A page of scheduled messages'), ...errorResponses(404, 422) },
})

const cancelScheduled = createRoute({
  ...access('member'),
  method: 'post', path: '/threads/{thread_id}/scheduled/{scheduled_id}/cancel', operationId: 'threads.scheduled.cancel', tags, summary: 'Cancel a scheduled operator message (extension)',
  description: '409 when it was already sent, cancelled or skipped.',
  request: { params: ScheduledParams },
  responses: {
    200: jsonContent(ScheduledMessageSchema, 'The cancelled message', {
      id: 'sch_01jdq3v5k7m9p2r4t6w8y0a2c4',
      thread_id: 'support-42',
      text: 'Good morning! Your order has shipped.',
      operator_id: 'usr_01jdq3v5k7m9p2r4t6w8y0a2c4',
      scheduled_at: '2026-11-23T09:00:00.000Z',
      status: 'cancelled',
      message_id: null,
      reason: null,
      created_at: '2026-11-22T12:10:00.000Z',
      updated_at: '2026-11-22T12:20:00.000Z',
    }),
    ...errorResponses(404, 409),
  },
})

/** An operator is a person on the internal API, or the API key that called the public one. */
function operatorOf(principal: Principal): string {
  return principal.userId ?? principal.apiKeyId ?? 'unknown'
}

const getMemory = createRoute({
  ...access('member'),
  method: 'get', path: '/threads/{thread_id}/memory', operationId: 'threads.memory.get', tags, summary: 'Get working memory',
  description: "The thread's working memory (Markdown), or null when the model has not written one.",
  request: { params: ThreadIdParams },
  responses: { 200: jsonContent(WorkingMemorySchema, 'The working memory'), ...errorResponses(404) },
})

const decide = createRoute({
  ...access('member'),
  method: 'post', path: '/threads/{thread_id}/approvals/{approval_id}', operationId: 'threads.approvals.decide', tags, summary: 'Approve or deny a tool call (extension)',
  description:
    'Decides a pending `tool-approval-request` and resumes the turn: the answer is the same SSE stream as `/stream`, with the tool\'s result (or the model learning it was denied) and the rest of the reply.',
  request: {
    params: ApprovalParams,
    body: jsonBody(ApprovalBody),
  },
  responses: {
    200: {
      description: 'The resumed turn as Server-Sent Events',
      content: {
        'text/event-stream': {
          schema: z.string().openapi({
            example: 'data: {"type":"tool-result","toolCallId":"call_1","toolName":"handoff_to_operator","result":{"handedOff":true}}\n\ndata: {"type":"text-delta","textDelta":"An operator will take over in a moment."}\n\ndata: {"type":"finish","finishReason":"stop","usage":{"inputTokens":58,"outputTokens":11}}\n\ndata: [DONE]\n\n',
          }),
        },
      },
    },
    ...errorResponses(400, 404, 409, 422),
  },
})

export const threadRoutes = createRouter<ConversationServices>()
  .openapi(list, async (c) => {
    const query = c.req.valid('query')
    return c.json(await listThreads(c.get('services').database.db, c.get('principal').projectId, {
      limit: query.limit,
      offset: query.offset,
      ...(query.chat_id !== undefined ? { chatId: query.chat_id } : {}),
      ...(query.bot_id !== undefined ? { botId: query.bot_id } : {}),
      ...(query.search !== undefined ? { search: query.search } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    }), 200)
  })
  .openapi(get, async (c) => c.json(await c.get('services').threads.detail(c.get('principal').projectId, c.req.valid('param').thread_id), 200))
  .openapi(send, async (c) => {
    const { operators } = c.get('services')
    const principal = c.get('principal')
    const { thread_id } = c.req.valid('param')
    const body = c.req.valid('json')
    const at = parseScheduledAt(body.scheduledAt)
    if (at) return c.json(await operators.schedule(principal.projectId, thread_id, body.text, operatorOf(principal), at), 202)
    return c.json((await operators.send(principal.projectId, thread_id, body.text, operatorOf(principal))).message, 200)
  })
  .openapi(listScheduled, async (c) => {
    const page = await c.get('services').operators.listScheduled(c.get('principal').projectId, c.req.valid('param').thread_id, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(cancelScheduled, async (c) => {
    const { thread_id, scheduled_id } = c.req.valid('param')
    return c.json(await c.get('services').operators.cancel(c.get('principal').projectId, thread_id, scheduled_id), 200)
  })
  .openapi(getMemory, async (c) => {
    return c.json(await c.get('services').threads.workingMemory(c.get('principal').projectId, c.req.valid('param').thread_id), 200)
  })
  .openapi(decide, async (c) => {
    const services = c.get('services')
    const principal = c.get('principal')
    const { projectId } = principal
    const { thread_id, approval_id } = c.req.valid('param')
    const thread = await services.threads.require(projectId, thread_id)
    const { chat, bot } = await services.chats.requireConversable(projectId, thread.chatId)
    if (thread.mode !== 'auto') throw AppError.conflict(`Thread '${thread.id}' is in ${thread.mode} mode; the AI resumes only in auto mode`, 'mode_forbids_reply')
    const model = services.models.languageModel(bot.settings.ai.model.id)
    const decidedBy = principal.userId ?? principal.apiKeyId ?? 'unknown'
    await decideApproval(services.database, services.writer, projectId, thread.id, approval_id, c.req.valid('json'), decidedBy)
    const newMessages = await countCurrentTurnMessages(services.database.db, projectId, thread.id)
    const reply = produceReply({ ...services, logger: c.get('logger') }, { projectId, chatId: chat.id, threadId: thread.id, settings: bot.settings, model, newMessages })
    return replyResponse(reply, { keepaliveMs: services.streamKeepaliveMs, requestId: c.get('requestId') })
  })
