import { z } from 'zod'
import { credential, optionalCredential, strictObject } from './fields.ts'
import { fetchIdentity } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * WhatsApp (the Cloud API of the WhatsApp Business Platform): a live channel. `auth_data` names the
 * business phone number and holds the token that may act for it (a System User access token) and
 * the Meta app's secret, which signs the webhooks (`X-Hub-Signature-256`). The profile is the phone
 * number node, `GET /<phone_number_id>` of the Graph API with the token as a Bearer header
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/phone-numbers).
 */
const auth = strictObject({
  access_token: credential('a System User access token with the whatsapp_business_messaging permission'),
  phone_number_id: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required (the Phone number ID shown in the app’s WhatsApp › API Setup)' : 'must be a string of digits') })
    .regex(/^\d{1,32}$/, 'must be the numeric Phone number ID (WhatsApp › API Setup), not the phone number itself'),
  app_secret: credential('the Meta app’s App Secret (App settings › Basic); it verifies the webhooks’ signatures').min(16, 'must be the App Secret (App settings › Basic), at least 16 characters'),
  /** The token Meta echoes when it verifies the webhook address; when absent, the channel picks one. */
  verify_token: optionalCredential('the Verify token entered with the webhook’s callback URL'),
  /** The WhatsApp Business Account the number belongs to (templates, webhook subscription). */
  business_account_id: z.string({ error: 'must be a string of digits' }).regex(/^\d{1,32}$/, 'must be the numeric WhatsApp Business Account ID').optional(),
})

const settings = strictObject({
  /** Mark each message the bot handles as read (blue ticks). */
  mark_as_read: z.boolean({ error: 'must be true or false' }).default(true),
})

/** The phone number node (fields `id,display_phone_number,verified_name`). */
const PhoneNumber = z.object({ id: z.string(), display_phone_number: z.string(), verified_name: z.string() })

/** A Graph API error (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
const GraphError = z.object({
  error: z.object({ message: z.string().optional(), type: z.string().optional(), code: z.number(), error_subcode: z.number().optional() }),
})

/**
 * Graph API codes that are a verdict on the credentials: 190 (the token is invalid or expired), 102
 * (session), 10 and 200–299 (a permission is missing), 100 with subcode 33 (no such phone number
 * for this token). Rate limits (4, 17, 32, 613, 80007…) and service errors (1, 2) are not.
 */
function isRefusal(code: number, subcode: number | undefined): boolean {
  return code === 190 || code === 102 || code === 10 || (code >= 200 && code <= 299) || (code === 100 && subcode === 33)
}

export const whatsapp: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'whatsapp',
  kind: 'channel',
  defaultApiUrl: 'https://graph.facebook.com/v23.0',
  auth,
  settings,
  async profile({ access_token, phone_number_id }, context) {
    const number = await fetchIdentity(context, {
      vendor: 'WhatsApp',
      url: `${context.apiUrl}/${phone_number_id}?fields=id,display_phone_number,verified_name`,
      init: { headers: { authorization: `Bearer ${access_token}` } },
      refusal: (answer) => {
        const error = GraphError.safeParse(answer.json)
        if (!error.success || !isRefusal(error.data.error.code, error.data.error.error_subcode)) return undefined
        return `${error.data.error.message ?? error.data.error.type ?? 'Graph API error'} (code ${error.data.error.code})`
      },
      shape: PhoneNumber,
    })
    return { id: number.id, name: number.verified_name, username: number.display_phone_number }
  },
}
