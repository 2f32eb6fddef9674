/**
 * The conversations module: chats, threads, messages, persons, modes, operator
 * messages, approvals, the live event feed, and the main path — `ingest`, the
 * one way in for a user's message, and the one writer of messages. Nothing
 * imports this module but the composition root: it calls the others.
 */
export { ingest, CREDITS_EXHAUSTED_REPLY, type InboundMessage, type IngestResult, type IngestDeps, type TurnGate } from './ingest.ts'
export { MessageWriter, lockThread, type NewMessage, type OnReplyStored, type Tx, type WriteRequest } from './message-writer.ts'
export { produceReply, type Reply, type ReplyOutcome, type ReplyRequest, type ReplyDeps } from './reply.ts'
export { replyResponse } from './reply-stream.ts'
export { ChatService, type Chat } from './chats.ts'
export { chats, messages } from './tables.ts'
export { recordDelivery, type DeliveryOutcome } from './deliveries.ts'
export { ChatSchema, CreateChatBody, UpdateChatBody, UpdateChatStatusBody, ChatParams } from './schemas.ts'
export { ChatSettingsField, mergeChatSettings } from './chat-settings.ts'
export { ThreadService } from './threads.ts'
export { OperatorService, registerScheduledSends } from './operator.ts'
export { registerFollowUps } from './follow-ups.ts'
export { registerScheduledReplies, OwedReplySweeper } from './scheduled-reply.ts'
export { OwedReplies, type OwedReplyOptions } from './owed-replies.ts'
export { chatRoutes } from './chat-routes.ts'
export { threadRoutes } from './thread-routes.ts'
export { eventRoutes } from './event-routes.ts'
export type { ConversationServices } from './services.ts'
