import { z } from 'zod'
import { noSettings, oauthClientFields, oauthTokenFields, strictObject } from './fields.ts'
import { besideApi, fetchIdentity, notAuthorizedYet, oauthReason } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * GitHub: a connected account (OAuth app). Nothing is needed before OAuth; the callback fills the
 * token. The profile is the authenticated user, `GET /user`
 * (https://docs.github.com/en/rest/users/users#get-the-authenticated-user).
 */
const auth = strictObject({ ...oauthClientFields, ...oauthTokenFields })

/** No options yet. */
const settings = noSettings()

const DEFAULT_API_URL = 'https://api.github.com'

/** The authenticated user (public fields only are relied on). */
const User = z.object({ login: z.string(), id: z.number(), name: z.string().nullish(), avatar_url: z.string().nullish() })

/**
 * Where GitHub's OAuth pages are: github.com beside api.github.com; on GitHub Enterprise Server the
 * API is `https://<host>/api/v3` and OAuth is at `https://<host>/login/oauth/…`.
 */
function oauthUrl(apiUrl: string, path: string): string {
  if (apiUrl.endsWith('/api/v3')) return `${apiUrl.slice(0, -'/api/v3'.length)}${path}`
  return besideApi(apiUrl, DEFAULT_API_URL, `https://github.com${path}`)
}

export const github: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'github',
  kind: 'account',
  defaultApiUrl: DEFAULT_API_URL,
  auth,
  settings,
  oauth: {
    authorizationUrl: (_auth, apiUrl) => oauthUrl(apiUrl, '/login/oauth/authorize'),
    tokenUrl: (_auth, apiUrl) => oauthUrl(apiUrl, '/login/oauth/access_token'),
    scopes: ['read:user', 'user:email'],
    pkce: true,
  },
  async profile({ access_token }, context) {
    if (!access_token) throw notAuthorizedYet()
    const user = await fetchIdentity(context, {
      vendor: 'GitHub',
      url: `${context.apiUrl}/user`,
      init: {
        headers: {
          authorization: `Bearer ${access_token}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          // GitHub refuses requests without a User-Agent.
          'user-agent': 'Worken',
        },
      },
      // 401 "Bad credentials"; a 403 is a refusal too unless it is the rate limit speaking.
      refusal: (answer) => {
        const rateLimited = answer.headers.get('x-ratelimit-remaining') === '0' || answer.headers.has('retry-after')
        return answer.status === 401 || (answer.status === 403 && !rateLimited) ? oauthReason(answer) : undefined
      },
      shape: User,
    })
    return {
      id: String(user.id),
      name: user.name || user.login,
      username: user.login,
      ...(user.avatar_url ? { avatar_url: user.avatar_url } : {}),
    }
  },
}
