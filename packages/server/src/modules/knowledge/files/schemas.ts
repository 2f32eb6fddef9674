import { z } from '@hono/zod-openapi'
import { idField, idParam, safeText } from '../../../platform/http/fields.ts'

/** OpenAI's purposes; knowledge bases use `assistants` (any is accepted, as OpenAI does for vector stores). */
export const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const

/** A file, as every example that shows one gives it. */
const FILE_EXAMPLE = {
  id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4',
  object: 'file',
  bytes: 48213,
  created_at: 1795348800,
  filename: 'return-policy.pdf',
  purpose: 'assistants',
  status: 'processed',
  expires_at: null,
  status_details: null,
} as const

/** OpenAI's `file` object. */
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
  .openapi('File', { example: FILE_EXAMPLE })

export const FileParams = z.object({ file_id: idParam('file_id', 'file_01jdq3v5k7m9p2r4t6w8y0a2c4') })

export const UploadBody = z
  .object({
    file: z.instanceof(File).openapi({ type: 'string', format: 'binary' }),
    purpose: z.enum(FILE_PURPOSES).openapi({ description: 'OpenAI\'s purposes; knowledge bases use `assistants`.' }),
  })
  .openapi('FileUpload')

export const FileListQuery = z.object({
  purpose: safeText().max(64).optional().openapi({ description: 'Only files with this purpose.' }),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000).openapi({ description: "At most this many files, 1–10,000 (default 10,000, as OpenAI's); `has_more` says whether more follow." }),
  order: z.enum(['asc', 'desc']).default('desc').openapi({ description: 'By creation time (default `desc`).' }),
  after: idField('a file id').optional().openapi({ description: 'The `last_id` of the previous page: the files after it.' }),
})

export const FileListSchema = z
  .object({ object: z.literal('list'), data: z.array(FileObjectSchema), first_id: z.string().nullable(), last_id: z.string().nullable(), has_more: z.boolean() })
  .openapi('FileList', {
    example: { object: 'list', data: [FILE_EXAMPLE], first_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', last_id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', has_more: false },
  })

export const DeletedFileSchema = z
  .object({ id: z.string(), object: z.literal('file'), deleted: z.literal(true) })
  .openapi('DeletedFile', { example: { id: 'file_01jdq3v5k7m9p2r4t6w8y0a2c4', object: 'file', deleted: true } })
