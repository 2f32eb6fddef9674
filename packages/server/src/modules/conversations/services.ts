import type { JobQueue } from '../../platform/jobs/queue.ts'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import type { EventHub } from '../../platform/events/hub.ts'
import type { OpenStreams } from '../../platform/events/open-streams.ts'
import type { Principal } from '../../platform/http/context.ts'
import type { ModelRegistry } from '../agent/index.ts'
import type { BotService } from '../bots/index.ts'
import type { Embedder, KnowledgeSearch } from '../knowledge/index.ts'
import type { ReplyDeps } from './reply.ts'
import type { ChatService } from './chats.ts'
import type { MessageWriter } from './message-writer.ts'
import type { EventTokens } from './event-tokens.ts'
import type { OperatorService } from './operator.ts'
import type { OwedReplies } from './owed-replies.ts'
import type { ThreadService } from './threads.ts'

/** What the conversations module's routes and jobs use, from the container built at start-up. */
export type ConversationServices = {
  database: DatabaseHandle
  writer: MessageWriter
  bots: BotService
  chats: ChatService
  threads: ThreadService
  operators: OperatorService
  models: ModelRegistry
  jobs?: JobQueue
  streamKeepaliveMs: number
  modelMaxRetries: number
  recallEmbedder?: Embedder
  knowledge: KnowledgeSearch
  afterReply?: ReplyDeps['afterReply']
  events: EventHub
  eventsMaxBufferBytes: number
  eventsReauthorizeMs: number
  openStreams: OpenStreams
  /** Replies owed to stored user messages, durable across crashes. */
  owedReplies: OwedReplies
  /** Re-checks an open event stream's caller (a deleted key or membership ends it). */
  apiKeys: { authenticate(apiKey: string): Promise<Principal | null>; principalOfKey(keyId: string): Promise<Principal | null> }
  /** Short-lived `?token=` credentials for the event streams (browsers' EventSource). */
  eventTokens: EventTokens
  projects: { resolveMember(organizationId: string, projectId: string, userId: string): Promise<Principal | null> }
}
