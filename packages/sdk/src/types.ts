/**
 * Friendly names for the API's types, all derived from `src/generated/api.ts`
 * (openapi-typescript over docs/openapi.json), so they follow the server.
 */
import type { components, operations } from './generated/api.ts'

type Schemas = components['schemas']

/** An operationId of the API, as openapi-typescript keys them. */
export type OperationName = keyof operations

/** The query parameters of an operation. */
export type QueryOf<Name extends OperationName> = NonNullable<operations[Name]['parameters']['query']>

/** The JSON request body of an operation. */
export type BodyOf<Name extends OperationName> = NonNullable<operations[Name]['requestBody']> extends { content: { 'application/json': infer Body } } ? Body : never

/** The JSON body of an operation's 2xx answer (the 200's, else the 202's). */
export type ResponseOf<Name extends OperationName> = operations[Name]['responses'] extends infer Responses
  ? Responses extends { 200: { content: { 'application/json': infer Body } } }
    ? Body
    : Responses extends { 202: { content: { 'application/json': infer Body } } }
      ? Body
      : never
  : never

export type ApiKey = Schemas['ApiKey']
export type ApiKeyCreated = Schemas['ApiKeyCreated']
export type ApprovalDecision = Schemas['ApprovalDecision']
export type AttributeFilter = Schemas['AttributeFilter']
export type AutoChunkingStrategy = Schemas['AutoChunkingStrategy']
export type Bot = Schemas['Bot']
export type BotSettings = Schemas['BotSettings']
export type BotSettingsPatch = Schemas['BotSettingsPatch']
export type BotStatus = Schemas['BotStatus']
export type Chat = Schemas['Chat']
export type ChunkingStrategy = Schemas['ChunkingStrategy']
export type ComparisonFilter = Schemas['ComparisonFilter']
export type CompoundFilter = Schemas['CompoundFilter']
export type CreateApiKeyBody = Schemas['CreateApiKeyBody']
export type CreateBotBody = Schemas['CreateBotBody']
export type CreateChatBody = Schemas['CreateChatBody']
export type CreateIntegrationBody = Schemas['CreateIntegrationBody']
export type CreateProjectBody = Schemas['CreateProjectBody']
export type CreateWebhookEndpointBody = Schemas['CreateWebhookEndpointBody']
export type CreatedWebhookEndpoint = Schemas['CreatedWebhookEndpoint']
export type Deleted = Schemas['Deleted']
export type DeletedFile = Schemas['DeletedFile']
export type DeletedVectorStore = Schemas['DeletedVectorStore']
export type DeletedVectorStoreFile = Schemas['DeletedVectorStoreFile']
export type EventToken = Schemas['EventToken']
export type EventTokenRequest = Schemas['EventTokenRequest']
/** The API's file object (named so it does not shadow the global `File`). */
export type FileObject = Schemas['File']
export type FileList = Schemas['FileList']
export type Integration = Schemas['Integration']
export type IntegrationProfile = Schemas['IntegrationProfile']
export type IntegrationStatus = Schemas['IntegrationStatus']
export type IntegrationVendor = Schemas['IntegrationVendor']
export type Message = Schemas['Message']
export type OAuthStart = Schemas['OAuthStart']
export type Person = Schemas['Person']
export type PersonInput = Schemas['PersonInput']
export type Project = Schemas['Project']
export type ProjectCreated = Schemas['ProjectCreated']
export type ScheduledMessage = Schemas['ScheduledMessage']
export type SendMessageBody = Schemas['SendMessageBody']
export type SetThreadModeBody = Schemas['SetThreadModeBody']
export type StaticChunkingStrategy = Schemas['StaticChunkingStrategy']
export type StreamAccepted = Schemas['StreamAccepted']
export type StreamBody = Schemas['StreamBody']
export type Thread = Schemas['Thread']
export type ThreadDetail = Schemas['ThreadDetail']
export type ThreadEvent = Schemas['ThreadEvent']
export type ThreadList = Schemas['ThreadList']
export type ThreadMode = Schemas['ThreadMode']
export type UpdateBotBody = Schemas['UpdateBotBody']
export type UpdateBotStatusBody = Schemas['UpdateBotStatusBody']
export type UpdateChatBody = Schemas['UpdateChatBody']
export type UpdateChatStatusBody = Schemas['UpdateChatStatusBody']
export type UpdateIntegrationBody = Schemas['UpdateIntegrationBody']
export type UpdateWebhookEndpointBody = Schemas['UpdateWebhookEndpointBody']
export type VectorStore = Schemas['VectorStore']
export type VectorStoreCreate = Schemas['VectorStoreCreate']
export type VectorStoreFile = Schemas['VectorStoreFile']
export type VectorStoreFileAttributes = Schemas['VectorStoreFileAttributes']
export type VectorStoreFileBatch = Schemas['VectorStoreFileBatch']
export type VectorStoreFileBatchCreate = Schemas['VectorStoreFileBatchCreate']
export type VectorStoreFileContent = Schemas['VectorStoreFileContent']
export type VectorStoreFileCounts = Schemas['VectorStoreFileCounts']
export type VectorStoreFileCreate = Schemas['VectorStoreFileCreate']
export type VectorStoreFileList = Schemas['VectorStoreFileList']
export type VectorStoreFileUpdate = Schemas['VectorStoreFileUpdate']
export type VectorStoreList = Schemas['VectorStoreList']
export type VectorStoreSearch = Schemas['VectorStoreSearch']
export type VectorStoreSearchPage = Schemas['VectorStoreSearchPage']
export type VectorStoreSearchResult = Schemas['VectorStoreSearchResult']
export type VectorStoreUpdate = Schemas['VectorStoreUpdate']
export type WebhookDelivery = Schemas['WebhookDelivery']
export type WebhookDeliveryList = Schemas['WebhookDeliveryList']
export type WebhookEndpoint = Schemas['WebhookEndpoint']
export type WorkingMemory = Schemas['WorkingMemory']
/** The error body every failure carries: `{ error, code, message?, details? }`. */
export type ErrorResponse = Schemas['Error']
/** The server's stable machine codes (docs/design.md). */
export type ErrorCode = Schemas['Error']['code']

