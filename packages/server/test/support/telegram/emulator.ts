import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { TelegramServer } from 'telegram-test-api/lib/telegramServer.js'
import type { ClientOptions, TelegramClient } from 'telegram-test-api/lib/modules/telegramClient.js'

/**
 * telegram-test-api (4.2.1), a Bot API emulator, on 127.0.0.1 at a free port. The bot side is the
 * Bot API at `${apiRoot}/bot<token>/<method>` (getMe, sendMessage, editMessageText,
 * editMessageReplyMarkup, deleteMessage, answerCallbackQuery, getUpdates, setWebhook,
 * deleteWebhook; any other method answers 500 `{message}`): point grammY at it with
 * `new Api(token, { apiRoot })`. The user side is `client(token)`: `client.sendMessage(
 * client.makeMessage('hi'))` queues an update for the bot (or POSTs it to the bot's webhook, without
 * the secret-token header), and `client.getUpdates()` polls (every 100 ms, for up to `timeout` ms,
 * 1000 by default) for what the bot sent to the client's chat, each as `{ message: <the
 * sendMessage body> }`. `server.getUpdatesHistory(token)` lists both directions.
 *
 * It lacks the secret-token header, 429, sendChatAction, files and error shapes like Telegram's
 * (`{ok:false,error_code,description}`): fake-bot-api.ts has those.
 */
export type TelegramEmulator = {
  /** `http://127.0.0.1:<port>`, for `new Api(token, { apiRoot })`. */
  apiRoot: string
  server: TelegramServer
  /** A user who talks to the bot with `token` (by default user and chat id 1, a private chat). */
  client(token: string, options?: Partial<ClientOptions>): TelegramClient
  close(): Promise<void>
}

export async function startTelegramEmulator(options: { storeTimeout?: number } = {}): Promise<TelegramEmulator> {
  // Its config turns port 0 into 9000, so the port is set to 0 after it is read, and the real one read back.
  const server = new TelegramServer({ host: '127.0.0.1', storeTimeout: options.storeTimeout ?? 60 })
  server.config.port = 0
  await server.start()
  const listening = (server as unknown as { server: http.Server }).server
  const { port } = listening.address() as AddressInfo
  server.config.port = port
  server.config.apiURL = `http://127.0.0.1:${port}`
  return {
    apiRoot: server.config.apiURL,
    server,
    client: (token, clientOptions) => server.getClient(token, clientOptions),
    close: async () => {
      listening.closeAllConnections()
      await server.stop()
    },
  }
}
