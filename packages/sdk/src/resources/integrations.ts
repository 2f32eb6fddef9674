import type { APIPromise } from '../core/api-promise.ts'
import { OffsetPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import type {
  Chat,
  CreateIntegrationBody,
  Deleted,
  Integration,
  IntegrationChatCreateBody,
  IntegrationChatListParams,
  IntegrationChatStatusBody,
  IntegrationChatUpdateBody,
  IntegrationListParams,
  IntegrationProfile,
  OAuthStart,
  UpdateIntegrationBody,
} from '../types.ts'
import { APIResource } from './resource.ts'

/** Connections to external platforms (Telegram, amoCRM, …) and their chats. */
export class Integrations extends APIResource {
  readonly profile = new IntegrationProfileResource(this.client)
  readonly oauth = new IntegrationOAuth(this.client)
  readonly chats = new IntegrationChats(this.client)

  /** @example for await (const integration of client.integrations.list()) console.log(integration.vendor) */
  list(query: IntegrationListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Integration>> {
    return this.client.getPage<OffsetPage<Integration>>(OffsetPage, '/integrations', { query, ...options })
  }

  /** @example await client.integrations.create({ name: 'Support bot', vendor: 'telegram', auth_data: { token: '123:abc' } }) */
  create(body: CreateIntegrationBody, options?: RequestOptions): APIPromise<Integration> {
    return this.client.post(path`/integrations`, { body, ...options })
  }

  /** @example const integration = await client.integrations.retrieve('int_123') */
  retrieve(integrationId: string, options?: RequestOptions): APIPromise<Integration> {
    return this.client.get(path`/integrations/${integrationId}`, options)
  }

  /** @example await client.integrations.update('int_123', { status: 'disabled' }) */
  update(integrationId: string, body: UpdateIntegrationBody, options?: RequestOptions): APIPromise<Integration> {
    return this.client.post(path`/integrations/${integrationId}`, { body, ...options })
  }

  /** @example await client.integrations.delete('int_123') */
  delete(integrationId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.delete(path`/integrations/${integrationId}`, options)
  }
}

export class IntegrationProfileResource extends APIResource {
  /** Checks the stored credentials with the vendor and returns the identity they authenticate. @example const profile = await client.integrations.profile.retrieve('int_123') */
  retrieve(integrationId: string, options?: RequestOptions): APIPromise<IntegrationProfile> {
    return this.client.get(path`/integrations/${integrationId}/profile`, options)
  }
}

export class IntegrationOAuth extends APIResource {
  /** The vendor's authorisation URL to send the user to. @example const { url } = await client.integrations.oauth.start('int_123') */
  start(integrationId: string, options?: RequestOptions): APIPromise<OAuthStart> {
    return this.client.post(path`/integrations/${integrationId}/oauth/start`, options)
  }
}

export class IntegrationChats extends APIResource {
  readonly status = new IntegrationChatStatus(this.client)

  /** @example for await (const chat of client.integrations.chats.list('int_123')) console.log(chat.name) */
  list(integrationId: string, query: IntegrationChatListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Chat>> {
    return this.client.getPage<OffsetPage<Chat>>(OffsetPage, path`/integrations/${integrationId}/chats`, { query, ...options })
  }

  /** @example await client.integrations.chats.create('int_123', { bot_id: 'bot_123', name: 'Telegram' }) */
  create(integrationId: string, body: IntegrationChatCreateBody, options?: RequestOptions): APIPromise<Chat> {
    return this.client.post(path`/integrations/${integrationId}/chats`, { body, ...options })
  }

  /** @example await client.integrations.chats.update('int_123', 'chat_123', { name: 'Telegram (sales)' }) */
  update(integrationId: string, chatId: string, body: IntegrationChatUpdateBody, options?: RequestOptions): APIPromise<Chat> {
    return this.client.post(path`/integrations/${integrationId}/chats/${chatId}`, { body, ...options })
  }

  /** @example await client.integrations.chats.delete('int_123', 'chat_123') */
  delete(integrationId: string, chatId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.delete(path`/integrations/${integrationId}/chats/${chatId}`, options)
  }
}

export class IntegrationChatStatus extends APIResource {
  /** @example await client.integrations.chats.status.update('int_123', 'chat_123', { status: 'disabled' }) */
  update(integrationId: string, chatId: string, body: IntegrationChatStatusBody, options?: RequestOptions): APIPromise<Chat> {
    return this.client.post(path`/integrations/${integrationId}/chats/${chatId}/status`, { body, ...options })
  }
}