export type BotListParams = QueryOf<'bots.list'>
export type ChatListParams = QueryOf<'chats.list'>
export type ChatThreadListParams = QueryOf<'chats.threads.list'>
export type MessageListParams = QueryOf<'chats.threads.messages.list'>
export type ThreadListParams = QueryOf<'threads.list'>
export type ScheduledMessageListParams = QueryOf<'threads.scheduled.list'>
export type ProjectListParams = QueryOf<'projects.list'>
export type ApiKeyListParams = QueryOf<'projects.apiKeys.list'>
export type WebhookEndpointListParams = QueryOf<'webhookEndpoints.list'>
export type WebhookDeliveryListParams = QueryOf<'webhookEndpoints.deliveries.list'>
export type IntegrationListParams = QueryOf<'integrations.list'>
export type IntegrationChatListParams = QueryOf<'integrations.chats.list'>
export type FileListParams = QueryOf<'files.list'>
export type VectorStoreListParams = QueryOf<'vectorStores.list'>
export type VectorStoreFileListParams = QueryOf<'vectorStores.files.list'>
export type FileBatchFileListParams = QueryOf<'vectorStores.fileBatches.files.list'>

export type IntegrationChatCreateBody = BodyOf<'integrations.chats.create'>
export type IntegrationChatUpdateBody = BodyOf<'integrations.chats.update'>
export type IntegrationChatStatusBody = BodyOf<'integrations.chats.status.update'>

type Usage = { inputTokens: number; outputTokens: number }

/**
 * The events of a streamed reply (`POST …/threads/:thread_id/stream`), the
 * spec's four plus `tool-approval-request`; the server's `error` event is
 * thrown as a `StreamError` instead of yielded. Members other than
 * `text-delta` declare `textDelta?: undefined`, so the spec's
 * `chunk.textDelta ?? ''` compiles.
 */
export type StreamEvent =
  | { type: 'text-delta'; textDelta: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; args: unknown; textDelta?: undefined }
  | { type: 'tool-result'; toolCallId: string; toolName: string; result: unknown; textDelta?: undefined }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string; toolName: string; args: unknown; policy: 'user_approve' | 'operator_approve'; textDelta?: undefined }
  | { type: 'finish'; finishReason: 'stop' | 'tool-calls' | 'length' | 'content-filter' | 'other' | (string & {}); usage?: Usage; textDelta?: undefined }

/** The body of a webhook request (the spec's `WebhookEvent`). */
export type WebhookEvent = {
  /** The outbox event id (`evt_…`): the same on every retry; dedupe on it. */
  id: string
  /** e.g. `thread.message.created`, `webhook.test`. */
  type: string
  created_at: string
  data: Record<string, unknown>
}

export type BillingAccount = Schemas['BillingAccount']
export type Balance = Schemas['Balance']
export type Transaction = Schemas['Transaction']
export type TransactionPage = Schemas['TransactionPage']
export type TransactionListParams = QueryOf<'billing.transactions.list'>
export type Invoice = Schemas['Invoice']
export type CreateInvoiceBody = Schemas['CreateInvoiceBody']
export type CreatedInvoice = Schemas['CreatedInvoice']
export type Offer = Schemas['Offer']
