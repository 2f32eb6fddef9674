import { randomBytes } from 'node:crypto'
import { processDatabase, startServerProcess, type ServerProcess } from '../../../server/test/support/process.ts'
import { WorkenClient, type ClientOptions } from '@worken/sdk'

/**
 * A real Worken server process for one test file, on a fresh data directory,
 * with a known bootstrap key. `restart()` stops it and starts another process
 * on the same data (a new port: put a proxy in front to keep one address).
 */
export type Worken = {
  server: ServerProcess
  url: string
  apiKey: string
  env: Record<string, string>
  client(options?: ClientOptions): WorkenClient
  restart(): Promise<ServerProcess>
  stop(): Promise<void>
}

export async function startWorken(env: Record<string, string> = {}): Promise<Worken> {
  const apiKey = `sk-${randomBytes(32).toString('hex')}`
  const database = await processDatabase('worken-sdk')
  const fullEnv = { ...database.env, WORKEN_BOOTSTRAP_API_KEY: apiKey, LOG_LEVEL: 'info', ...env }
  let server = await startServerProcess(fullEnv)
  const worken: Worken = {
    get server() {
      return server
    },
    get url() {
      return server.publicUrl
    },
    apiKey,
    env: fullEnv,
    client: (options = {}) => new WorkenClient({ apiKey, baseURL: server.publicUrl, ...options }),
    async restart() {
      await server.stop()
      server = await startServerProcess(fullEnv)
      return server
    },
    async stop() {
      await server.stop()
      await database.cleanup()
    },
  }
  return worken
}

/** A bot answering with the built-in `local/echo` model ("You said: …"), and an API chat of it. */
export async function echoChat(client: WorkenClient, name = 'Echo'): Promise<{ botId: string; chatId: string }> {
  const bot = await client.bots.create({ name })
  await client.bots.settings.update(bot.id, { ai: { model: { id: 'local/echo' } } })
  const chat = await client.chats.create({ bot_id: bot.id, name: `${name} chat` })
  return { botId: bot.id, chatId: chat.id }
}

/** Polls `check` until it returns something truthy (a server-side effect that lands asynchronously). */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
