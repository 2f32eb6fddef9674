import { z } from '@hono/zod-openapi'
import { idField, idParam, safeText, timestamp } from '../../../platform/http/fields.ts'
import { ChunkingStrategySchema } from './chunking.ts'
import { AttributeFilterSchema, AttributesSchema } from './filters.ts'

const StaticStrategy = z.object({ type: z.literal('static'), static: z.object({ max_chunk_size_tokens: z.number().int(), chunk_overlap_tokens: z.number().int() }) })

export const FileCountsSchema = z
  .object({ in_progress: z.number().int(), completed: z.number().int(), failed: z.number().int(), cancelled: z.number().int(), total: z.number().int() })
  .openapi('VectorStoreFileCounts', { example: { in_progress: 0, completed: 2, failed: 0, cancelled: 0, total: 2 } })

/** One VectorStore as every example that shows one gives it. */
const VECTOR_STORE_EXAMPLE = {
  id: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4',
  object: 'vector_store',
  name: 'Help center',
  description: 'Return, delivery and warranty articles',
  status: 'ready',
  file_count: 2,
  file_counts: { in_progress: 0, completed: 2, failed: 0, cancelled: 0, total: 2 },
  usage_bytes: 18432,
  created_at: '2026-11-22T12:00:00.000Z',
  last_active_at: '2026-11-22T12:30:00.000Z',
  metadata: { team: 'support' },
  expires_after: null,
  expires_at: null,
} as const

export const VectorStoreSchema = z
  .object({
    id: z.string().openapi({ example: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    object: z.literal('vector_store'),
    name: z.string(),
    description: z.string().nullable(),
    status: z.string().openapi({ description: '`ready`, `indexing` (a file is pending) or `error` (indexing is done and a file failed). Requests from an OpenAI SDK polling helper get OpenAI\'s `completed`/`in_progress`.', example: 'ready' }),
    file_count: z.number().int().openapi({ description: 'Files in the store, whatever their status.' }),
    file_counts: FileCountsSchema,
    usage_bytes: z.number().int().openapi({ description: 'Bytes of the stored chunk text.' }),
    created_at: timestamp(),
    last_active_at: timestamp(),
    metadata: z.record(z.string(), z.string()),
    expires_after: z.object({ anchor: z.literal('last_active_at'), days: z.number().int() }).nullable(),
    expires_at: timestamp().nullable(),
  })
  .openapi('VectorStore', { example: VECTOR_STORE_EXAMPLE })

/** One VectorStoreFile as every example that shows one gives it. */
const VECTOR_STORE_FILE_EXAMPLE = {
  id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
  object: 'vector_store.file',
  vector_store_id: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4',
  filename: 'return-policy.pdf',
  status: 'processed',
  created_at: '2026-11-22T12:00:00.000Z',
  usage_bytes: 9216,
  chunk_count: 12,
  last_error: null,
  attributes: { region: 'eu', year: 2025 },
  chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } },
  batch_id: null,
} as const

