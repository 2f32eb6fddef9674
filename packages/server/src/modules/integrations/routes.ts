import { createRoute } from '@hono/zod-openapi'
import { access } from '../../platform/http/access.ts'
import { Deleted, Page } from '../../platform/http/fields.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent } from '../../platform/http/router.ts'
import { ChatSchema, CreateChatBody, UpdateChatBody, UpdateChatStatusBody, type ChatService } from '../conversations/index.ts'
import type { OAuthFlow } from './oauth/flow.ts'
import { CreateIntegrationBody, IntegrationChatParams, IntegrationParams, IntegrationProfileSchema, IntegrationSchema, OAuthStartSchema, UpdateIntegrationBody } from './schemas.ts'
import type { IntegrationService } from './service.ts'

/** What the integration routes use from the container. */
export type IntegrationRouteServices = { integrations: IntegrationService; chats: ChatService; oauth: OAuthFlow }

const tags = ['Integrations']

const listIntegrations = createRoute({
  ...access('member'),
  method: 'get', path: '/integrations', operationId: 'integrations.list', tags, summary: 'List integrations',
  description: 'Oldest first, a page at a time (`limit`, `offset`; `X-Total-Count`). Credentials are never returned.',
  request: { query: Page },
  responses: { 200: listContent(IntegrationSchema, 'A page of integrations'), ...errorResponses(422) },
})

const createIntegration = createRoute({
  ...access('admin'),
  method: 'post', path: '/integrations', operationId: 'integrations.create', tags, summary: 'Create an integration',
  description: "`auth_data` is validated against the vendor's schema (docs/integrations.md; a wrong or missing field is 422 naming it), stored encrypted and never returned.",
  request: { body: jsonBody(CreateIntegrationBody) },
  responses: { 200: jsonContent(IntegrationSchema, 'The integration'), ...errorResponses(400, 403, 422) },
})

const getIntegration = createRoute({
  ...access('member'),
  method: 'get', path: '/integrations/{id}', operationId: 'integrations.get', tags, summary: 'Get an integration',
  request: { params: IntegrationParams },
  responses: { 200: jsonContent(IntegrationSchema, 'The integration'), ...errorResponses(404) },
})

const updateIntegration = createRoute({
  ...access('admin'),
  method: 'post', path: '/integrations/{id}', operationId: 'integrations.update', tags, summary: 'Update an integration',
  description: '`auth_data` and `settings` are merged into the stored ones (JSON Merge Patch) and validated whole; `status` may be `active` or `disabled`.',
  request: { params: IntegrationParams, body: jsonBody(UpdateIntegrationBody) },
  responses: { 200: jsonContent(IntegrationSchema, 'The integration'), ...errorResponses(400, 403, 404, 422) },
})

const deleteIntegration = createRoute({
  ...access('admin'),
  method: 'delete', path: '/integrations/{id}', operationId: 'integrations.delete', tags, summary: 'Delete an integration',
  description: 'The integration and its chats, with their threads and messages, are removed (one `chat.deleted` per chat, then `integration.deleted`).',
  request: { params: IntegrationParams },
  responses: { 200: jsonContent(Deleted, 'The integration is gone'), ...errorResponses(403, 404) },
})

const getProfile = createRoute({
  ...access('member'),
  method: 'get', path: '/integrations/{id}/profile', operationId: 'integrations.profile.get', tags, summary: 'Get integration profile',
  description: "Calls the vendor with the stored credentials and returns the identity they authenticate. A refusal sets the integration's status to `error` (422 `credentials_refused`); a vendor that cannot be reached is 502 `vendor_unavailable`.",
  request: { params: IntegrationParams },
  responses: { 200: jsonContent(IntegrationProfileSchema, 'The authenticated identity'), ...errorResponses(404, 422, 502) },
})

const startOAuth = createRoute({
  ...access('admin'),
  method: 'post', path: '/integrations/{id}/oauth/start', operationId: 'integrations.oauth.start', tags, summary: 'Start OAuth',
  description:
    "For a vendor that connects through OAuth (amoCRM, Bitrix24, GitHub, Google, Yandex, Sber): the vendor's authorization URL to send the user to, with a " +
    'state and a PKCE challenge kept by the server (single use, valid 10 minutes). The vendor sends the user back to `<WORKEN_PUBLIC_URL>/oauth/callback`, ' +
    "which stores the tokens in the integration's encrypted credentials and sets it `active` (docs/integrations.md, \"OAuth\"). 422 for a vendor without OAuth, " +
    'an integration without `auth_data.client_id`, or a server without WORKEN_PUBLIC_URL.',
  request: { params: IntegrationParams },
  responses: { 200: jsonContent(OAuthStartSchema, 'Where to send the user'), ...errorResponses(403, 404, 422) },
})

