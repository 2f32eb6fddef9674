import { Api } from 'grammy'

/** grammY's client for a bot, from the integration's credentials and the Bot API root (`WORKEN_TELEGRAM_API_URL`). */
export function telegramApi(auth: Record<string, unknown>, apiRoot: string): Api {
  return new Api(String(auth.token), { apiRoot })
}

/**
 * grammY types its `signal` parameters with the `abort-controller` polyfill's AbortSignal; Node's own
 * is what it receives at run time (grammY passes it to fetch). Only the declared types differ.
 */
export function grammySignal(signal: AbortSignal | undefined): never {
  return signal as never
}
