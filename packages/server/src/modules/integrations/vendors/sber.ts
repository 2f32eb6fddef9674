import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { credential, noSettings, oauthTokenFields, optionalCredential, strictObject } from './fields.ts'
import { besideApi, fetchIdentity, notAuthorizedYet, oauthReason } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * Sber (Sber ID): a connected account (OpenID Connect). Before OAuth the user gives the client_id of
 * the partner application registered at Sber ID, which every call names (`x-ibm-client-id`); the
 * callback fills the tokens. The profile is the user's data, `GET /ru/prod/sberbankid/v2.1/userinfo`
 * (https://developers.sber.ru/docs/ru/sberid/service/reqdescription/datareq/overview). Sber requires
 * the partner's TLS client certificate on the token and userinfo calls: point WORKEN_SBER_API_URL at
 * a proxy that presents it.
 */
const auth = strictObject({
  client_id: credential('the Client ID of the application registered at Sber ID'),
  client_secret: optionalCredential('the Client Secret of the application registered at Sber ID'),
  ...oauthTokenFields,
})

/** No options yet. */
const settings = noSettings()

const DEFAULT_API_URL = 'https://oauth.sber.ru'

/** The user's claims; which of them come depends on the scopes the partner has. */
const UserInfo = z.object({
  sub: z.string(),
  family_name: z.string().optional(),
  given_name: z.string().optional(),
  email: z.string().optional(),
})

export const sber: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'sber',
  kind: 'account',
  defaultApiUrl: DEFAULT_API_URL,
  auth,
  settings,
  oauth: {
    // Sber ID's page (web to web). It also requires a `nonce` of the caller's; `client_type=PRIVATE` as documented.
    authorizationUrl: (_auth, apiUrl) => besideApi(apiUrl, DEFAULT_API_URL, 'https://online.sberbank.ru/CSAFront/oidc/authorize.do?client_type=PRIVATE'),
    // The token request also carries an `rquid` header (32 hex digits).
    tokenUrl: (_auth, apiUrl) => `${apiUrl}/ru/prod/tokens/v2/oidc`,
    scopes: ['openid', 'name', 'email'],
    pkce: true,
  },
  async profile({ client_id, access_token }, context) {
    if (!access_token) throw notAuthorizedYet()
    const user = await fetchIdentity(context, {
      vendor: 'Sber ID',
      url: `${context.apiUrl}/ru/prod/sberbankid/v2.1/userinfo`,
      init: {
        headers: {
          authorization: `Bearer ${access_token}`,
          'x-ibm-client-id': client_id,
          // A unique id of the request, 32 hex digits, for Sber's logs.
          'x-introspect-rquid': randomBytes(16).toString('hex'),
          accept: 'application/json',
        },
      },
      refusal: (answer) => (answer.status === 401 || answer.status === 403 ? oauthReason(answer) : undefined),
      shape: UserInfo,
    })
    const name = [user.given_name, user.family_name].filter(Boolean).join(' ')
    return { id: user.sub, name: name || user.email || user.sub, ...(user.email ? { username: user.email } : {}) }
  },
}
