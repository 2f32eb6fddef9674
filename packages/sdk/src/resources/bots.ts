import type { APIPromise } from '../core/api-promise.ts'
import { OffsetPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { Bot, BotListParams, BotSettings, BotSettingsPatch, CreateBotBody, Deleted, UpdateBotBody, UpdateBotStatusBody } from '../types.ts'
import { APIResource } from './resource.ts'

/** Bots (the spec's "virts"): the AI agents that answer chats. */
export class Bots extends APIResource {
  readonly status = new BotStatusResource(this.client)
  readonly settings = new BotSettingsResource(this.client)

  /**
   * A page of the project's bots, oldest first; iterate it for all of them.
   *
   * @example
   * for await (const bot of client.bots.list()) console.log(bot.id, bot.name)
   */
  list(query: BotListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Bot>> {
    return this.client.getPage<OffsetPage<Bot>>(OffsetPage, '/bots', { query, ...options })
  }

  /**
   * @example
   * const bot = await client.bots.create({ name: 'Support Bot' })
   */
  create(body: CreateBotBody, options?: RequestOptions): APIPromise<Bot> {
    return this.client.post(path`/bots`, { body, ...options })
  }

  /** @example const bot = await client.bots.retrieve('bot_123') */
  retrieve(botId: string, options?: RequestOptions): APIPromise<Bot> {
    return this.client.get(path`/bots/${botId}`, options)
  }

  /** @example await client.bots.update('bot_123', { description: 'Answers billing questions' }) */
  update(botId: string, body: UpdateBotBody, options?: RequestOptions): APIPromise<Bot> {
    return this.client.post(path`/bots/${botId}`, { body, ...options })
  }

  /** Deletes the bot with its chats, threads and messages. @example await client.bots.delete('bot_123') */
  delete(botId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.post(path`/bots/${botId}/delete`, options)
  }

  /**
   * A new bot with the same settings (the server takes no body today; one given is sent as is).
   *
   * @example const copy = await client.bots.clone('bot_123')
   */
  clone(botId: string, body?: Record<string, unknown>, options?: RequestOptions): APIPromise<Bot> {
    return this.client.post(path`/bots/${botId}/clone`, { body, ...options })
  }
}

export class BotStatusResource extends APIResource {
  /** @example await client.bots.status.update('bot_123', { status: 'disabled' }) */
  update(botId: string, body: UpdateBotStatusBody, options?: RequestOptions): APIPromise<Bot> {
    return this.client.post(path`/bots/${botId}/status`, { body, ...options })
  }
}

export class BotSettingsResource extends APIResource {
  /** @example const settings = await client.bots.settings.retrieve('bot_123') */
  retrieve(botId: string, options?: RequestOptions): APIPromise<BotSettings> {
    return this.client.get(path`/bots/${botId}/settings`, options)
  }

  /**
   * A partial update: only the fields given change.
   *
   * @example
   * await client.bots.settings.update('bot_123', { ai: { model: { id: 'local/echo' } } })
   */
  update(botId: string, body: BotSettingsPatch, options?: RequestOptions): APIPromise<BotSettings> {
    return this.client.post(path`/bots/${botId}/settings`, { body, ...options })
  }
}
