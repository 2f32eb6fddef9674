import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { checkUpload, type FileRouteServices } from '../files/routes.ts'
import type { KnowledgeBaseService } from './service.ts'
import type { AppEnv } from '../../../platform/http/context.ts'
import { AppError } from '../../../platform/errors.ts'
import { fieldProblems } from '../../../platform/http/errors.ts'
import { createRouter, errorResponses, jsonBody, jsonContent } from '../../../platform/http/router.ts'
import { access } from '../../../platform/http/access.ts'
import { ChunkingStrategySchema } from './chunking.ts'
import { AttributesSchema } from './filters.ts'
import type { Vocabulary } from './objects.ts'
import {
  AddFileBody, AddFileUpload, BatchParams, CreateBatchBody, CreateStoreBody, DeletedVectorStoreFileSchema, DeletedVectorStoreSchema, FileBatchSchema, FileContentPageSchema, FileListQuery, ListQuery,
  SearchBody, SearchPageSchema, StoreFileParams, StoreParams, UpdateFileBody, UpdateStoreBody, VectorStoreFileListSchema, VectorStoreFileSchema,
  VectorStoreListSchema, VectorStoreSchema,
} from './schemas.ts'

const tags = ['Vector stores']

const createStore = createRoute({
  ...access('admin'),
  method: 'post', path: '/vector_stores', operationId: 'vectorStores.create', tags, summary: 'Create a vector store',
  description: 'Optionally with `file_ids` (files of this project, indexed in the background), `metadata`, `expires_after` and the `chunking_strategy` for those files.',
  request: { body: jsonBody(CreateStoreBody) },
  responses: { 200: jsonContent(VectorStoreSchema, 'The store'), ...errorResponses(400, 403, 422) },
})
const listStores = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores', operationId: 'vectorStores.list', tags, summary: 'List vector stores',
  request: { query: ListQuery },
  responses: { 200: jsonContent(VectorStoreListSchema, 'A page of stores (OpenAI\'s list shape)'), ...errorResponses(422) },
})
const getStore = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores/{vector_store_id}', operationId: 'vectorStores.get', tags, summary: 'Get a vector store',
  request: { params: StoreParams },
  responses: { 200: jsonContent(VectorStoreSchema, 'The store'), ...errorResponses(404) },
})
const updateStore = createRoute({
  ...access('admin'),
  method: 'post', path: '/vector_stores/{vector_store_id}', operationId: 'vectorStores.update', tags, summary: 'Update a vector store',
  request: { params: StoreParams, body: jsonBody(UpdateStoreBody) },
  responses: { 200: jsonContent(VectorStoreSchema, 'The store'), ...errorResponses(400, 403, 404, 422) },
})
const deleteStore = createRoute({
  ...access('admin'),
  method: 'delete', path: '/vector_stores/{vector_store_id}', operationId: 'vectorStores.delete', tags, summary: 'Delete a vector store',
  description: 'The store, its chunks and embeddings. The files themselves stay (see `DELETE /files/:id`).',
  request: { params: StoreParams },
  responses: { 200: jsonContent(DeletedVectorStoreSchema, 'Deleted'), ...errorResponses(403, 404) },
})
const search = createRoute({
  ...access('member'),
  method: 'post', path: '/vector_stores/{vector_store_id}/search', operationId: 'vectorStores.search', tags, summary: 'Search a vector store',
  description: 'Hybrid: vector similarity and full text fused by reciprocal rank fusion; full text only where the database has no pgvector (`search_mode`). Scores are in (0, 1].',
  request: { params: StoreParams, body: jsonBody(SearchBody) },
  responses: { 200: jsonContent(SearchPageSchema, 'The best chunks, best first'), ...errorResponses(400, 404, 422) },
})
const addFile = createRoute({
  ...access('admin'),
  method: 'post', path: '/vector_stores/{vector_store_id}/files', operationId: 'vectorStores.files.create', tags, summary: 'Add a file to a vector store',
  description: 'JSON `{ file_id, attributes?, chunking_strategy? }` for an uploaded file, or a multipart upload (`file`, and `attributes` / `chunking_strategy` as JSON text) that stores the file and adds it at once. Indexing runs in the background: poll the file until `status` is `processed` or `error`. A file already in the store → 409.',
  request: {
    params: StoreParams,
    body: { required: false, content: { 'application/json': { schema: AddFileBody }, 'multipart/form-data': { schema: AddFileUpload } } },
  },
  responses: { 200: jsonContent(VectorStoreFileSchema, 'The file, pending'), ...errorResponses(400, 403, 404, 409, 422) },
})
const listFiles = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores/{vector_store_id}/files', operationId: 'vectorStores.files.list', tags, summary: 'List the files of a vector store',
  request: { params: StoreParams, query: FileListQuery },
  responses: { 200: jsonContent(VectorStoreFileListSchema, 'A page of files'), ...errorResponses(404, 422) },
})
const getFile = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores/{vector_store_id}/files/{file_id}', operationId: 'vectorStores.files.get', tags, summary: 'Get a file of a vector store',
  request: { params: StoreFileParams },
  responses: { 200: jsonContent(VectorStoreFileSchema, 'The file and its indexing status'), ...errorResponses(404) },
})
const updateFile = createRoute({
  ...access('admin'),
  method: 'post', path: '/vector_stores/{vector_store_id}/files/{file_id}', operationId: 'vectorStores.files.update', tags, summary: "Update a file's attributes",
  request: { params: StoreFileParams, body: jsonBody(UpdateFileBody) },
  responses: { 200: jsonContent(VectorStoreFileSchema, 'The file'), ...errorResponses(400, 403, 404, 422) },
})
const removeFile = createRoute({
  ...access('admin'),
  method: 'delete', path: '/vector_stores/{vector_store_id}/files/{file_id}', operationId: 'vectorStores.files.delete', tags, summary: 'Remove a file from a vector store',
  description: 'Its chunks go; the file stays in `/files`.',
  request: { params: StoreFileParams },
  responses: { 200: jsonContent(DeletedVectorStoreFileSchema, 'Removed'), ...errorResponses(403, 404) },
})
const fileContent = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores/{vector_store_id}/files/{file_id}/content', operationId: 'vectorStores.files.content.get', tags, summary: 'The text indexed for a file',
  description: 'The extracted text, put back together from the chunks (empty until the file is processed).',
  request: { params: StoreFileParams },
  responses: { 200: jsonContent(FileContentPageSchema, 'The text'), ...errorResponses(404) },
})
const createBatch = createRoute({
  ...access('admin'),
  method: 'post', path: '/vector_stores/{vector_store_id}/file_batches', operationId: 'vectorStores.fileBatches.create', tags, summary: 'Add files in a batch',
  description: '`file_ids` (with shared `attributes` / `chunking_strategy`) or `files` (each with its own), 1–500 files.',
  request: { params: StoreParams, body: jsonBody(CreateBatchBody) },
  responses: { 200: jsonContent(FileBatchSchema, 'The batch'), ...errorResponses(400, 403, 404, 409, 422) },
})
const getBatch = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}', operationId: 'vectorStores.fileBatches.get', tags, summary: 'Get a file batch',
  request: { params: BatchParams },
  responses: { 200: jsonContent(FileBatchSchema, 'The batch'), ...errorResponses(404) },
})
const cancelBatch = createRoute({
  ...access('admin'),
  method: 'post', path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel', operationId: 'vectorStores.fileBatches.cancel', tags, summary: 'Cancel a file batch',
  description: 'Files not indexed yet end as `error` with `last_error.code` `cancelled`.',
  request: { params: BatchParams },
  responses: { 200: jsonContent(FileBatchSchema, 'The batch'), ...errorResponses(403, 404) },
})
const listBatchFiles = createRoute({
  ...access('member'),
  method: 'get', path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files', operationId: 'vectorStores.fileBatches.files.list', tags, summary: 'List the files of a batch',
  request: { params: BatchParams, query: FileListQuery },
  responses: { 200: jsonContent(VectorStoreFileListSchema, 'A page of files'), ...errorResponses(404, 422) },
})

