import { z } from 'zod'
import { noSettings, oauthClientFields, oauthTokenFields, strictObject } from './fields.ts'
import { besideApi, fetchIdentity, notAuthorizedYet, oauthReason } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * Yandex (Yandex ID): a connected account (OAuth). Nothing is needed before OAuth; the callback
 * fills the tokens. The profile is the token's user, `GET https://login.yandex.ru/info?format=json`
 * with `Authorization: OAuth <token>` (https://yandex.ru/dev/id/doc/en/user-information).
 */
const auth = strictObject({ ...oauthClientFields, ...oauthTokenFields })

/** No options yet. */
const settings = noSettings()

const DEFAULT_API_URL = 'https://login.yandex.ru'

/** The user information; the name, e-mail and avatar fields come with the login:info, login:email and login:avatar rights. */
const Info = z.object({
  id: z.string(),
  login: z.string(),
  display_name: z.string().optional(),
  real_name: z.string().optional(),
  default_email: z.string().optional(),
  default_avatar_id: z.string().optional(),
  is_avatar_empty: z.boolean().optional(),
})

export const yandex: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'yandex',
  kind: 'account',
  defaultApiUrl: DEFAULT_API_URL,
  auth,
  settings,
  oauth: {
    authorizationUrl: (_auth, apiUrl) => besideApi(apiUrl, DEFAULT_API_URL, 'https://oauth.yandex.ru/authorize'),
    tokenUrl: (_auth, apiUrl) => besideApi(apiUrl, DEFAULT_API_URL, 'https://oauth.yandex.ru/token'),
    scopes: ['login:info', 'login:email', 'login:avatar'],
    pkce: true,
  },
  async profile({ access_token }, context) {
    if (!access_token) throw notAuthorizedYet()
    const user = await fetchIdentity(context, {
      vendor: 'Yandex',
      url: `${context.apiUrl}/info?format=json`,
      init: { headers: { authorization: `OAuth ${access_token}` } },
      refusal: (answer) => (answer.status === 401 || answer.status === 403 ? oauthReason(answer) : undefined),
      shape: Info,
    })
    // Avatars are served as https://avatars.yandex.net/get-yapic/<default_avatar_id>/<size>.
    // The id has a slash of its own (`31804/BYkog…-1`), so it is checked rather than encoded.
    const avatarId = user.default_avatar_id && !user.is_avatar_empty && /^[\w/-]+$/.test(user.default_avatar_id) ? user.default_avatar_id : undefined
    const avatar = avatarId ? `https://avatars.yandex.net/get-yapic/${avatarId}/islands-200` : undefined
    return {
      id: user.id,
      name: user.display_name || user.real_name || user.login,
      username: user.login,
      ...(avatar ? { avatar_url: avatar } : {}),
    }
  },
}
