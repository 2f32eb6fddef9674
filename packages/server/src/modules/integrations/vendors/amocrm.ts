import { z } from 'zod'
import { nullableVendorId, oauthClientFields, oauthTokenFields, strictObject } from './fields.ts'
import { besideApi, fetchIdentity, fillApiUrl, notAuthorizedYet, oauthReason } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * amoCRM: a CRM (OAuth 2.0). Before OAuth the user gives the account's subdomain (the spec's
 * `{ subdomain: 'mycompany' }`: mycompany.amocrm.ru); the callback fills the tokens, or the user
 * pastes a long-lived token of a private integration as `access_token`. The profile is the account,
 * `GET /api/v4/account` (https://www.amocrm.ru/developers/content/crm_platform/account-info).
 */
const auth = strictObject({
  subdomain: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required (the account’s subdomain: mycompany for mycompany.amocrm.ru)' : 'must be a string') })
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be the account’s subdomain alone: mycompany for mycompany.amocrm.ru'),
  ...oauthClientFields,
  ...oauthTokenFields,
})

const settings = strictObject({
  /** The pipeline the CRM tools create leads in; null: the account's main pipeline. */
  pipeline_id: nullableVendorId(),
  /** The user new leads and contacts are assigned to; null: the user who authorized. */
  responsible_user_id: nullableVendorId(),
})

/** The account's API lives on its own subdomain; kommo.com accounts set WORKEN_AMOCRM_API_URL=https://{subdomain}.kommo.com. */
const DEFAULT_API_URL = 'https://{subdomain}.amocrm.ru'

/** The account (the fields relied on; the answer has many more). */
const Account = z.object({ id: z.number(), name: z.string(), subdomain: z.string() })

const accountUrl = (auth: Record<string, unknown>, apiUrl: string) => fillApiUrl(apiUrl, { subdomain: String(auth.subdomain) })

export const amocrm: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'amocrm',
  kind: 'crm',
  defaultApiUrl: DEFAULT_API_URL,
  auth,
  settings,
  oauth: {
    // amoCRM's own page: the user picks the account there. It takes client_id, state and mode; the
    // redirect URI and the rights are those of the integration's settings, and there is no PKCE.
    authorizationUrl: (auth, apiUrl) => accountUrl(auth, besideApi(apiUrl, DEFAULT_API_URL, 'https://www.amocrm.ru/oauth')),
    // Per account; the token request is a JSON body (client_id, client_secret, grant_type, code, redirect_uri).
    tokenUrl: (auth, apiUrl) => `${accountUrl(auth, apiUrl)}/oauth2/access_token`,
    scopes: [],
    pkce: false,
  },
  async profile(auth, context) {
    if (!auth.access_token) throw notAuthorizedYet()
    const account = await fetchIdentity(context, {
      vendor: 'amoCRM',
      url: `${accountUrl(auth, context.apiUrl)}/api/v4/account`,
      init: { headers: { authorization: `Bearer ${auth.access_token}` } },
      // 401 (application/problem+json: title, detail); 403 when the account or the integration is blocked.
      refusal: (answer) => (answer.status === 401 || answer.status === 403 ? oauthReason(answer) : undefined),
      shape: Account,
    })
    return { id: String(account.id), name: account.name, username: account.subdomain }
  },
}
