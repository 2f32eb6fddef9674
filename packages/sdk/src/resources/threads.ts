import type { APIPromise } from '../core/api-promise.ts'
import type { EventFeed, EventFeedOptions } from '../core/event-feed.ts'
import { NextCursorPage, OffsetPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { ReplyStream } from '../core/stream.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { WorkenClient } from '../client.ts'
import type {
  ApprovalDecision,
  EventToken,
  EventTokenRequest,
  Message,
  ScheduledMessage,
  ScheduledMessageListParams,
  SendMessageBody,
  Thread,
  ThreadDetail,
  ThreadListParams,
  WorkingMemory,
} from '../types.ts'
import { APIResource } from './resource.ts'

/** Threads across the project: the list with search, details, operator messages, live events. */
export class Threads extends APIResource {
  readonly scheduled = new ScheduledMessages(this.client)
  readonly memory = new ThreadMemory(this.client)
  readonly approvals = new ThreadApprovals(this.client)
  /**
   * The live event feed: `client.threads.events(options?)` for every thread of
   * the project, `client.threads.events(threadId, options?)` for one thread.
   * Also `events.stream(options?)`, `events.streamThread(threadId, options?)`
   * (the operationIds' names) and `events.tokens.create(...)` for browsers.
   */
  readonly events: ThreadEvents = threadEvents(this.client)

  /**
   * Most recent activity first (best match first with `search`), paged by
   * `next_cursor` over the project as it was at the first page.
   *
   * @example
   * for await (const thread of client.threads.list({ search: 'refund' })) console.log(thread.id)
   */
  list(query: ThreadListParams = {}, options?: RequestOptions): PagePromise<NextCursorPage<Thread>> {
    return this.client.getPage<NextCursorPage<Thread>>(NextCursorPage, '/threads', { query, ...options })
  }

  /** The thread with its person and message counts. @example const thread = await client.threads.retrieve('support-42') */
  retrieve(threadId: string, options?: RequestOptions): APIPromise<ThreadDetail> {
    return this.client.get(path`/threads/${threadId}`, options)
  }

  /**
   * An operator's message (the thread must be in `manual` mode): the stored
   * `Message`, or with `scheduledAt` the `ScheduledMessage` (202).
   *
   * @example
   * await client.threads.send('support-42', { text: 'A colleague will call you today.' })
   */
  send(threadId: string, body: SendMessageBody, options?: RequestOptions): APIPromise<Message | ScheduledMessage> {
    return this.client.post(path`/threads/${threadId}/send`, { body, ...options })
  }
}

export class ScheduledMessages extends APIResource {
  /** In delivery order, every status. @example for await (const message of client.threads.scheduled.list('support-42')) console.log(message.status) */
  list(threadId: string, query: ScheduledMessageListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<ScheduledMessage>> {
    return this.client.getPage<OffsetPage<ScheduledMessage>>(OffsetPage, path`/threads/${threadId}/scheduled`, { query, ...options })
  }

  /** Cancels one still `scheduled`. @example await client.threads.scheduled.cancel('support-42', 'sch_123') */
  cancel(threadId: string, scheduledId: string, options?: RequestOptions): APIPromise<ScheduledMessage> {
    return this.client.post(path`/threads/${threadId}/scheduled/${scheduledId}/cancel`, options)
  }
}

export class ThreadMemory extends APIResource {
  /** The agent's working memory for the thread. @example const { content } = await client.threads.memory.retrieve('support-42') */
  retrieve(threadId: string, options?: RequestOptions): APIPromise<WorkingMemory> {
    return this.client.get(path`/threads/${threadId}/memory`, options)
  }
}

export class ThreadApprovals extends APIResource {
  /**
   * Approves or denies a tool call that waits for it; the turn resumes, and its
   * continuation streams back like a reply.
   *
   * @example
   * const stream = await client.threads.approvals.decide('support-42', 'apr_123', { approved: true })
   * console.log(await stream.finalText())
   */
  decide(threadId: string, approvalId: string, body: ApprovalDecision, options?: RequestOptions): Promise<ReplyStream> {
    return this.client.replyStream(path`/threads/${threadId}/approvals/${approvalId}`, { body, ...options })
  }
}

export class EventTokens extends APIResource {
  /**
   * A short-lived token a browser page uses for the event stream instead of the key.
   *
   * @example
   * const { token } = await client.threads.events.tokens.create({ thread_id: 'support-42', expires_in: 300 })
   */
  create(body: EventTokenRequest = {}, options?: RequestOptions): APIPromise<EventToken> {
    return this.client.post(path`/threads/events/tokens`, { body, ...options })
  }
}

export type ThreadEvents = {
  /**
   * @example
   * for await (const event of client.threads.events()) console.log(event.type, event.thread_id)
   * for await (const event of client.threads.events('support-42', { lastEventId: '1042' })) console.log(event.type)
   */
  (options?: EventFeedOptions): EventFeed
  (threadId: string, options?: EventFeedOptions): EventFeed
  /** Every thread of the project (`GET /threads/events`). */
  stream(options?: EventFeedOptions): EventFeed
  /** One thread (`GET /threads/events/:thread_id`). */
  streamThread(threadId: string, options?: EventFeedOptions): EventFeed
  readonly tokens: EventTokens
}

function threadEvents(client: WorkenClient): ThreadEvents {
  const stream = (options?: EventFeedOptions) => client.eventFeed('/threads/events', options)
  const streamThread = (threadId: string, options?: EventFeedOptions) => client.eventFeed(path`/threads/events/${threadId}`, options)
  const events = (first?: string | EventFeedOptions, options?: EventFeedOptions) =>
    typeof first === 'string' ? streamThread(first, options) : stream(first ?? options)
  return Object.assign(events, { stream, streamThread, tokens: new EventTokens(client) }) as ThreadEvents
}
