import { Api } from 'grammy'
import type { InboundAdapter, InboundMessage } from '../inbound.ts'
import { sendTyping } from './send.ts'

/** The parts of a Telegram `Update` the engine reads (core.telegram.org/bots/api#update). */
type TelegramUser = { id: number; is_bot?: boolean; first_name?: string; last_name?: string; username?: string }
type TelegramMessage = { message_id: number; chat: { id: number; type?: string }; from?: TelegramUser; text?: string; caption?: string }
export type TelegramUpdate = { update_id: number; message?: TelegramMessage; edited_message?: TelegramMessage }

/** The update's unique key: Telegram numbers updates per bot, and re-sends one until it is acknowledged. */
export function telegramUpdateKey(update: unknown): string | null {
  const id = (update as { update_id?: unknown } | null)?.update_id
  return typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : null
}

/**
 * A user's text message in an update. Edits (`edited_message`) and deletions are not answered: the
 * bot answered the words as first sent, and a second answer to a corrected typo would be noise
 * (docs/integrations.md). Messages from other bots and service messages are not answered either.
 */
export const telegramInbound: InboundAdapter = {
  vendor: 'telegram',
  parse(payload: unknown): InboundMessage | null {
    const message = (payload as TelegramUpdate | null)?.message
    if (!message || typeof message.chat?.id !== 'number') return null
    const from = message.from
    if (!from || from.is_bot) return null
    const text = message.text ?? message.caption
    if (typeof text !== 'string' || text.trim() === '') return null
    const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || (from.username ? `@${from.username}` : undefined)
    return {
      externalChatId: String(message.chat.id),
      externalUserId: String(from.id),
      name,
      text,
      start: /^\/start(@\w+)?(\s|$)/.test(text),
    }
  },
  async typing({ auth, apiUrl, externalChatId, signal }) {
    await sendTyping(new Api(String(auth.token), { apiRoot: apiUrl }), externalChatId, { signal })
  },
}
