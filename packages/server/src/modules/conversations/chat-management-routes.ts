import { createRoute } from '@hono/zod-openapi'
import { Deleted } from '../../platform/http/fields.ts'
import { createRouter, errorResponses, jsonBody, jsonContent } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import { ChatParams, ChatSchema, UpdateChatBody, UpdateChatStatusBody } from './schemas.ts'
import type { ConversationServices } from './services.ts'

/**
 * Managing a chat: the spec's integration-chat routes (`POST
 * /integrations/:id/chats/:chat_id`, `…/status`, `DELETE …`) at `/chats/:chat_id`,
 * for API chats now and for any chat of the project once integrations exist.
 */
const tags = ['Chats']

const updateChat = createRoute({
  ...access('admin'),
  method: 'post', path: '/chats/{chat_id}', tags, summary: 'Update a chat',
  operationId: 'chats.update',
  description: "`name` and/or `settings`; fields left out keep their values. `settings` is merged into the stored object (JSON Merge Patch: `null` removes a key). A name another chat of the same bot has (case-insensitively) is 409 `name_taken`.",
  request: { params: ChatParams, body: jsonBody(UpdateChatBody) },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(400, 403, 404, 409, 422) },
})

const updateChatStatus = createRoute({
  ...access('admin'),
  method: 'post', path: '/chats/{chat_id}/status', tags, summary: 'Activate or deactivate a chat',
  operationId: 'chats.status.update',
  description: 'A `disabled` chat refuses new messages (409 `chat_disabled`); its threads stay readable.',
  request: { params: ChatParams, body: jsonBody(UpdateChatStatusBody) },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(400, 403, 404, 422) },
})

const deleteChat = createRoute({
  ...access('admin'),
  method: 'delete', path: '/chats/{chat_id}', tags, summary: 'Delete a chat',
  operationId: 'chats.delete',
  description: 'The chat and all its threads, messages, working memory, approvals and scheduled messages are removed; one `chat.deleted` event is written.',
  request: { params: ChatParams },
  responses: { 200: jsonContent(Deleted, 'The chat is gone'), ...errorResponses(403, 404) },
})

export const chatManagementRoutes = createRouter<ConversationServices>()
  .openapi(updateChat, async (c) => {
    return c.json(await c.get('services').chats.update(c.get('principal').projectId, c.req.valid('param').chat_id, c.req.valid('json')), 200)
  })
  .openapi(updateChatStatus, async (c) => {
    return c.json(await c.get('services').chats.setStatus(c.get('principal').projectId, c.req.valid('param').chat_id, c.req.valid('json').status), 200)
  })
  .openapi(deleteChat, async (c) => {
    const { chat_id } = c.req.valid('param')
    await c.get('services').chats.delete(c.get('principal').projectId, chat_id)
    return c.json({ id: chat_id, deleted: true as const }, 200)
  })
