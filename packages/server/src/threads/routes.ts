import { createRoute, z } from '@hono/zod-openapi'
import { idParam } from '../http/fields.ts'
import { createRouter, errorResponses, jsonContent } from '../http/router.ts'

const getMemory = createRoute({
  method: 'get', path: '/threads/{thread_id}/memory', tags: ['Threads'], summary: 'Get working memory',
  description: "The thread's working memory (Markdown), or null when the model has not written one.",
  request: { params: z.object({ thread_id: idParam('thread_id', 'support-42') }) },
  responses: { 200: jsonContent(z.object({ content: z.string().nullable() }).openapi('WorkingMemory'), 'The working memory'), ...errorResponses(404) },
})

export const threadRoutes = createRouter().openapi(getMemory, async (c) => {
  return c.json(await c.get('services').threads.workingMemory(c.get('principal').projectId, c.req.valid('param').thread_id), 200)
})
