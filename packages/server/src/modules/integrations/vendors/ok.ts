import { z } from 'zod'
import { credential, noSettings, strictObject } from './fields.ts'
import { fetchIdentity } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * OK (Odnoklassniki group messages, the Bot API): a live channel. `auth_data` is the group's Bot API
 * token (the group's Settings › Messages › "Get access key"). The profile is the token's group, from
 * `GET /graph/me/info` (https://apiok.ru/dev/graph_api/methods/graph.user/graph.user.info/get), the
 * token in the `access_token` query parameter as the Graph API documents.
 */
const auth = strictObject({
  access_token: credential('the group’s Bot API access key: the group’s Settings › Messages › Get access key'),
})

/** No options yet. */
const settings = noSettings()

/** `me/info` for a group token: `{ name, group_id: "group:<id>" }`. */
const MeInfo = z.object({ name: z.string(), group_id: z.string().regex(/^group:\w+$/) })

/** The OK API's error answer: `{ error_code, error_msg, error_data }`. */
const OkError = z.object({ error_code: z.number(), error_msg: z.string().optional() })

/**
 * Codes that are a verdict on the token: 10 PERMISSION_DENIED, 100 PARAM (no token), 101
 * PARAM_API_KEY, 102 PARAM_SESSION_EXPIRED, 103 PARAM_SESSION_KEY (invalid). Others (1 UNKNOWN, 2
 * SERVICE, 8 FLOOD_BLOCKED, …) are not.
 */
const REFUSALS = new Set([10, 100, 101, 102, 103])

export const ok: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'ok',
  kind: 'channel',
  defaultApiUrl: 'https://api.ok.ru/graph',
  auth,
  settings,
  async profile({ access_token }, context) {
    const info = await fetchIdentity(context, {
      vendor: 'OK',
      url: `${context.apiUrl}/me/info?access_token=${encodeURIComponent(access_token)}`,
      refusal: (answer) => {
        const error = OkError.safeParse(answer.json)
        if (!error.success || !REFUSALS.has(error.data.error_code)) return undefined
        return `${error.data.error_msg ?? 'error'} (code ${error.data.error_code})`
      },
      shape: MeInfo,
    })
    return { id: info.group_id.slice('group:'.length), name: info.name }
  },
}