export const VectorStoreFileSchema = z
  .object({
    id: z.string().openapi({ description: 'The file id.', example: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    object: z.literal('vector_store.file'),
    vector_store_id: z.string(),
    filename: z.string(),
    status: z.string().openapi({ description: '`pending` → `processed` or `error` (see `last_error`). OpenAI SDK polling helpers get `in_progress`/`completed`/`failed`/`cancelled`.', example: 'processed' }),
    created_at: timestamp(),
    usage_bytes: z.number().int(),
    chunk_count: z.number().int(),
    last_error: z.object({ code: z.string(), message: z.string() }).nullable(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    chunking_strategy: StaticStrategy,
    batch_id: z.string().nullable(),
  })
  .openapi('VectorStoreFile', { example: VECTOR_STORE_FILE_EXAMPLE })

export const FileBatchSchema = z
  .object({
    id: z.string().openapi({ example: 'vsfb_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    object: z.literal('vector_store.files_batch'),
    vector_store_id: z.string(),
    status: z.enum(['in_progress', 'completed', 'cancelled', 'failed']),
    file_counts: FileCountsSchema,
    created_at: timestamp(),
  })
  .openapi('VectorStoreFileBatch', {
    example: {
      id: 'vsfb_01jdq3v5k7m9p2r4t6w8y0a2c4',
      object: 'vector_store.files_batch',
      vector_store_id: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4',
      status: 'in_progress',
      file_counts: { in_progress: 1, completed: 1, failed: 0, cancelled: 0, total: 2 },
      created_at: '2026-11-22T12:00:00.000Z',
    },
  })

/** OpenAI's list page of `item`s; the example is a page of one. */
const listOf = <T extends z.ZodType>(item: T, name: string, example: z.infer<T> & { id: string }) =>
  z.object({ object: z.literal('list'), data: z.array(item), first_id: z.string().nullable(), last_id: z.string().nullable(), has_more: z.boolean() })
    .openapi(name, { example: { object: 'list', data: [example], first_id: example.id, last_id: example.id, has_more: false } })

export const VectorStoreListSchema = listOf(VectorStoreSchema, 'VectorStoreList', VECTOR_STORE_EXAMPLE)
export const VectorStoreFileListSchema = listOf(VectorStoreFileSchema, 'VectorStoreFileList', VECTOR_STORE_FILE_EXAMPLE)

const deleted = <T extends string>(object: T) => z.object({ id: z.string(), object: z.literal(object), deleted: z.literal(true) })

export const DeletedVectorStoreSchema = deleted('vector_store.deleted')
  .openapi('DeletedVectorStore', { example: { id: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4', object: 'vector_store.deleted', deleted: true } })
export const DeletedVectorStoreFileSchema = deleted('vector_store.file.deleted')
  .openapi('DeletedVectorStoreFile', { example: { id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', object: 'vector_store.file.deleted', deleted: true } })

/** The `filter` of file lists: the spec's statuses and OpenAI's words for them. */
export const FILE_STATUS_FILTERS = ['pending', 'processed', 'error', 'in_progress', 'completed', 'failed', 'cancelled'] as const

const cursorId = idField('an object id from a previous page')
/** OpenAI's list parameters. */
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: 'At most this many objects, 1–100 (default 20); `has_more` says whether more follow.' }),
  order: z.enum(['asc', 'desc']).default('desc').openapi({ description: 'By creation time (default `desc`).' }),
  after: cursorId.optional().openapi({ description: 'The `last_id` of the previous page: the objects after it.' }),
  before: cursorId.optional().openapi({ description: 'The `first_id` of the next page: the objects before it.' }),
})
export const FileListQuery = ListQuery.extend({
  filter: z.enum(FILE_STATUS_FILTERS).optional().openapi({ description: 'By status: the spec\'s `pending`/`processed`/`error` or OpenAI\'s `in_progress`/`completed`/`failed`/`cancelled`.' }),
})

const metadata = z
  .record(safeText().min(1).max(64), safeText().max(512))
  .refine((value) => Object.keys(value).length <= 16, 'at most 16 keys')
  .openapi({ description: 'Up to 16 keys (≤ 64 characters) with string values (≤ 512 characters).' })
const expiresAfter = z.strictObject({ anchor: z.literal('last_active_at'), days: z.number().int().min(1).max(365) })
const name = safeText().max(256, 'must be at most 256 characters')
const fileId = idField('a file id')

export const CreateStoreBody = z
  .strictObject({
    name: name.optional(),
    description: safeText().max(512).nullable().optional(),
    file_ids: z.array(fileId).max(500).optional(),
    metadata: metadata.nullable().optional(),
    expires_after: expiresAfter.nullable().optional(),
    chunking_strategy: ChunkingStrategySchema.optional(),
  })
  .openapi('VectorStoreCreate', {
    example: { name: 'Help center', description: 'Return, delivery and warranty articles', file_ids: ['file_01jdq3v5k7m9p2r4t6w8y0a2c4'], metadata: { team: 'support' } },
  })

export const UpdateStoreBody = z
  .strictObject({ name: name.nullable().optional(), metadata: metadata.nullable().optional(), expires_after: expiresAfter.nullable().optional() })
  .openapi('VectorStoreUpdate', { example: { name: 'Help center (2026)', expires_after: { anchor: 'last_active_at', days: 30 } } })

export const AddFileBody = z
  .strictObject({ file_id: fileId, attributes: AttributesSchema.nullable().optional(), chunking_strategy: ChunkingStrategySchema.optional() })
  .openapi('VectorStoreFileCreate', { example: { file_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', attributes: { region: 'eu', year: 2025 } } })

/** The multipart form of adding a file: the upload itself, with the same options as JSON text fields. */
export const AddFileUpload = z
  .object({
    file: z.instanceof(File).openapi({ type: 'string', format: 'binary' }),
    attributes: z.string().optional().openapi({ description: 'JSON object, as in the JSON form.' }),
    chunking_strategy: z.string().optional().openapi({ description: 'JSON object, as in the JSON form.' }),
  })
  .openapi('VectorStoreFileUpload')

export const UpdateFileBody = z
  .strictObject({ attributes: AttributesSchema.nullable() })
  .openapi('VectorStoreFileUpdate', { example: { attributes: { region: 'eu', year: 2026, public: true } } })

export const CreateBatchBody = z
  .strictObject({
    file_ids: z.array(fileId).optional(),
    files: z.array(z.strictObject({ file_id: fileId, attributes: AttributesSchema.nullable().optional(), chunking_strategy: ChunkingStrategySchema.optional() })).optional(),
    attributes: AttributesSchema.nullable().optional(),
    chunking_strategy: ChunkingStrategySchema.optional(),
  })
  .openapi('VectorStoreFileBatchCreate', {
    example: { file_ids: ['file_01jdq3v5k7m9p2r4t6w8y0a2c4', 'file_01jdq3v5k7m9p2r4t6w8y0a2c5'], attributes: { region: 'eu' } },
  })

export const SearchBody = z
  .strictObject({
    query: z.union([safeText().max(4096), z.array(safeText().max(4096)).min(1).max(10)]),
    max_num_results: z.number().int().min(1).max(50).default(10),
    filters: AttributeFilterSchema.optional(),
    ranking_options: z.strictObject({
      ranker: z.enum(['none', 'auto', 'default-2024-11-15']).optional(),
      score_threshold: z.number().min(0).max(1).optional(),
      hybrid_search: z.strictObject({
        embedding_weight: z.number().min(0).max(100),
        text_weight: z.number().min(0).max(100),
      }).refine((weights) => weights.embedding_weight + weights.text_weight > 0, 'one weight must be above 0').optional()
        .openapi({ description: 'How much vector similarity and full text each count in the fusion (OpenAI\'s hybrid_search); 0 leaves one out. Default 1 and 1.' }),
    }).optional(),
    rewrite_query: z.boolean().optional().openapi({ description: 'Accepted; queries are used as given (see docs/knowledge-bases.md).' }),
  })
  .openapi('VectorStoreSearch', {
    example: { query: 'How long do I have to return an item?', max_num_results: 5, filters: { type: 'eq', key: 'region', value: 'eu' } },
  })

/** A matching chunk, in OpenAI's search result shape (`vector_store.search_results.page` items). */
export const SearchResultSchema = z
  .object({
    file_id: z.string(),
    filename: z.string(),
    /** 0–1, higher is better (see docs/knowledge-bases.md: normalised reciprocal rank fusion). */
    score: z.number(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
    /** Extension: the store the chunk came from (several may be searched at once). */
    vector_store_id: z.string(),
  })
  .openapi('VectorStoreSearchResult', {
    example: {
      file_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
      filename: 'return-policy.pdf',
      score: 0.82,
      attributes: { region: 'eu', year: 2025 },
      content: [{ type: 'text', text: 'You can return any item within 30 days of delivery, unworn and in its original packaging.' }],
      vector_store_id: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4',
    },
  })

export const SearchPageSchema = z
  .object({
    object: z.literal('vector_store.search_results.page'),
    search_query: z.array(z.string()),
    data: z.array(SearchResultSchema),
    has_more: z.boolean(),
    next_page: z.null(),
    search_mode: z.enum(['hybrid', 'full_text']).openapi({ description: '`full_text` where the database has no pgvector.' }),
  })
  .openapi('VectorStoreSearchPage', {
    example: {
      object: 'vector_store.search_results.page',
      search_query: ['How long do I have to return an item?'],
      data: [{
        file_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
        filename: 'return-policy.pdf',
        score: 0.82,
        attributes: { region: 'eu', year: 2025 },
        content: [{ type: 'text', text: 'You can return any item within 30 days of delivery, unworn and in its original packaging.' }],
        vector_store_id: 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4',
      }],
      has_more: false,
      next_page: null,
      search_mode: 'hybrid',
    },
  })

export const FileContentPageSchema = z
  .object({
    object: z.literal('vector_store.file_content.page'),
    file_id: z.string(),
    filename: z.string(),
    data: z.array(z.object({ type: z.literal('text'), text: z.string() })),
    has_more: z.boolean(),
    next_page: z.null(),
  })
  .openapi('VectorStoreFileContent', {
    example: {
      object: 'vector_store.file_content.page',
      file_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
      filename: 'return-policy.pdf',
      data: [{ type: 'text', text: 'Returns\n\nYou can return any item within 30 days of delivery, unworn and in its original packaging.' }],
      has_more: false,
      next_page: null,
    },
  })

export const StoreParams = z.object({ vector_store_id: idParam('vector_store_id', 'vs_01jdq3v5k7m9p2r4t6w8y0a2c4') })
export const StoreFileParams = StoreParams.extend({ file_id: idParam('file_id', 'file_01jdq3v5k7m9p2r4t6w8y0a2c4') })
export const BatchParams = StoreParams.extend({ batch_id: idParam('batch_id', 'vsfb_01jdq3v5k7m9p2r4t6w8y0a2c4') })
