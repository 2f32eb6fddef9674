import { createRoute } from '@hono/zod-openapi'
import { Deleted, Page } from '../../platform/http/fields.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import type { BotService } from './service.ts'
import { BotParams, BotSchema, CreateBotBody, UpdateBotBody, UpdateBotStatusBody } from './schemas.ts'
import { BotSettingsPatchSchema, BotSettingsSchema } from './settings.ts'

const tags = ['Bots']

const listBots = createRoute({
  ...access('member'),
  method: 'get', path: '/bots', operationId: 'bots.list', tags, summary: 'List bots',
  description: 'The bots of the project, oldest first, a page at a time: 100 without `limit` (at most 1000); `X-Total-Count` says how many there are.',
  request: { query: Page },
  responses: { 200: listContent(BotSchema, 'A page of bots'), ...errorResponses(422) },
})

const createBot = createRoute({
  ...access('admin'),
  method: 'post', path: '/bots', operationId: 'bots.create', tags, summary: 'Create a bot',
  description: 'A new bot with the default settings (see docs/bots.md).',
  request: { body: jsonBody(CreateBotBody) },
  responses: { 200: jsonContent(BotSchema, 'The new bot'), ...errorResponses(400, 403, 422) },
})

const getBot = createRoute({
  ...access('member'),
  method: 'get', path: '/bots/{bot_id}', operationId: 'bots.get', tags, summary: 'Get a bot',
  request: { params: BotParams },
  responses: { 200: jsonContent(BotSchema, 'The bot'), ...errorResponses(404) },
})

const updateBot = createRoute({
  ...access('admin'),
  method: 'post', path: '/bots/{bot_id}', operationId: 'bots.update', tags, summary: 'Update a bot',
  request: { params: BotParams, body: jsonBody(UpdateBotBody) },
  responses: { 200: jsonContent(BotSchema, 'The updated bot'), ...errorResponses(400, 403, 404, 422) },
})

const updateBotStatus = createRoute({
  ...access('admin'),
  method: 'post', path: '/bots/{bot_id}/status', operationId: 'bots.status.update', tags, summary: 'Update bot status',
  request: { params: BotParams, body: jsonBody(UpdateBotStatusBody) },
  responses: { 200: jsonContent(BotSchema, 'The updated bot'), ...errorResponses(400, 403, 404, 422) },
})

const getBotSettings = createRoute({
  ...access('member'),
  method: 'get', path: '/bots/{bot_id}/settings', operationId: 'bots.settings.get', tags, summary: 'Get bot settings',
  request: { params: BotParams },
  responses: { 200: jsonContent(BotSettingsSchema, 'The settings'), ...errorResponses(404) },
})

const updateBotSettings = createRoute({
  ...access('admin'),
  method: 'post', path: '/bots/{bot_id}/settings', operationId: 'bots.settings.update', tags, summary: 'Update bot settings',
  description:
    'A deep partial update: only the fields given change. The merged settings are validated as a whole; unknown keys are refused. A tool set to `null` is removed from `ai.tools`.',
  request: { params: BotParams, body: jsonBody(BotSettingsPatchSchema) },
  responses: { 200: jsonContent(BotSettingsSchema, 'The settings after the update'), ...errorResponses(400, 403, 404, 422) },
})

const cloneBot = createRoute({
  ...access('admin'),
  method: 'post', path: '/bots/{bot_id}/clone', operationId: 'bots.clone', tags, summary: 'Clone a bot',
  description: 'A new bot with identical settings and description, named "<name> (copy)", status `active`.',
  request: { params: BotParams },
  responses: { 200: jsonContent(BotSchema, 'The new bot'), ...errorResponses(403, 404) },
})

const deleteBot = createRoute({
  ...access('admin'),
  method: 'post', path: '/bots/{bot_id}/delete', operationId: 'bots.delete', tags, summary: 'Delete a bot',
  request: { params: BotParams },
  responses: { 200: jsonContent(Deleted, 'The bot is gone'), ...errorResponses(403, 404) },
})

/** What the bot routes read from the container. */
export type BotRouteServices = { bots: BotService }

export const botRoutes = createRouter<BotRouteServices>()
  .openapi(listBots, async (c) => {
    const page = await c.get('services').bots.list(c.get('principal').projectId, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(createBot, async (c) => {
    const bot = await c.get('services').bots.create(c.get('principal').projectId, c.req.valid('json'))
    return c.json(bot, 200)
  })
  .openapi(getBot, async (c) => {
    const bot = await c.get('services').bots.get(c.get('principal').projectId, c.req.valid('param').bot_id)
    return c.json(bot, 200)
  })
  .openapi(updateBot, async (c) => {
    const bot = await c.get('services').bots.update(c.get('principal').projectId, c.req.valid('param').bot_id, c.req.valid('json'))
    return c.json(bot, 200)
  })
  .openapi(updateBotStatus, async (c) => {
    const { status } = c.req.valid('json')
    const bot = await c.get('services').bots.setStatus(c.get('principal').projectId, c.req.valid('param').bot_id, status)
    return c.json(bot, 200)
  })
  .openapi(getBotSettings, async (c) => {
    const settings = await c.get('services').bots.getSettings(c.get('principal').projectId, c.req.valid('param').bot_id)
    return c.json(settings, 200)
  })
  .openapi(updateBotSettings, async (c) => {
    const settings = await c.get('services').bots.updateSettings(c.get('principal').projectId, c.req.valid('param').bot_id, c.req.valid('json'))
    return c.json(settings, 200)
  })
  .openapi(cloneBot, async (c) => {
    const bot = await c.get('services').bots.clone(c.get('principal').projectId, c.req.valid('param').bot_id)
    return c.json(bot, 200)
  })
  .openapi(deleteBot, async (c) => {
    const { bot_id } = c.req.valid('param')
    await c.get('services').bots.delete(c.get('principal').projectId, bot_id)
    return c.json({ id: bot_id, deleted: true as const }, 200)
  })
