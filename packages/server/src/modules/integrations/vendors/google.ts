import { z } from 'zod'
import { noSettings, oauthClientFields, oauthTokenFields, strictObject } from './fields.ts'
import { besideApi, fetchIdentity, notAuthorizedYet, oauthReason } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * Google: a connected account (OAuth 2.0 / OpenID Connect). Nothing is needed before OAuth; the
 * callback fills the tokens. The profile is the OpenID Connect UserInfo of the token's user
 * (`userinfo_endpoint` of https://accounts.google.com/.well-known/openid-configuration).
 */
const auth = strictObject({ ...oauthClientFields, ...oauthTokenFields })

/** No options yet. */
const settings = noSettings()

const DEFAULT_API_URL = 'https://openidconnect.googleapis.com'

/** UserInfo claims (https://developers.google.com/identity/openid-connect/openid-connect#obtainuserinfo). */
const UserInfo = z.object({ sub: z.string(), name: z.string().optional(), email: z.string().optional(), picture: z.string().optional() })

export const google: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'google',
  kind: 'account',
  defaultApiUrl: DEFAULT_API_URL,
  auth,
  settings,
  oauth: {
    // A refresh token comes only with offline access, and again only on a fresh consent.
    authorizationUrl: (_auth, apiUrl) => besideApi(apiUrl, DEFAULT_API_URL, 'https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent'),
    tokenUrl: (_auth, apiUrl) => besideApi(apiUrl, DEFAULT_API_URL, 'https://oauth2.googleapis.com/token'),
    scopes: ['openid', 'email', 'profile'],
    pkce: true,
  },
  async profile({ access_token }, context) {
    if (!access_token) throw notAuthorizedYet()
    const user = await fetchIdentity(context, {
      vendor: 'Google',
      url: `${context.apiUrl}/v1/userinfo`,
      init: { headers: { authorization: `Bearer ${access_token}` } },
      refusal: (answer) => (answer.status === 401 || answer.status === 403 ? oauthReason(answer) : undefined),
      shape: UserInfo,
    })
    return {
      id: user.sub,
      name: user.name || user.email || user.sub,
      ...(user.email ? { username: user.email } : {}),
      ...(user.picture ? { avatar_url: user.picture } : {}),
    }
  },
}
