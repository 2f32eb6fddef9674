import { createRoute, z } from '@hono/zod-openapi'
import { AppError } from '../../../platform/errors.ts'
import { idParam, storableTextProblem } from '../../../platform/http/fields.ts'
import { createRouter, errorResponses, jsonContent } from '../../../platform/http/router.ts'
import { fileTypeLabel, supportedFormat, SUPPORTED_EXTENSIONS } from '../vector-stores/extract.ts'
import { FILE_PURPOSES, type FileService } from './service.ts'

const tags = ['Files']

export const FileObjectSchema = z
  .object({
    id: z.string().openapi({ example: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: z.number().int().openapi({ description: 'Unix seconds (OpenAI).' }),
    filename: z.string(),
    purpose: z.string(),
    status: z.literal('processed'),
    expires_at: z.null(),
    status_details: z.null(),
  })
  .openapi('File', {
    example: { id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', object: 'file', bytes: 48213, created_at: 1795348800, filename: 'return-policy.pdf', purpose: 'assistants', status: 'processed', expires_at: null, status_details: null },
  })

const FileParams = z.object({ file_id: idParam('file_id', 'file_01jdq3v5k7m9p2r4t6w8y0a2c4') })

export const UploadBody = z
  .object({
    file: z.instanceof(File).openapi({ type: 'string', format: 'binary' }),
    purpose: z.enum(FILE_PURPOSES).openapi({ description: 'OpenAI\'s purposes; knowledge bases use `assistants`.' }),
  })
  .openapi('FileUpload')

const upload = createRoute({
  method: 'post', path: '/files', operationId: 'files.create', tags, summary: 'Upload a file (OpenAI-compatible)',
  description: `Multipart: \`file\` and \`purpose\`. Types: ${SUPPORTED_EXTENSIONS.join(', ')}. Larger than WORKEN_FILE_MAX_BYTES (default 50 MiB) → 413.`,
  request: { body: { required: true, content: { 'multipart/form-data': { schema: UploadBody } } } },
  responses: { 200: jsonContent(FileObjectSchema, 'The stored file'), ...errorResponses(400, 422) },
})
const list = createRoute({
  method: 'get', path: '/files', operationId: 'files.list', tags, summary: 'List files (OpenAI-compatible)',
  request: {
    query: z.object({
      purpose: z.string().max(64).optional(),
      limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
      order: z.enum(['asc', 'desc']).default('desc'),
      after: z.string().max(128).optional(),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ object: z.literal('list'), data: z.array(FileObjectSchema), first_id: z.string().nullable(), last_id: z.string().nullable(), has_more: z.boolean() }).openapi('FileList', {
        example: {
          object: 'list',
          data: [{ id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', object: 'file', bytes: 48213, created_at: 1795348800, filename: 'return-policy.pdf', purpose: 'assistants', status: 'processed', expires_at: null, status_details: null }],
          first_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
          last_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
          has_more: false,
        },
      }),
      'A page of files',
    ),
    ...errorResponses(422),
  },
})
const get = createRoute({
  method: 'get', path: '/files/{file_id}', operationId: 'files.get', tags, summary: 'Get a file (OpenAI-compatible)',
  request: { params: FileParams },
  responses: { 200: jsonContent(FileObjectSchema, 'The file'), ...errorResponses(404) },
})
const content = createRoute({
  method: 'get', path: '/files/{file_id}/content', operationId: 'files.content.get', tags, summary: "A file's bytes (OpenAI-compatible)",
  request: { params: FileParams },
  responses: { 200: { description: 'The bytes as uploaded', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }, ...errorResponses(404) },
})
const remove = createRoute({
  method: 'delete', path: '/files/{file_id}', operationId: 'files.delete', tags, summary: 'Delete a file (OpenAI-compatible)',
  description: 'Also removes it from every vector store.',
  request: { params: FileParams },
  responses: {
    200: jsonContent(
      z.object({ id: z.string(), object: z.literal('file'), deleted: z.literal(true) })
        .openapi('DeletedFile', { example: { id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', object: 'file', deleted: true } }),
      'Deleted',
    ),
    ...errorResponses(404),
  },
})

/** The upload's checks beyond the schema: its size, a usable name and a type we can index. */
export function checkUpload(file: File, maxBytes: number): { filename: string; mimeType: string | null } {
  if (file.size > maxBytes) throw new AppError('payload_too_large', `The file is larger than ${maxBytes} bytes (WORKEN_FILE_MAX_BYTES)`)
  const filename = file.name.trim()
  if (!filename || filename.length > 255) throw AppError.validation([{ path: 'file', message: 'the file name must be 1–255 characters' }])
  const problem = storableTextProblem(filename)
  if (problem) throw AppError.validation([{ path: 'file', message: `the file name ${problem}` }])
  const mimeType = file.type ? file.type.split(';')[0]!.trim().toLowerCase() : null
  if (!supportedFormat(filename, mimeType)) {
    throw AppError.validation([{ path: 'file', message: `unsupported file type '${fileTypeLabel(filename, mimeType)}'; supported: ${SUPPORTED_EXTENSIONS.join(', ')}` }])
  }
  return { filename, mimeType }
}

/** What the file routes read from the container. */
export type FileRouteServices = { files: FileService; fileMaxBytes: number }

export const fileRoutes = createRouter<FileRouteServices>()
  .openapi(upload, async (c) => {
    const { file, purpose } = c.req.valid('form')
    const { filename, mimeType } = checkUpload(file, c.get('services').fileMaxBytes)
    const bytes = new Uint8Array(await file.arrayBuffer())
    return c.json(await c.get('services').files.create(c.get('principal').projectId, { filename, purpose, mimeType, bytes }), 200)
  })
  .openapi(list, async (c) => {
    const query = c.req.valid('query')
    return c.json(await c.get('services').files.list(c.get('principal').projectId, query), 200)
  })
  .openapi(get, async (c) => c.json(await c.get('services').files.get(c.get('principal').projectId, c.req.valid('param').file_id), 200))
  .openapi(content, async (c) => {
    const { row, bytes } = await c.get('services').files.content(c.get('principal').projectId, c.req.valid('param').file_id)
    return new Response(bytes, {
      status: 200,
      headers: {
        'content-type': row.mimeType ?? 'application/octet-stream',
        'content-length': String(bytes.byteLength),
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(row.filename)}`,
        'x-request-id': c.get('requestId'),
      },
    }) as never
  })
  .openapi(remove, async (c) => c.json(await c.get('services').files.delete(c.get('principal').projectId, c.req.valid('param').file_id), 200))
