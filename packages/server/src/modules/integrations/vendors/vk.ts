import { z } from 'zod'
import { credential, nullableText, strictObject } from './fields.ts'
import { fetchIdentity } from './http.ts'
import type { VendorDefinition } from './types.ts'

/** The VK API version the calls are made in (https://dev.vk.com/ru/reference/versions). */
export const VK_API_VERSION = '5.199'

/**
 * VK (communities' messages): a live channel. `auth_data` is a community access token (the spec's
 * `{ access_token: 'vk1.a…' }`). The profile is the community itself: `groups.getById` without a
 * group id answers the token's own community (https://dev.vk.com/ru/method/groups.getById), the token
 * sent as `Authorization: Bearer` (https://dev.vk.com/ru/api/api-requests).
 */
const auth = strictObject({
  access_token: credential('a community access token: the community’s Manage › API usage › Access tokens'),
})

const settings = strictObject({
  /** Sent when a user presses "Start" (the `{"command":"start"}` payload); null: the bot answers it. */
  start_message: nullableText(4096),
  /** How events arrive: `callback` (Callback API), `long_poll` (Bots Long Poll API), or `auto` (Callback API when the server has a public https URL, else Long Poll). */
  mode: z.enum(['auto', 'callback', 'long_poll'], { error: 'must be one of auto, callback, long_poll' }).default('auto'),
})

/** `groups.getById` in 5.199 (https://github.com/VKCOM/vk-api-schema, `groups_getById_object_response`). */
const GroupsGetById = z.object({
  response: z.object({
    groups: z.array(z.object({ id: z.number(), name: z.string(), screen_name: z.string().optional(), photo_200: z.string().optional() })).min(1),
  }),
})

/** VK's error answer (`base_error`): `{ error: { error_code, error_msg, request_params } }`, with HTTP 200. */
const VkError = z.object({ error: z.object({ error_code: z.number(), error_msg: z.string().optional() }) })

/**
 * Codes that are a verdict on the token: 5 (authorization failed: invalid or revoked token), 15
 * (access denied), 28 (application authorization failed), 100 (no group id: the token is a user's,
 * not a community's). Others (6 too many requests, 10 internal error, …) are not.
 */
const REFUSALS = new Set([5, 15, 28, 100])

export const vk: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'vk',
  kind: 'channel',
  defaultApiUrl: 'https://api.vk.com',
  auth,
  settings,
  async profile({ access_token }, context) {
    const answer = await fetchIdentity(context, {
      vendor: 'VK',
      url: `${context.apiUrl}/method/groups.getById?v=${VK_API_VERSION}`,
      init: { headers: { authorization: `Bearer ${access_token}` } },
      refusal: (answer) => {
        const error = VkError.safeParse(answer.json)
        if (!error.success || !REFUSALS.has(error.data.error.error_code)) return undefined
        const hint = error.data.error.error_code === 100 ? ' (a community access token is needed)' : ''
        return `${error.data.error.error_msg ?? 'error'} (code ${error.data.error.error_code})${hint}`
      },
      shape: GroupsGetById,
    })
    const group = answer.response.groups[0]!
    return {
      id: String(group.id),
      name: group.name,
      ...(group.screen_name ? { username: group.screen_name } : {}),
      ...(group.photo_200 ? { avatar_url: group.photo_200 } : {}),
    }
  },
}