/** OpenAI's polling helpers wait for their own status words; they say who they are in this header. */
function vocabularyOf(c: Context<AppEnv<VectorStoreRouteServices>>): Vocabulary {
  return c.req.header('x-stainless-poll-helper') === 'true' ? 'openai' : 'spec'
}

/** Tells polling clients (OpenAI's SDKs read this header) how soon to ask again. */
const POLL_AFTER = { 'openai-poll-after-ms': '500' }

/** What the vector store routes read from the container. */
export type VectorStoreRouteServices = FileRouteServices & { vectorStores: KnowledgeBaseService }

export const vectorStoreRoutes = createRouter<VectorStoreRouteServices>()
  .openapi(createStore, async (c) => {
    const body = c.req.valid('json')
    return c.json(await c.get('services').vectorStores.create(c.get('principal').projectId, body), 200)
  })
  .openapi(listStores, async (c) => c.json(await c.get('services').vectorStores.stores.list(c.get('principal').projectId, c.req.valid('query')), 200))
  .openapi(getStore, async (c) => {
    const store = await c.get('services').vectorStores.stores.get(c.get('principal').projectId, c.req.valid('param').vector_store_id, vocabularyOf(c))
    return c.json(store, 200, POLL_AFTER)
  })
  .openapi(updateStore, async (c) => {
    const body = c.req.valid('json')
    const patch = { name: body.name ?? (body.name === null ? '' : undefined), metadata: body.metadata, expiresAfter: body.expires_after }
    return c.json(await c.get('services').vectorStores.stores.update(c.get('principal').projectId, c.req.valid('param').vector_store_id, patch), 200)
  })
  .openapi(deleteStore, async (c) => c.json(await c.get('services').vectorStores.stores.delete(c.get('principal').projectId, c.req.valid('param').vector_store_id), 200))
  .openapi(search, async (c) => {
    const body = c.req.valid('json')
    const { vector_store_id } = c.req.valid('param')
    const projectId = c.get('principal').projectId
    const knowledge = c.get('services').vectorStores
    await knowledge.stores.require(projectId, vector_store_id)
    const queries = typeof body.query === 'string' ? [body.query] : body.query
    const { mode, results } = await knowledge.search.search({
      projectId,
      vectorStoreIds: [vector_store_id],
      queries,
      maxResults: body.max_num_results,
      filters: body.filters,
      scoreThreshold: body.ranking_options?.score_threshold,
      weights: body.ranking_options?.hybrid_search && { embedding: body.ranking_options.hybrid_search.embedding_weight, text: body.ranking_options.hybrid_search.text_weight },
    })
    return c.json({ object: 'vector_store.search_results.page' as const, search_query: queries, data: results, has_more: false, next_page: null, search_mode: mode }, 200)
  })
  .openapi(addFile, async (c) => {
    const projectId = c.get('principal').projectId
    const { vector_store_id } = c.req.valid('param')
    const services = c.get('services')
    const contentType = c.req.header('content-type') ?? ''
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      // Both media types are declared on one route, so each validated target is typed as either body.
      const form = c.req.valid('form') as z.infer<typeof AddFileUpload>
      const { filename, mimeType } = checkUpload(form.file, services.fileMaxBytes)
      const options = {
        attributes: parseJsonField('attributes', form.attributes, AttributesSchema.nullable()),
        chunkingStrategy: parseJsonField('chunking_strategy', form.chunking_strategy, ChunkingStrategySchema),
      }
      const bytes = new Uint8Array(await form.file.arrayBuffer())
      return c.json(await services.vectorStores.upload(projectId, vector_store_id, { filename, mimeType, bytes }, options), 200)
    }
    if (!contentType) throw AppError.badRequest('A JSON body `{ file_id }` or a multipart upload is required')
    const body = c.req.valid('json') as z.infer<typeof AddFileBody>
    return c.json(await services.vectorStores.files.add(projectId, vector_store_id, { fileId: body.file_id, attributes: body.attributes, chunkingStrategy: body.chunking_strategy }), 200)
  })
  .openapi(listFiles, async (c) => {
    const { vector_store_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.list(c.get('principal').projectId, vector_store_id, c.req.valid('query')), 200)
  })
  .openapi(getFile, async (c) => {
    const { vector_store_id, file_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.get(c.get('principal').projectId, vector_store_id, file_id, vocabularyOf(c)), 200, POLL_AFTER)
  })
  .openapi(updateFile, async (c) => {
    const { vector_store_id, file_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.updateAttributes(c.get('principal').projectId, vector_store_id, file_id, c.req.valid('json').attributes), 200)
  })
  .openapi(removeFile, async (c) => {
    const { vector_store_id, file_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.remove(c.get('principal').projectId, vector_store_id, file_id), 200)
  })
  .openapi(fileContent, async (c) => {
    const { vector_store_id, file_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.content(c.get('principal').projectId, vector_store_id, file_id), 200)
  })
  .openapi(createBatch, async (c) => {
    const body = c.req.valid('json')
    const input = {
      fileIds: body.file_ids,
      files: body.files?.map((file) => ({ fileId: file.file_id, attributes: file.attributes ?? body.attributes, chunkingStrategy: file.chunking_strategy ?? body.chunking_strategy })),
      attributes: body.attributes,
      chunkingStrategy: body.chunking_strategy,
    }
    return c.json(await c.get('services').vectorStores.files.createBatch(c.get('principal').projectId, c.req.valid('param').vector_store_id, input), 200)
  })
  .openapi(getBatch, async (c) => {
    const { vector_store_id, batch_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.getBatch(c.get('principal').projectId, vector_store_id, batch_id), 200, POLL_AFTER)
  })
  .openapi(cancelBatch, async (c) => {
    const { vector_store_id, batch_id } = c.req.valid('param')
    return c.json(await c.get('services').vectorStores.files.cancelBatch(c.get('principal').projectId, vector_store_id, batch_id), 200)
  })
  .openapi(listBatchFiles, async (c) => {
    const { vector_store_id, batch_id } = c.req.valid('param')
    const projectId = c.get('principal').projectId
    await c.get('services').vectorStores.files.requireBatch(projectId, vector_store_id, batch_id)
    return c.json(await c.get('services').vectorStores.files.list(projectId, vector_store_id, { ...c.req.valid('query'), batchId: batch_id }), 200)
  })

/** A multipart text field holding JSON, validated like its JSON-body twin. */
function parseJsonField<T extends z.ZodType>(field: string, value: string | undefined, schema: T): z.infer<T> | undefined {
  if (value === undefined || value === '') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw AppError.validation([{ path: field, message: 'must be a JSON value' }])
  }
  const result = schema.safeParse(parsed)
  if (!result.success) throw AppError.validation(fieldProblems(result.error, field))
  return result.data
}