const listChats = createRoute({
  ...access('member'),
  method: 'get', path: '/integrations/{id}/chats', operationId: 'integrations.chats.list', tags, summary: 'List chats for this integration',
  request: { params: IntegrationParams, query: Page },
  responses: { 200: listContent(ChatSchema, 'A page of the integration\'s chats, oldest first'), ...errorResponses(404, 422) },
})

const createChat = createRoute({
  ...access('admin'),
  method: 'post', path: '/integrations/{id}/chats', operationId: 'integrations.chats.create', tags, summary: 'Create a chat for this integration',
  description: "The bot that answers the integration's conversations.",
  request: { params: IntegrationParams, body: jsonBody(CreateChatBody) },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(400, 403, 404, 409, 422) },
})

const updateChat = createRoute({
  ...access('admin'),
  method: 'post', path: '/integrations/{id}/chats/{chat_id}', operationId: 'integrations.chats.update', tags, summary: 'Update a chat of this integration',
  request: { params: IntegrationChatParams, body: jsonBody(UpdateChatBody) },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(400, 403, 404, 409, 422) },
})

const updateChatStatus = createRoute({
  ...access('admin'),
  method: 'post', path: '/integrations/{id}/chats/{chat_id}/status', operationId: 'integrations.chats.status.update', tags, summary: 'Activate or deactivate a chat of this integration',
  request: { params: IntegrationChatParams, body: jsonBody(UpdateChatStatusBody) },
  responses: { 200: jsonContent(ChatSchema, 'The chat'), ...errorResponses(400, 403, 404, 422) },
})

const deleteChat = createRoute({
  ...access('admin'),
  method: 'delete', path: '/integrations/{id}/chats/{chat_id}', operationId: 'integrations.chats.delete', tags, summary: 'Delete a chat of this integration',
  request: { params: IntegrationChatParams },
  responses: { 200: jsonContent(Deleted, 'The chat is gone'), ...errorResponses(403, 404) },
})

/** The spec's Integrations API. A chat of another integration (or none) is as unknown under these routes as a missing one. */
export const integrationRoutes = createRouter<IntegrationRouteServices>()
  .openapi(listIntegrations, async (c) => {
    const page = await c.get('services').integrations.list(c.get('principal').projectId, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(createIntegration, async (c) => c.json(await c.get('services').integrations.create(c.get('principal').projectId, c.req.valid('json')), 200))
  .openapi(getIntegration, async (c) => c.json(await c.get('services').integrations.get(c.get('principal').projectId, c.req.valid('param').id), 200))
  .openapi(updateIntegration, async (c) => c.json(await c.get('services').integrations.update(c.get('principal').projectId, c.req.valid('param').id, c.req.valid('json')), 200))
  .openapi(deleteIntegration, async (c) => {
    const { id } = c.req.valid('param')
    await c.get('services').integrations.delete(c.get('principal').projectId, id)
    return c.json({ id, deleted: true as const }, 200)
  })
  .openapi(getProfile, async (c) => c.json(await c.get('services').integrations.profile(c.get('principal').projectId, c.req.valid('param').id), 200))
  .openapi(startOAuth, async (c) => c.json(await c.get('services').oauth.start(c.get('principal').projectId, c.req.valid('param').id), 200))
  .openapi(listChats, async (c) => {
    const { projectId } = c.get('principal')
    const { id } = c.req.valid('param')
    await c.get('services').integrations.requireRow(projectId, id)
    const page = await c.get('services').chats.list(projectId, c.req.valid('query'), id)
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(createChat, async (c) => {
    const { projectId } = c.get('principal')
    const { id } = c.req.valid('param')
    await c.get('services').integrations.requireRow(projectId, id)
    return c.json(await c.get('services').chats.create(projectId, c.req.valid('json'), id), 200)
  })
  .openapi(updateChat, async (c) => {
    const { id, chat_id } = c.req.valid('param')
    return c.json(await c.get('services').chats.update(c.get('principal').projectId, chat_id, c.req.valid('json'), id), 200)
  })
  .openapi(updateChatStatus, async (c) => {
    const { id, chat_id } = c.req.valid('param')
    return c.json(await c.get('services').chats.setStatus(c.get('principal').projectId, chat_id, c.req.valid('json').status, id), 200)
  })
  .openapi(deleteChat, async (c) => {
    const { id, chat_id } = c.req.valid('param')
    await c.get('services').chats.delete(c.get('principal').projectId, chat_id, id)
    return c.json({ id: chat_id, deleted: true as const }, 200)
  })
