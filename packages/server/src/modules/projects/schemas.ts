import { z } from '@hono/zod-openapi'
import { idField, idParam, nameField, timestamp } from '../../platform/http/fields.ts'

export const ProjectSchema = z
  .object({
    id: z.string().openapi({ example: 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
    name: z.string(),
    organization_id: z.string(),
    avatar_url: z.string().nullable(),
    created_at: timestamp(),
  })
  .openapi('Project', {
    example: { id: 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4', name: 'Production', organization_id: 'org_01jdq3v5k7m9p2r4t6w8y0a2c4', avatar_url: null, created_at: '2026-11-22T12:00:00.000Z' },
  })

export const CreateProjectBody = z
  .strictObject({
    name: nameField().openapi({ example: 'Production' }),
    organization_id: idField('an organization id').openapi({ example: 'org_01jdq3v5k7m9p2r4t6w8y0a2c4' }),
  })
  .openapi('CreateProjectBody', { example: { name: 'Production', organization_id: 'org_01jdq3v5k7m9p2r4t6w8y0a2c4' } })

export const ApiKeyCreatedSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    key: z.string().openapi({ description: 'Shown only once — store it securely.', example: 'sk-3f9a…' }),
    prefix: z.string().openapi({ description: 'Extension: the first characters of the key, shown in listings.' }),
    created_at: timestamp(),
  })
  .openapi('ApiKeyCreated', {
    example: {
      id: 'key_01jdq3v5k7m9p2r4t6w8y0a2c4',
      name: 'production-server',
      key: 'sk-3f9a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8',
      prefix: 'sk-3f9a1b2c',
      created_at: '2026-11-22T12:00:00.000Z',
    },
  })

export const ProjectCreatedSchema = ProjectSchema.extend({
  api_key: ApiKeyCreatedSchema.openapi({
    description:
      "Extension: the new project's first API key (named `default`), shown only once. A key reaches its own project only, so this is the way in to the new project on the public API.",
  }),
}).openapi('ProjectCreated', {
  example: {
    id: 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4',
    name: 'Production',
    organization_id: 'org_01jdq3v5k7m9p2r4t6w8y0a2c4',
    avatar_url: null,
    created_at: '2026-11-22T12:00:00.000Z',
    api_key: { id: 'key_01jdq3v5k7m9p2r4t6w8y0a2c5', name: 'default', key: 'sk-3f9a1b2c4d5e6f708192a3b4c5d6e7f8', prefix: 'sk-3f9a1b2c', created_at: '2026-11-22T12:00:00.000Z' },
  },
})

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'Extension: the first characters of the key.', example: 'sk-3f9a1b2c' }),
    last_used_at: timestamp().nullable().openapi({ description: 'Updated at most once a minute per key and server process.' }),
    created_at: timestamp(),
  })
  .openapi('ApiKey', {
    example: { id: 'key_01jdq3v5k7m9p2r4t6w8y0a2c4', name: 'production-server', prefix: 'sk-3f9a1b2c', last_used_at: '2026-11-22T12:30:00.000Z', created_at: '2026-11-22T12:00:00.000Z' },
  })

export const CreateApiKeyBody = z.strictObject({ name: nameField().openapi({ example: 'production-server' }) }).openapi('CreateApiKeyBody', { example: { name: 'production-server' } })

export const ProjectParams = z.object({ id: idParam('id', 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4') })
export const ApiKeyParams = ProjectParams.extend({ key_id: idParam('key_id', 'key_01jdq3v5k7m9p2r4t6w8y0a2c4') })
