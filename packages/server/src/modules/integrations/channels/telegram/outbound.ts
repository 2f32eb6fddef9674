import { grammySignal } from './grammy-signal.ts'
import { Api, GrammyError, HttpError } from 'grammy'
import { CredentialsRefused } from '../../vendors/types.ts'
import { DeliveryDeferred, DeliveryRefused, RecipientGone, type OutboundAdapter } from '../outbound.ts'
import { renderForTelegram } from './format.ts'

/** Telegram's answer when it cannot parse the HTML of a message: the part is sent again as plain text. */
const BAD_MARKUP = /can't parse entities|unsupported start tag|can't find end tag/i
/** The recipient cannot be written to any more (core.telegram.org/bots/faq, "403 Forbidden"). */
const GONE = /bot was blocked by the user|user is deactivated|bot was kicked|chat not found/i

/**
 * A message out to a Telegram chat: the reply's Markdown rendered to Telegram's HTML and split
 * under 4096 characters (format.ts), each part sent in order with `sendMessage`, a part whose markup
 * Telegram refuses sent again as plain text. Parts already sent (a retry after a crash) are skipped.
 */
export const telegramOutbound: OutboundAdapter = {
  vendor: 'telegram',
  async send({ auth, apiUrl, externalChatId, markdown, progress, signal }) {
    const api = new Api(String(auth.token), { apiRoot: apiUrl })
    const parts = renderForTelegram(markdown)
    const ids = [...progress.sentParts]
    for (const part of parts.slice(ids.length)) {
      let sent
      try {
        try {
          sent = await api.sendMessage(externalChatId, part.html, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } }, grammySignal(signal))
        } catch (error) {
          if (!(error instanceof GrammyError && error.error_code === 400 && BAD_MARKUP.test(error.description))) throw error
          sent = await api.sendMessage(externalChatId, part.plain, { link_preview_options: { is_disabled: true } }, grammySignal(signal))
        }
      } catch (error) {
        throw classify(error)
      }
      ids.push(String(sent.message_id))
      await progress.partSent(String(sent.message_id))
    }
    return ids
  },
}

/** Telegram's errors in the engine's terms (outbound.ts). */
function classify(error: unknown): Error {
  if (error instanceof GrammyError) {
    if (error.error_code === 429) {
      const seconds = error.parameters.retry_after
      return new DeliveryDeferred(error.description, typeof seconds === 'number' ? seconds * 1000 : null)
    }
    if (error.error_code === 401 || error.error_code === 404) return new CredentialsRefused(error.description)
    if (error.error_code === 403 || (error.error_code === 400 && GONE.test(error.description))) return new RecipientGone(error.description)
    if (error.error_code >= 500) return new DeliveryDeferred(error.description)
    return new DeliveryRefused(error.description)
  }
  if (error instanceof HttpError) return new DeliveryDeferred(error.message)
  return error instanceof Error ? new DeliveryDeferred(error.message) : new DeliveryDeferred(String(error))
}
