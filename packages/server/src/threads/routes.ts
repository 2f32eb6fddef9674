import { createRoute, z } from '@hono/zod-openapi'
import { countCurrentTurnMessages } from '../agent/memory.ts'
import { streamTurnResponse } from '../agent/stream-turn.ts'
import { ApiError } from '../http/errors.ts'
import { idParam, safeText } from '../http/fields.ts'
import { createRouter, errorResponses, jsonBody, jsonContent } from '../http/router.ts'
import { decideApproval } from './approvals.ts'

const getMemory = createRoute({
  method: 'get', path: '/threads/{thread_id}/memory', tags: ['Threads'], summary: 'Get working memory',
  description: "The thread's working memory (Markdown), or null when the model has not written one.",
  request: { params: z.object({ thread_id: idParam('thread_id', 'support-42') }) },
  responses: { 200: jsonContent(z.object({ content: z.string().nullable() }).openapi('WorkingMemory'), 'The working memory'), ...errorResponses(404) },
})

const ApprovalBody = z
  .strictObject({ approved: z.boolean(), reason: safeText().max(2000).optional() })
  .openapi('ApprovalDecision')

const decide = createRoute({
  method: 'post', path: '/threads/{thread_id}/approvals/{approval_id}', tags: ['Threads'], summary: 'Approve or deny a tool call (extension)',
  description:
    'Decides a pending `tool-approval-request` and resumes the turn: the answer is the same SSE stream as `/stream`, with the tool\'s result (or the model learning it was denied) and the rest of the reply.',
  request: {
    params: z.object({ thread_id: idParam('thread_id', 'support-42'), approval_id: idParam('approval_id', 'aitxt-abc123') }),
    body: jsonBody(ApprovalBody),
  },
  responses: {
    200: { description: 'The resumed turn as Server-Sent Events', content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses(400, 404, 409, 422),
  },
})

export const threadRoutes = createRouter()
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
    if (thread.mode !== 'auto') throw ApiError.conflict(`Thread '${thread.id}' is in ${thread.mode} mode; the AI resumes only in auto mode`)
    const model = services.models.languageModel(bot.settings.ai.model.id)
    const decidedBy = principal.userId ?? principal.apiKeyId ?? 'unknown'
    await decideApproval(services.database, projectId, thread.id, approval_id, c.req.valid('json'), decidedBy)
    const newMessages = await countCurrentTurnMessages(services.database.db, projectId, thread.id)
    return streamTurnResponse(services, c.get('logger'), c.get('requestId'), {
      projectId, chatId: chat.id, threadId: thread.id, settings: bot.settings, modelId: bot.settings.ai.model.id, model, newMessages,
    })
  })
