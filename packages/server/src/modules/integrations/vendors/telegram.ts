import { z } from 'zod'
import { credential, nullableText, strictObject } from './fields.ts'
import { fetchIdentity } from './http.ts'
import type { VendorDefinition } from './types.ts'

/**
 * Telegram: a live channel (a bot). `auth_data` is the bot token @BotFather gives; the profile is
 * the bot's own user, from `getMe` (https://core.telegram.org/bots/api#getme), the token in the
 * path as the Bot API documents (`/bot<token>/getMe`).
 */
const auth = strictObject({
  token: credential('the bot token @BotFather gives, like 123456789:AAH…').regex(
    /^\d{1,20}:[\w.-]{1,200}$/,
    'must look like 123456789:AAH… (the bot id, a colon, then the secret), as @BotFather gives it',
  ),
})

const settings = strictObject({
  /** Sent in reply to /start instead of the bot's own answer; null: the bot answers /start itself. */
  start_message: nullableText(4096),
  /** How updates arrive: `webhook`, `polling` (getUpdates), or `auto` (webhook when the server has a public https URL, else polling). */
  mode: z.enum(['auto', 'webhook', 'polling'], { error: 'must be one of auto, webhook, polling' }).default('auto'),
})

/** `getMe`'s answer (https://core.telegram.org/bots/api#user): `{ ok: true, result: User }`. */
const GetMe = z.object({
  ok: z.literal(true),
  // is_bot is always true for a bot token; read tolerantly (emulators leave it out).
  result: z.object({ id: z.number(), is_bot: z.boolean().optional(), first_name: z.string(), last_name: z.string().optional(), username: z.string().optional() }),
})

/** Telegram's error answer (https://core.telegram.org/bots/api#making-requests): `{ ok: false, error_code, description }`. */
const BotApiError = z.object({ ok: z.literal(false), error_code: z.number(), description: z.string().optional() })

export const telegram: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'telegram',
  kind: 'channel',
  defaultApiUrl: 'https://api.telegram.org',
  auth,
  settings,
  async profile({ token }, context) {
    const answer = await fetchIdentity(context, {
      vendor: 'Telegram',
      url: `${context.apiUrl}/bot${token}/getMe`,
      // 401: a revoked or wrong secret; 404: no bot has this token (its id part is wrong).
      refusal: (answer) => {
        const error = BotApiError.safeParse(answer.json)
        if (!error.success || ![401, 404].includes(error.data.error_code)) return undefined
        return `${error.data.description ?? 'Unauthorized'} (${error.data.error_code})`
      },
      shape: GetMe,
    })
    const bot = answer.result
    return {
      id: String(bot.id),
      name: [bot.first_name, bot.last_name].filter(Boolean).join(' '),
      ...(bot.username ? { username: bot.username } : {}),
    }
  },
}
