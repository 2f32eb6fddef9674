import type { APIPromise } from '../core/api-promise.ts'
import { OffsetPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { ReplyStream } from '../core/stream.ts'
import type { RequestOptions } from '../core/transport.ts'
import type {
  Chat,
  ChatListParams,
  ChatThreadListParams,
  CreateChatBody,
  Deleted,
  Message,
  MessageListParams,
  SetThreadModeBody,
  StreamBody,
  Thread,
  UpdateChatBody,
  UpdateChatStatusBody,
} from '../types.ts'
import { APIResource } from './resource.ts'

/** Chats: the channels through which users reach a bot (API chats are made with `create`). */
export class Chats extends APIResource {
  readonly threads = new ChatThreads(this.client)
  readonly status = new ChatStatusResource(this.client)

  /** @example for await (const chat of client.chats.list()) console.log(chat.name) */
  list(query: ChatListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Chat>> {
    return this.client.getPage<OffsetPage<Chat>>(OffsetPage, '/chats', { query, ...options })
  }

  /** An API chat of a bot. @example const chat = await client.chats.create({ bot_id: bot.id, name: 'Website' }) */
  create(body: CreateChatBody, options?: RequestOptions): APIPromise<Chat> {
    return this.client.post(path`/chats`, { body, ...options })
  }

  /** @example const chat = await client.chats.retrieve('chat_123') */
  retrieve(chatId: string, options?: RequestOptions): APIPromise<Chat> {
    return this.client.get(path`/chats/${chatId}`, options)
  }

  /** @example await client.chats.update('chat_123', { name: 'Website (EU)' }) */
  update(chatId: string, body: UpdateChatBody, options?: RequestOptions): APIPromise<Chat> {
    return this.client.post(path`/chats/${chatId}`, { body, ...options })
  }

  /** Deletes the chat with its threads and messages. @example await client.chats.delete('chat_123') */
  delete(chatId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.delete(path`/chats/${chatId}`, options)
  }
}

export class ChatStatusResource extends APIResource {
  /** @example await client.chats.status.update('chat_123', { status: 'disabled' }) */
  update(chatId: string, body: UpdateChatStatusBody, options?: RequestOptions): APIPromise<Chat> {
    return this.client.post(path`/chats/${chatId}/status`, { body, ...options })
  }
}

/** The threads (conversations) of a chat. */
export class ChatThreads extends APIResource {
  readonly messages = new ChatThreadMessages(this.client)
  readonly mode = new ChatThreadMode(this.client)

  /** Most recent activity first. @example for await (const thread of client.chats.threads.list('chat_123')) console.log(thread.id) */
  list(chatId: string, query: ChatThreadListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Thread>> {
    return this.client.getPage<OffsetPage<Thread>>(OffsetPage, path`/chats/${chatId}/threads`, { query, ...options })
  }

  /**
   * Sends the user's message(s) and streams the reply. An unknown thread id
   * creates the thread. Outside `auto` mode (or with `scheduledAt`) nothing
   * streams: `stream.accepted` holds the server's 202 answer.
   *
   * @example
   * const stream = await client.chats.threads.stream('chat_123', 'support-42', {
   *   messages: [{ role: 'user', content: 'What is your return policy?' }],
   * })
   * for await (const event of stream) {
   *   if (event.type === 'text-delta') process.stdout.write(event.textDelta)
   * }
   */
  stream(chatId: string, threadId: string, body: StreamBody, options?: RequestOptions): Promise<ReplyStream> {
    return this.client.replyStream(path`/chats/${chatId}/threads/${threadId}/stream`, { body, ...options })
  }

  /** Removes the thread and its messages. @example await client.chats.threads.delete('chat_123', 'support-42') */
  delete(chatId: string, threadId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.post(path`/chats/${chatId}/threads/${threadId}/delete`, options)
  }
}

export class ChatThreadMessages extends APIResource {
  /**
   * The history, oldest first, a page at a time; iterate it for all of it.
   *
   * @example
   * for await (const message of client.chats.threads.messages.list('chat_123', 'support-42')) console.log(message.role, message.content)
   */
  list(chatId: string, threadId: string, query: MessageListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Message>> {
    return this.client.getPage<OffsetPage<Message>>(OffsetPage, path`/chats/${chatId}/threads/${threadId}/messages`, { query, ...options })
  }
}

export class ChatThreadMode extends APIResource {
  /** `auto`, `manual`, `operator` or `blocked`. @example await client.chats.threads.mode.update('chat_123', 'support-42', { mode: 'manual' }) */
  update(chatId: string, threadId: string, body: SetThreadModeBody, options?: RequestOptions): APIPromise<Thread> {
    return this.client.post(path`/chats/${chatId}/threads/${threadId}/mode`, { body, ...options })
  }
}
