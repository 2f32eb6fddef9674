import { CredentialsRefused } from '../../vendors/types.ts'
import { DeliveryDeferred, DeliveryRefused, RecipientGone, type OutboundAdapter } from '../outbound.ts'
import { telegramApi } from './api.ts'
import { RecipientBlocked, sendReply, TelegramPermanentError, TelegramRateLimited, TelegramSendError } from './send.ts'

/**
 * A message out to a Telegram chat through `sendReply` (send.ts): rendered to Telegram's HTML and
 * split under 4096 characters, parts in order, paced (1 s per chat, 30/s per bot, in this process),
 * a refused markup resent as plain text, a short 429 waited out. Parts already sent (a retry after a
 * crash) are skipped: the split is a function of the text, so part k is the same part.
 */
export const telegramOutbound: OutboundAdapter = {
  vendor: 'telegram',
  async send({ auth, apiUrl, externalChatId, markdown, progress, signal }) {
    const api = telegramApi(auth, apiUrl)
    // A copy: the progress list grows as parts are sent.
    const before = [...progress.sentParts]
    try {
      const ids = await sendReply(api, externalChatId, markdown, {
        signal,
        fromPart: before.length,
        disableLinkPreview: true,
        onSent: (messageId) => progress.partSent(String(messageId)),
      })
      return [...before, ...ids.map(String)]
    } catch (error) {
      throw classify(error)
    }
  },
}

/** send.ts's errors in the engine's terms (outbound.ts). */
function classify(error: unknown): Error {
  if (error instanceof TelegramRateLimited) return new DeliveryDeferred(error.message, error.retryAfter * 1000)
  if (error instanceof RecipientBlocked) return new RecipientGone(error.description ?? error.message)
  if (error instanceof TelegramPermanentError) {
    if (error.errorCode === 401 || error.errorCode === 404) return new CredentialsRefused(error.description ?? error.message)
    return new DeliveryRefused(error.description ?? error.message)
  }
  if (error instanceof TelegramSendError) return new DeliveryDeferred(error.message)
  return error instanceof Error ? error : new Error(String(error))
}
