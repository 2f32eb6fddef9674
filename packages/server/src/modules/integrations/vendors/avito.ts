import { z } from 'zod'
import { credential, noSettings, strictObject } from './fields.ts'
import { callVendor, fetchIdentity, oauthReason, readIdentity } from './http.ts'
import type { VendorContext, VendorDefinition } from './types.ts'

/**
 * Avito (Avito Messenger): a live channel. Avito's API authorizes an account's own integration by
 * client credentials (https://developers.avito.ru/api-catalog/auth/documentation#operation/getAccessToken):
 * `auth_data` is the client_id and client_secret of avito.ru/professionals/api, exchanged for a
 * short-lived token at `POST /token` whenever one is needed, so there is no OAuth redirect. The
 * profile is the account, `GET /core/v1/accounts/self`
 * (https://developers.avito.ru/api-catalog/user/documentation#operation/getUserInfoSelf).
 */
const auth = strictObject({
  client_id: credential('the Client ID of avito.ru/professionals/api'),
  client_secret: credential('the Client Secret of avito.ru/professionals/api'),
})

/** No options yet. */
const settings = noSettings()

/** `POST /token`'s answer. */
const Token = z.object({ access_token: z.string().min(1), expires_in: z.number(), token_type: z.string().optional() })

/** The account (`id` is the user_id of the Messenger API's paths). */
const Self = z.object({ id: z.number(), name: z.string(), email: z.string().optional(), profile_url: z.string().optional() })

/**
 * A token for the account's own API calls: the client credentials exchanged at `POST /token` (form
 * `grant_type=client_credentials&client_id=…&client_secret=…`). A 4xx, or an OAuth error body
 * (`{ error, error_description }`, RFC 6749 §5.2) instead of a token, is a refusal of the credentials.
 */
export async function avitoAccessToken(credentials: { client_id: string; client_secret: string }, context: VendorContext): Promise<z.output<typeof Token>> {
  const answer = await callVendor(context, 'Avito', `${context.apiUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.client_id, client_secret: credentials.client_secret }).toString(),
  })
  return readIdentity(answer, {
    vendor: 'Avito',
    refusal: (answer) => {
      const oauthError = answer.json !== null && typeof answer.json === 'object' && 'error' in answer.json && !('access_token' in answer.json)
      return (answer.status >= 400 && answer.status < 500 && answer.status !== 429) || (answer.status === 200 && oauthError) ? oauthReason(answer) : undefined
    },
    shape: Token,
  })
}

export const avito: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'avito',
  kind: 'channel',
  defaultApiUrl: 'https://api.avito.ru',
  auth,
  settings,
  async profile(credentials, context) {
    const token = await avitoAccessToken(credentials, context)
    const account = await fetchIdentity(context, {
      vendor: 'Avito',
      url: `${context.apiUrl}/core/v1/accounts/self`,
      init: { headers: { authorization: `Bearer ${token.access_token}` } },
      refusal: (answer) => (answer.status === 401 || answer.status === 403 ? oauthReason(answer) : undefined),
      shape: Self,
    })
    return { id: String(account.id), name: account.name, ...(account.email ? { username: account.email } : {}) }
  },
}
