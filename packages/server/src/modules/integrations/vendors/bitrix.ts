import { z } from 'zod'
import { nullableVendorId, oauthClientFields, oauthTokenFields, strictObject } from './fields.ts'
import { besideApi, fetchIdentity, fillApiUrl, notAuthorizedYet, refused, textAt } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * Bitrix24: a CRM (OAuth 2.0 of an application installed in the portal). Before OAuth the user
 * gives the portal's address (`mycompany.bitrix24.ru`, or an on-premise one); the callback fills
 * the tokens. The profile is the token's user, the REST method `profile`
 * (https://apidocs.bitrix24.com/api-reference/common/users/profile.html), the token in the `auth`
 * field of the JSON body as the REST API documents.
 */
const auth = strictObject({
  domain: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required (the portal’s address, like mycompany.bitrix24.ru)' : 'must be a string') })
    .trim()
    .toLowerCase()
    .max(253, 'must be at most 253 characters')
    .regex(
      /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
      'must be the portal’s host name alone, like mycompany.bitrix24.ru (no https://, no path, not an IP address)',
    ),
  ...oauthClientFields,
  ...oauthTokenFields,
})

const settings = strictObject({
  /** What the CRM tools create for a new customer: a lead, or a deal. */
  entity: z.enum(['lead', 'deal'], { error: 'must be lead or deal' }).default('lead'),
  /** The deal pipeline (category) deals go to; null: the general one. */
  category_id: nullableVendorId(),
  /** The user new leads and deals are assigned to; null: the user who authorized. */
  responsible_id: nullableVendorId(),
})

const DEFAULT_API_URL = 'https://{domain}'

/** `profile`'s answer. `result` is empty when the user is inactive. */
const Profile = z.object({
  result: z.union([
    z.object({ ID: z.union([z.string(), z.number()]), NAME: z.string().nullish(), LAST_NAME: z.string().nullish(), PERSONAL_PHOTO: z.string().nullish() }),
    z.object({}).strict(),
    z.array(z.never()),
  ]),
})

/**
 * Errors that are a verdict on the token (https://apidocs.bitrix24.com/error-codes.html): an
 * invalid, expired or missing token, a user without rights or access to the application, a portal
 * whose REST API is not available. QUERY_LIMIT_EXCEEDED, OVERLOAD_LIMIT and 5xx are not.
 */
const REFUSALS = new Set(['NO_AUTH_FOUND', 'expired_token', 'invalid_token', 'INVALID_CREDENTIALS', 'ACCESS_DENIED', 'user_access_error', 'insufficient_scope', 'PAYMENT_REQUIRED'])

const portalUrl = (auth: Record<string, unknown>, apiUrl: string) => fillApiUrl(apiUrl, { domain: String(auth.domain) })

export const bitrix: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'bitrix',
  kind: 'crm',
  defaultApiUrl: DEFAULT_API_URL,
  auth,
  settings,
  oauth: {
    // The portal's own page; the redirect URI and the scopes are those of the application's card, and there is no PKCE.
    authorizationUrl: (auth, apiUrl) => `${portalUrl(auth, apiUrl)}/oauth/authorize/`,
    // The authorization server, not the portal; the exchange is a GET with the parameters in the query.
    tokenUrl: (auth, apiUrl) => portalUrl(auth, besideApi(apiUrl, DEFAULT_API_URL, 'https://oauth.bitrix.info/oauth/token/')),
    scopes: [],
    pkce: false,
  },
  async profile(auth, context) {
    if (!auth.access_token) throw notAuthorizedYet()
    const answer = await fetchIdentity(context, {
      vendor: 'Bitrix24',
      url: `${portalUrl(auth, context.apiUrl)}/rest/profile`,
      init: { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ auth: auth.access_token }) },
      refusal: (answer) => {
        const code = textAt(answer.json, 'error')
        if (code === undefined || !(REFUSALS.has(code) || answer.status === 401)) return undefined
        return `${textAt(answer.json, 'error_description') ?? code} (${code})`
      },
      shape: Profile,
    })
    const user = answer.result
    if (Array.isArray(user) || !('ID' in user)) throw refused('Bitrix24', 'the user of this token is inactive')
    const name = [user.NAME, user.LAST_NAME].filter(Boolean).join(' ')
    return {
      id: String(user.ID),
      name: name || `user ${user.ID}`,
      ...(user.PERSONAL_PHOTO ? { avatar_url: user.PERSONAL_PHOTO } : {}),
    }
  },
}
