import { z } from 'zod'
import { credential, nullableText, strictObject } from './fields.ts'
import { fetchIdentity, textAt } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * MAX (the messenger's Bot API): a live channel. `auth_data` is the bot's token (business.max.ru ›
 * Chat bots › the bot › Settings). The profile is the bot, from `GET /me`
 * (https://dev.max.ru/docs-api/methods/GET/me), the token in the `Authorization` header as it is
 * (no scheme; MAX no longer accepts it in the query).
 */
const auth = strictObject({
  access_token: credential('the bot’s token: business.max.ru › Chat bots › the bot › Settings'),
})

const settings = strictObject({
  /** Sent when a user starts the bot (the `bot_started` update); null: the bot answers it. */
  start_message: nullableText(4000),
  /** How updates arrive: `webhook` (POST /subscriptions), `polling` (GET /updates), or `auto` (webhook when the server has a public https URL, else polling). */
  mode: z.enum(['auto', 'webhook', 'polling'], { error: 'must be one of auto, webhook, polling' }).default('auto'),
})

/** `BotInfo` (User › UserWithPhoto › BotInfo). `name` is the deprecated twin of `first_name`. */
const BotInfo = z
  .object({
    user_id: z.number(),
    first_name: z.string().optional(),
    name: z.string().nullish(),
    username: z.string().nullish(),
    is_bot: z.boolean(),
    avatar_url: z.string().optional(),
  })
  .refine((bot) => Boolean(bot.first_name ?? bot.name))

export const max: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'max',
  kind: 'channel',
  defaultApiUrl: 'https://platform-api2.max.ru',
  auth,
  settings,
  async profile({ access_token }, context) {
    const bot = await fetchIdentity(context, {
      vendor: 'MAX',
      url: `${context.apiUrl}/me`,
      init: { headers: { authorization: access_token } },
      // 401 "Invalid access_token"; the documented example of a refused token is `{ "code": "verify.token" }`.
      refusal: (answer) =>
        answer.status === 401 || textAt(answer.json, 'code') === 'verify.token' ? (textAt(answer.json, 'message', 'code') ?? `HTTP ${answer.status}`) : undefined,
      shape: BotInfo,
    })
    return {
      id: String(bot.user_id),
      name: (bot.first_name ?? bot.name)!,
      ...(bot.username ? { username: bot.username } : {}),
      ...(bot.avatar_url ? { avatar_url: bot.avatar_url } : {}),
    }
  },
}
