import { z } from 'zod'
import { storableTextProblem } from '../../../platform/http/fields.ts'

/*
 * The pieces vendors' `auth` and `settings` schemas are made of. Messages follow the API's 422
 * style: the path names the field (`auth_data.token`), the message says what is wrong with it.
 */

/** "is required" when absent, else "must be a string", each followed by what the field is. */
const stringError = (what: string) => (issue: { input?: unknown }) => (issue.input === undefined ? `is required (${what})` : `must be a string (${what})`)

/**
 * A credential or id the vendor issued: printable ASCII without spaces (what fits in a header, a
 * path or a query), 1–4096 characters. `what` says where the user finds it.
 */
export const credential = (what: string) =>
  z
    .string({ error: stringError(what) })
    .min(1, `must not be empty (${what})`)
    .max(4096, 'must be at most 4096 characters')
    .regex(/^[\x21-\x7e]+$/, `must be printable ASCII without spaces (${what})`)

/** A credential the user may leave out (filled later, e.g. by the OAuth callback). */
export const optionalCredential = (what: string) => credential(what).optional()

/**
 * What the OAuth callback stores once the user has authorized (and what a user may paste instead,
 * e.g. an amoCRM long-lived token). Absent until then; `profile()` without an `access_token` is
 * refused with "not authorized yet".
 */
export const oauthTokenFields = {
  access_token: optionalCredential('the OAuth access token; filled by the OAuth callback'),
  refresh_token: optionalCredential('the OAuth refresh token; filled by the OAuth callback'),
  expires_at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone (when the access token expires)' }).optional(),
}

/**
 * The app registered at the vendor, when this integration uses its own rather than the
 * deployment's (amoCRM and Bitrix24 issue one per account; self-hosters often register their own).
 */
export const oauthClientFields = {
  client_id: optionalCredential('the OAuth client id of the app registered at the vendor'),
  client_secret: optionalCredential('the OAuth client secret of the app registered at the vendor'),
}

/**
 * The strict object every `auth_data` and `settings` is: an unknown field is a 422 naming it
 * ("is not a known field"), as everywhere in the API.
 */
export const strictObject = <Shape extends z.ZodRawShape>(shape: Shape) => z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? 'must be an object' : undefined) })

/** Free text a setting holds (a greeting, a title): trimmed, 1–`max` characters, storable in Postgres. */
export const settingText = (max: number) =>
  z
    .string({ error: 'must be a string or null' })
    .trim()
    .min(1, 'must not be empty (use null for none)')
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, context) => {
      const problem = storableTextProblem(value)
      if (problem) context.addIssue({ code: 'custom', message: problem, input: value })
    })

/** An optional text setting whose default is null (none). */
export const nullableText = (max: number) => settingText(max).nullable().default(null)

/** A positive integer id of the vendor's (a pipeline, a user), or null for the vendor's default. */
export const nullableVendorId = () => z.number({ error: 'must be a positive integer or null' }).int('must be a positive integer or null').positive('must be a positive integer or null').nullable().default(null)

/** The settings of a vendor that has none yet: `{}` (an unknown field is still a 422). */
export const noSettings = () => strictObject({})
