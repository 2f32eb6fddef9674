import { createRoute } from '@hono/zod-openapi'
import { Deleted, Page } from '../../platform/http/fields.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import { AppError } from '../../platform/errors.ts'
import type { ApiKeyService } from './api-keys.ts'
import type { ProjectService } from './service.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import { ApiKeyCreatedSchema, ApiKeyParams, ApiKeySchema, CreateApiKeyBody, CreateProjectBody, ProjectCreatedSchema, ProjectParams, ProjectSchema } from './schemas.ts'

const tags = ['Projects & API Keys']

const listProjects = createRoute({
  ...access('member'),
  method: 'get', path: '/projects', operationId: 'projects.list', tags, summary: 'List projects',
  description: "The projects of the caller's organization, oldest first, a page at a time (`limit`, `offset`; `X-Total-Count`).",
  request: { query: Page },
  responses: { 200: listContent(ProjectSchema, 'A page of projects'), ...errorResponses(422) },
})

const createProject = createRoute({
  ...access('admin'),
  method: 'post', path: '/projects', operationId: 'projects.create', tags, summary: 'Create a project',
  description:
    "`organization_id` must be the caller's own organization (else 403). The answer carries the project's first API key, `api_key`, shown only once: store it now.",
  request: { body: jsonBody(CreateProjectBody) },
  responses: { 200: jsonContent(ProjectCreatedSchema, 'The new project, with its first API key'), ...errorResponses(400, 403, 422) },
})

const createApiKey = createRoute({
  ...access('admin'),
  method: 'post', path: '/projects/{id}/api-keys', operationId: 'projects.apiKeys.create', tags, summary: 'Create an API key',
  description: 'The key is in this response only. An API key may manage the keys of its own project only (403 for a sibling project).',
  request: { params: ProjectParams, body: jsonBody(CreateApiKeyBody) },
  responses: { 200: jsonContent(ApiKeyCreatedSchema, 'The new key'), ...errorResponses(400, 403, 404, 422) },
})

const listApiKeys = createRoute({
  ...access('admin'),
  method: 'get', path: '/projects/{id}/api-keys', operationId: 'projects.apiKeys.list', tags, summary: 'List API keys',
  description: 'Key metadata, oldest first, a page at a time (`limit`, `offset`; `X-Total-Count`); never the secret.',
  request: { params: ProjectParams, query: Page },
  responses: { 200: listContent(ApiKeySchema, 'A page of keys'), ...errorResponses(403, 404, 422) },
})

const deleteApiKey = createRoute({
  ...access('admin'),
  method: 'delete', path: '/projects/{id}/api-keys/{key_id}', operationId: 'projects.apiKeys.delete', tags, summary: 'Delete an API key',
  description: 'The key stops working at once.',
  request: { params: ApiKeyParams },
  responses: { 200: jsonContent(Deleted, 'The key is gone', { id: 'key_01jdq3v5k7m9p2r4t6w8y0a2c4', deleted: true }), ...errorResponses(403, 404) },
})

/** What the project routes read from the container. */
export type ProjectRouteServices = { projects: ProjectService; apiKeys: ApiKeyService }

export const projectRoutes = createRouter<ProjectRouteServices>()
  .openapi(listProjects, async (c) => {
    const page = await c.get('services').projects.list(c.get('principal'), c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(createProject, async (c) => {
    return c.json(await c.get('services').projects.create(c.get('principal'), c.req.valid('json')), 200)
  })
  .openapi(createApiKey, async (c) => {
    const { projects, apiKeys } = c.get('services')
    const principal = c.get('principal')
    const project = await projects.requireManageable(principal, c.req.valid('param').id)
    const created = await apiKeys.create(project.id, c.req.valid('json').name, { createdByUserId: principal.userId })
    return c.json(created, 200)
  })
  .openapi(listApiKeys, async (c) => {
    const { projects, apiKeys } = c.get('services')
    const project = await projects.requireManageable(c.get('principal'), c.req.valid('param').id)
    const page = await apiKeys.list(project.id, c.req.valid('query'))
    return c.json(page.data, 200, totalHeader(page))
  })
  .openapi(deleteApiKey, async (c) => {
    const { projects, apiKeys } = c.get('services')
    const { id, key_id } = c.req.valid('param')
    const project = await projects.requireManageable(c.get('principal'), id)
    if (!(await apiKeys.delete(project.id, key_id))) throw AppError.notFound('API key', key_id)
    return c.json({ id: key_id, deleted: true as const }, 200)
  })
