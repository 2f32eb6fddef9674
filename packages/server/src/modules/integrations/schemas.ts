import { z } from '@hono/zod-openapi'
import { idParam, nameField, timestamp } from '../../platform/http/fields.ts'
import { ChatSettingsField } from '../conversations/index.ts'
import { INTEGRATION_VENDORS } from './vendors/types.ts'

export const IntegrationVendorSchema = z.enum(INTEGRATION_VENDORS).openapi('IntegrationVendor')
export const IntegrationStatusSchema = z.enum(['active', 'disabled', 'error']).openapi('IntegrationStatus')

/** The spec's `Integration`, plus `status_reason` and `settings` (extensions). `auth_data` is never returned. */
export const IntegrationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    vendor: IntegrationVendorSchema,
    status: IntegrationStatusSchema,
    project_id: z.string(),
    created_at: timestamp(),
    updated_at: timestamp(),
    status_reason: z.string().nullable().openapi({ description: 'Extension: why the integration is in `error` (the vendor refused its credentials); null otherwise.' }),
    settings: z.record(z.string(), z.unknown()).openapi({ description: "Extension: the vendor's settings (docs/integrations.md), defaults filled in." }),
  })
  .openapi('Integration', {
    example: {
      id: 'int_01jdq3v5k7m9p2r4t6w8y0a2c4', name: 'Support bot', vendor: 'telegram', status: 'active', project_id: 'prj_01jdq3v5k7m9p2r4t6w8y0a2c4',
      created_at: '2026-11-22T12:00:00.000Z', updated_at: '2026-11-22T12:00:00.000Z', status_reason: null, settings: { start_message: null },
    },
  })

const credentials = () =>
  ChatSettingsField().openapi({
    description: "The vendor's credentials (docs/integrations.md lists each vendor's fields). Validated against the vendor's schema, stored encrypted, never returned.",
    example: { token: '7123456789:AAH-example-token-0123456789abcdefghi' },
  })
const vendorSettings = () =>
  ChatSettingsField().openapi({ description: "The vendor's settings (docs/integrations.md); on update merged into the stored ones (JSON Merge Patch).", example: { start_message: 'Hello! How can we help?' } })

export const CreateIntegrationBody = z
  .strictObject({ name: nameField(), vendor: IntegrationVendorSchema, auth_data: credentials(), settings: vendorSettings().optional() })
  .openapi('CreateIntegrationBody', { example: { name: 'Support bot', vendor: 'telegram', auth_data: { token: '7123456789:AAH-example-token-0123456789abcdefghi' } } })

export const UpdateIntegrationBody = z
  .strictObject({
    name: nameField().optional(),
    status: IntegrationStatusSchema.optional().openapi({ description: '`active` or `disabled`; `error` is set by the server only (422 if sent).' }),
    auth_data: credentials().optional().openapi({ description: 'Merged into the stored credentials (JSON Merge Patch: `null` removes a field), then validated whole. New credentials clear an `error` status.' }),
    settings: vendorSettings().optional(),
  })
  .openapi('UpdateIntegrationBody', { example: { name: 'Support bot (EU)', settings: { start_message: 'Hallo!' } } })

export const IntegrationProfileSchema = z
  .object({ id: z.string(), name: z.string(), username: z.string().optional(), avatar_url: z.string().optional() })
  .openapi('IntegrationProfile', { example: { id: '7123456789', name: 'Acme Support', username: 'acme_support_bot' } })

export const OAuthStartSchema = z.object({ url: z.string() }).openapi('OAuthStart', { example: { url: 'https://mycompany.amocrm.test/oauth?client_id=…&state=…' } })

export const IntegrationParams = z.object({ id: idParam('id', 'int_01jdq3v5k7m9p2r4t6w8y0a2c4') })
export const IntegrationChatParams = z.object({
  id: idParam('id', 'int_01jdq3v5k7m9p2r4t6w8y0a2c4'),
  chat_id: idParam('chat_id', 'chat_01jdq3v5k7m9p2r4t6w8y0a2c4'),
})
