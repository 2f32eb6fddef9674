import { createRoute, z } from '@hono/zod-openapi'
import { AppError } from '../../../platform/errors.ts'
import { storableTextProblem } from '../../../platform/http/fields.ts'
import { createRouter, errorResponses, jsonContent } from '../../../platform/http/router.ts'
import { access } from '../../../platform/http/access.ts'
import { fileTypeLabel, supportedFormat, SUPPORTED_EXTENSIONS } from '../vector-stores/extract.ts'
import type { FileService } from './service.ts'
import { DeletedFileSchema, FileListQuery, FileListSchema, FileObjectSchema, FileParams, UploadBody } from './schemas.ts'

const tags = ['Files']

const upload = createRoute({
  ...access('admin'),
  method: 'post', path: '/files', operationId: 'files.create', tags, summary: 'Upload a file (OpenAI-compatible)',
  description: `Multipart: \`file\` and \`purpose\`. Types: ${SUPPORTED_EXTENSIONS.join(', ')}. Larger than WORKEN_FILE_MAX_BYTES (default 50 MiB) → 413.`,
  request: { body: { required: true, content: { 'multipart/form-data': { schema: UploadBody } } } },
  responses: { 200: jsonContent(FileObjectSchema, 'The stored file'), ...errorResponses(400, 403, 422) },
})
const list = createRoute({
  ...access('member'),
  method: 'get', path: '/files', operationId: 'files.list', tags, summary: 'List files (OpenAI-compatible)',
  request: { query: FileListQuery },
  responses: { 200: jsonContent(FileListSchema, 'A page of files'), ...errorResponses(422) },
})
const get = createRoute({
  ...access('member'),
  method: 'get', path: '/files/{file_id}', operationId: 'files.get', tags, summary: 'Get a file (OpenAI-compatible)',
  request: { params: FileParams },
  responses: { 200: jsonContent(FileObjectSchema, 'The file'), ...errorResponses(404) },
})
const content = createRoute({
  ...access('member'),
  method: 'get', path: '/files/{file_id}/content', operationId: 'files.content.get', tags, summary: "A file's bytes (OpenAI-compatible)",
  request: { params: FileParams },
  responses: { 200: { description: 'The bytes as uploaded', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }, ...errorResponses(404) },
})
const remove = createRoute({
  ...access('admin'),
  method: 'delete', path: '/files/{file_id}', operationId: 'files.delete', tags, summary: 'Delete a file (OpenAI-compatible)',
  description: 'Also removes it from every vector store.',
  request: { params: FileParams },
  responses: { 200: jsonContent(DeletedFileSchema, 'Deleted'), ...errorResponses(403, 404) },
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
