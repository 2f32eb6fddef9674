import type { InboundAdapter, InboundMessage } from '../inbound.ts'
import { sendTyping } from './send.ts'
import { grammySignal, telegramApi } from './api.ts'
import type { Attachment } from '../inbound.ts'

/** The parts of a Telegram `Update` the engine reads (core.telegram.org/bots/api#update). */
type TelegramUser = { id: number; is_bot?: boolean; first_name?: string; last_name?: string; username?: string }
type PhotoSize = { file_id: string; width: number; height: number; file_size?: number }
type TelegramDocument = { file_id: string; file_name?: string; mime_type?: string; file_size?: number }
type TelegramMessage = { message_id: number; chat: { id: number; type?: string }; from?: TelegramUser; text?: string; caption?: string; photo?: PhotoSize[]; document?: TelegramDocument }
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
    const text = message.text ?? message.caption ?? ''
    const attachments = attachmentsOf(message)
    if (typeof text !== 'string' || (text.trim() === '' && attachments.length === 0)) return null
    const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || (from.username ? `@${from.username}` : undefined)
    return {
      externalChatId: String(message.chat.id),
      externalUserId: String(from.id),
      name,
      text,
      ...(attachments.length > 0 ? { attachments } : {}),
      start: /^\/start(@\w+)?(\s|$)/.test(text),
    }
  },
  /** `getFile`, then the file from `<api root>/file/bot<token>/<file_path>` (core.telegram.org/bots/api#getfile). */
  async download({ auth, apiUrl, fileId, maxBytes, signal }) {
    const token = String(auth.token)
    const file = await telegramApi(auth, apiUrl).getFile(fileId, grammySignal(signal))
    if (!file.file_path) throw new Error('Telegram gave no file_path')
    const response = await fetch(`${apiUrl}/file/bot${token}/${file.file_path}`, { signal, redirect: 'error' })
    if (!response.ok) throw new Error(`Telegram answered ${response.status} for the file`)
    const bytes = new Uint8Array(await response.arrayBuffer())
    if (bytes.byteLength > maxBytes) throw new Error('the file is too large')
    return bytes
  },
  async typing({ auth, apiUrl, externalChatId, signal }) {
    await sendTyping(telegramApi(auth, apiUrl), externalChatId, { signal })
  },
}

/** The photo (its largest size) or the document of a message. */
function attachmentsOf(message: TelegramMessage): Attachment[] {
  const photo = message.photo?.reduce((best, size) => (size.width * size.height > best.width * best.height ? size : best))
  if (photo) return [{ kind: 'photo', fileId: photo.file_id, filename: 'photo.jpg', mimeType: 'image/jpeg', size: photo.file_size ?? null }]
  const document = message.document
  if (document) return [{ kind: 'document', fileId: document.file_id, filename: (document.file_name ?? 'document').slice(0, 200), mimeType: document.mime_type ?? null, size: document.file_size ?? null }]
  return []
}
