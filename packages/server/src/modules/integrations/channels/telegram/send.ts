/**
 * Sends a reply to a Telegram chat through grammY's `Api`: the Markdown rendered and split by
 * format.ts, each part with `parse_mode: 'HTML'`, in order, paced under Telegram's limits, and the
 * Bot API's refusals turned into typed errors:
 *
 * - 400 "can't parse entities": that part is sent again as plain text (the markup was refused,
 *   not the message);
 * - 429: waits `parameters.retry_after` seconds and tries again, a bounded number of times;
 * - 403 ("bot was blocked by the user", "user is deactivated", "bot was kicked…"): `RecipientBlocked`,
 *   not retried;
 * - any other 4xx: `TelegramPermanentError`, not retried;
 * - 5xx, a network failure, an answer that is not the Bot API's: `TelegramTransientError`.
 *
 * A part that failed was not delivered; the parts before it were. Every error carries the ids of
 * the messages sent before it (`sent`), and `sendReply(…, { fromPart })` resumes after them, since
 * the split is a pure function of the Markdown.
 */
import { type Api, GrammyError, HttpError } from 'grammy'
import { renderForTelegram, TELEGRAM_MESSAGE_LIMIT } from './format.ts'
import { grammySignal } from './api.ts'

/** What a failed call to the Bot API was, as Telegram said it. */
export class TelegramSendError extends Error {
  override name = 'TelegramSendError'
  /** The Bot API method that failed. */
  readonly method: string
  /** Telegram's `error_code` (its HTTP status), when it answered. */
  readonly errorCode: number | undefined
  /** Telegram's `description`, when it answered. */
  readonly description: string | undefined
  /** Ids of the messages of this reply sent before the failure, in order. */
  readonly sent: number[]
  constructor(message: string, details: { method: string; errorCode?: number; description?: string; sent?: number[]; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.method = details.method
    this.errorCode = details.errorCode
    this.description = details.description
    this.sent = details.sent ?? []
  }
}

/** 403: the user blocked the bot, deleted their account, or the bot is no longer in the chat. Do not retry. */
export class RecipientBlocked extends TelegramSendError {
  override name = 'RecipientBlocked'
}

/** A 4xx other than 403 and 429 (a chat not found, a bad request, a revoked token as 401): retrying will not help. */
export class TelegramPermanentError extends TelegramSendError {
  override name = 'TelegramPermanentError'
  /** When a group became a supergroup: the chat id to use instead (`parameters.migrate_to_chat_id`). */
  readonly migrateToChatId: number | undefined
  constructor(message: string, details: ConstructorParameters<typeof TelegramSendError>[1] & { migrateToChatId?: number }) {
    super(message, details)
    this.migrateToChatId = details.migrateToChatId
  }
}

/** 5xx, a network failure, or an answer that was not the Bot API's: worth retrying later. */
export class TelegramTransientError extends TelegramSendError {
  override name = 'TelegramTransientError'
}

/** 429 still after the attempts allowed, or a `retry_after` longer than the caller would wait. */
export class TelegramRateLimited extends TelegramTransientError {
  override name = 'TelegramRateLimited'
  /** Seconds Telegram asked to wait (`parameters.retry_after`). */
  readonly retryAfter: number
  constructor(message: string, details: ConstructorParameters<typeof TelegramSendError>[1] & { retryAfter: number }) {
    super(message, details)
    this.retryAfter = details.retryAfter
  }
}

/**
 * Paces sends in this process: at least `perChatIntervalMs` between two messages to one chat
 * (Telegram: "avoid sending more than one message per second" to a chat) and at most
 * `perBotPerSecond` messages a second per bot (Telegram: about 30 a second), by spacing a bot's
 * messages `1000 / perBotPerSecond` ms apart. Slots are reserved in call order, so concurrent
 * senders queue fairly. It is per process: several server processes sending for one bot each keep
 * their own pace, and Telegram's 429 (honoured by `sendReply`) is the backstop.
 */
export class TelegramRateLimiter {
  readonly perChatIntervalMs: number
  readonly perBotIntervalMs: number
  private readonly nextForChat = new Map<string, number>()
  private readonly nextForBot = new Map<string, number>()

  constructor(options: { perChatIntervalMs?: number; perBotPerSecond?: number } = {}) {
    this.perChatIntervalMs = options.perChatIntervalMs ?? 1000
    this.perBotIntervalMs = 1000 / (options.perBotPerSecond ?? 30)
  }

  /** Waits for the next slot for a message from `bot` to `chat` (reserving it), or rejects when `signal` aborts. */
  async acquire(bot: string, chat: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    const now = performance.now()
    const chatKey = `${bot}\u0000${chat}`
    const slot = Math.max(now, this.nextForChat.get(chatKey) ?? 0, this.nextForBot.get(bot) ?? 0)
    this.nextForChat.set(chatKey, slot + this.perChatIntervalMs)
    this.nextForBot.set(bot, slot + this.perBotIntervalMs)
    if (this.nextForChat.size > 10_000) this.forget(now)
    if (slot > now) await sleep(slot - now, signal)
  }

  /** Drops chats whose pace no longer constrains anything. */
  private forget(now: number): void {
    for (const [key, next] of this.nextForChat) if (next <= now) this.nextForChat.delete(key)
  }
}

/** The limiter `sendReply` uses unless given another: one per process. */
export const processRateLimiter = new TelegramRateLimiter()

export type SendReplyOptions = {
  /** Called after each part is accepted, before the next is sent: a caller records progress (a retry resumes with `fromPart`). */
  onSent?: (messageId: number) => Promise<void>
  /** Aborts waiting (pacing, `retry_after`) and the request under way; the promise rejects with the signal's reason. */
  signal?: AbortSignal
  /** Pacing; `processRateLimiter` by default, `null` for none. */
  limiter?: TelegramRateLimiter | null
  /** Tries per part when Telegram answers 429 (the first included); 3 by default. */
  maxAttempts?: number
  /** A `retry_after` above this many seconds is not waited for: `TelegramRateLimited` is thrown. 60 by default. */
  maxRetryAfterSeconds?: number
  /** The first message replies to this one (and is sent even if it was deleted). */
  replyToMessageId?: number
  /** The forum topic to send to. */
  messageThreadId?: number
  disableLinkPreview?: boolean
  disableNotification?: boolean
  /** Skip the parts before this index (resuming after an error whose `sent` had this many ids). */
  fromPart?: number
  /** Split under this many characters; Telegram's 4096 by default (tests use less). */
  limit?: number
}

/** Sends `markdown` to `chatId` as one message or several; resolves to the ids of the messages sent, in order. */
export async function sendReply(api: Api, chatId: number | string, markdown: string, options: SendReplyOptions = {}): Promise<number[]> {
  const { signal } = options
  const limiter = options.limiter === undefined ? processRateLimiter : options.limiter
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3)
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60
  const bot = botId(api)
  const apiSignal = grammySignal(signal)
  const parts = renderForTelegram(markdown, options.limit ?? TELEGRAM_MESSAGE_LIMIT).slice(options.fromPart ?? 0)
  const sent: number[] = []
  for (const [index, part] of parts.entries()) {
    const other = {
      ...(index === 0 && (options.fromPart ?? 0) === 0 && options.replyToMessageId !== undefined ? { reply_parameters: { message_id: options.replyToMessageId, allow_sending_without_reply: true } } : {}),
      ...(options.messageThreadId !== undefined ? { message_thread_id: options.messageThreadId } : {}),
      ...(options.disableLinkPreview ? { link_preview_options: { is_disabled: true } } : {}),
      ...(options.disableNotification ? { disable_notification: true } : {}),
    }
    let plain = false
    for (let attempt = 1; ; attempt++) {
      if (limiter) await limiter.acquire(bot, String(chatId), signal)
      try {
        const message = plain
          ? await api.sendMessage(chatId, part.plain, other, apiSignal)
          : await api.sendMessage(chatId, part.html, { ...other, parse_mode: 'HTML' }, apiSignal)
        sent.push(message.message_id)
        await options.onSent?.(message.message_id)
        break
      } catch (error) {
        signal?.throwIfAborted()
        if (!plain && error instanceof GrammyError && error.error_code === 400 && /can't parse entities/i.test(error.description)) {
          plain = true
          attempt--
          continue
        }
        const retryAfter = error instanceof GrammyError && error.error_code === 429 ? error.parameters.retry_after ?? 1 : undefined
        if (retryAfter !== undefined && attempt < maxAttempts && retryAfter <= maxRetryAfter) {
          await sleep(retryAfter * 1000, signal)
          continue
        }
        throw toSendError(error, 'sendMessage', sent)
      }
    }
  }
  return sent
}

/** Shows "typing…" in the chat (sendChatAction; Telegram shows it for 5 s or until a message arrives). Not paced, not retried. */
export async function sendTyping(api: Api, chatId: number | string, options: { signal?: AbortSignal; messageThreadId?: number } = {}): Promise<void> {
  try {
    await api.sendChatAction(chatId, 'typing', options.messageThreadId === undefined ? {} : { message_thread_id: options.messageThreadId }, grammySignal(options.signal))
  } catch (error) {
    options.signal?.throwIfAborted()
    throw toSendError(error, 'sendChatAction', [])
  }
}

/** A grammY error as one of this file's. */
export function toSendError(error: unknown, method: string, sent: number[]): TelegramSendError {
  if (error instanceof TelegramSendError) return error
  if (error instanceof GrammyError) {
    const details = { method, errorCode: error.error_code, description: error.description, sent, cause: error }
    const message = `Telegram ${method}: ${error.description}`
    if (error.error_code === 429) return new TelegramRateLimited(message, { ...details, retryAfter: error.parameters.retry_after ?? 1 })
    if (error.error_code === 403) return new RecipientBlocked(message, details)
    if (error.error_code >= 400 && error.error_code < 500) {
      const migrate = error.parameters.migrate_to_chat_id
      return new TelegramPermanentError(message, migrate === undefined ? details : { ...details, migrateToChatId: migrate })
    }
    return new TelegramTransientError(message, details)
  }
  if (error instanceof HttpError) return new TelegramTransientError(`Telegram ${method}: ${error.message}`, { method, sent, cause: error })
  return new TelegramTransientError(`Telegram ${method}: ${error instanceof Error ? error.message : String(error)}`, { method, sent, cause: error })
}


/** The bot's id, the token's part before `:` (the whole token if it has none), to pace by bot without keeping the secret as a key. */
function botId(api: Api): string {
  const colon = api.token.indexOf(':')
  return colon === -1 ? api.token : api.token.slice(0, colon)
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
