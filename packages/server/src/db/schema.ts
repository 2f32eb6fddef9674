import { sql } from 'drizzle-orm'
import { bigint, bigserial, check, customType, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import type { BotSettings } from '../bots/settings.ts'

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
})

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  email: text('email'),
  name: text('name'),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('users_email_key').on(t.email)])

export const memberships = pgTable('memberships', {
  organizationId: text('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  role: text('role').notNull(),
  createdAt: createdAt(),
}, (t) => [
  primaryKey({ columns: [t.organizationId, t.userId] }),
  index('memberships_user_idx').on(t.userId),
  check('memberships_role_check', sql`${t.role} in ('owner', 'admin', 'member')`),
])

export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  organizationId: text('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  avatarUrl: text('avatar_url'),
  createdAt: createdAt(),
}, (t) => [index('projects_organization_idx').on(t.organizationId, t.createdAt)])

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  /** Lowercase hex SHA-256 of the whole key; the key itself is never stored. */
  keyHash: text('key_hash').notNull(),
  /** The first characters of the key, safe to show so people can tell keys apart. */
  prefix: text('prefix').notNull(),
  createdByUserId: text('created_by_user_id').references(() => users.id, { onDelete: 'set null' }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
}, (t) => [
  uniqueIndex('api_keys_key_hash_key').on(t.keyHash),
  index('api_keys_project_idx').on(t.projectId, t.createdAt),
])

export const bots = pgTable('bots', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  description: text('description'),
  status: text('status').notNull().default('active'),
  settings: jsonb('settings').$type<BotSettings>().notNull(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('bots_project_idx').on(t.projectId, t.createdAt, t.id),
  check('bots_status_check', sql`${t.status} in ('active', 'disabled', 'error')`),
])

export const chats = pgTable('chats', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  botId: text('bot_id').notNull().references(() => bots.id, { onDelete: 'cascade' }),
  integrationId: text('integration_id'),
  name: text('name').notNull(),
  status: text('status').notNull().default('active'),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('chats_project_idx').on(t.projectId, t.createdAt, t.id),
  index('chats_bot_idx').on(t.botId),
  check('chats_status_check', sql`${t.status} in ('active', 'disabled', 'error')`),
])

/** The end user on the other side of a thread (a Telegram user, a widget visitor, or one named by an API caller). */
export const persons = pgTable('persons', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name'),
  avatarUrl: text('avatar_url'),
  externalId: text('external_id'),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('persons_project_external_key').on(t.projectId, t.externalId)])

/** Thread ids may be chosen by the client, so they are unique per project, not globally. */
export const threads = pgTable('threads', {
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  id: text('id').notNull(),
  chatId: text('chat_id').notNull().references(() => chats.id, { onDelete: 'cascade' }),
  botId: text('bot_id').notNull(),
  mode: text('mode').notNull().default('auto'),
  title: text('title'),
  pendingCount: integer('pending_count').notNull().default(0),
  workingMemory: text('working_memory'),
  personId: text('person_id').references(() => persons.id, { onDelete: 'set null' }),
  lastMessageAt: timestamp('last_message_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** Last activity: the newest message, or the creation. Lists sort by it, newest first. */
  activityAt: timestamp('activity_at', { withTimezone: true, mode: 'date' }).notNull().generatedAlwaysAs(sql`coalesce(last_message_at, created_at)`),
}, (t) => [
  primaryKey({ columns: [t.projectId, t.id] }),
  // One per filter of GET /threads, each in the list's order (keyset pages walk them).
  index('threads_activity_idx').on(t.projectId, t.activityAt.desc(), t.id.desc()),
  index('threads_chat_activity_idx').on(t.projectId, t.chatId, t.activityAt.desc(), t.id.desc()),
  index('threads_bot_activity_idx').on(t.projectId, t.botId, t.activityAt.desc(), t.id.desc()),
  check('threads_mode_check', sql`${t.mode} in ('auto', 'manual', 'operator', 'blocked')`),
  check('threads_pending_check', sql`${t.pendingCount} >= 0`),
])

/**
 * Every message of a thread, in `seq` order. `content` is the text the API shows;
 * `parts` keeps the model-level content (tool calls, tool results, approvals) so
 * a later turn can replay it exactly.
 *
 * The table also has `search tsvector` (generated from `content`, GIN-indexed),
 * added by the hand-written part of migration 0002 and deliberately not declared
 * here: declared, every `select()` and `returning()` of messages would fetch it.
 * Full-text queries name it in SQL (see threads/list.ts).
 */
export const messages = pgTable('messages', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull(),
  projectId: text('project_id').notNull(),
  threadId: text('thread_id').notNull(),
  /** The thread's chat and bot, copied (a thread never changes either) so that searches filtered by them walk one index. */
  chatId: text('chat_id').notNull(),
  botId: text('bot_id').notNull(),
  role: text('role').notNull(),
  content: text('content').notNull(),
  parts: jsonb('parts'),
  /** Who wrote it: the end user, the bot (AI), an operator, or the system. */
  author: text('author').notNull(),
  operatorId: text('operator_id'),
  model: text('model'),
  inputTokens: integer('input_tokens'),
  outputTokens: integer('output_tokens'),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('messages_id_key').on(t.id),
  index('messages_thread_idx').on(t.projectId, t.threadId, t.seq),
  // Newest-first walks for search candidates (see threads/list.ts), one per filter of GET /threads.
  index('messages_project_seq_idx').on(t.projectId, t.seq),
  index('messages_chat_seq_idx').on(t.projectId, t.chatId, t.seq),
  index('messages_bot_seq_idx').on(t.projectId, t.botId, t.seq),
  foreignKey({ columns: [t.projectId, t.threadId], foreignColumns: [threads.projectId, threads.id] }).onDelete('cascade'),
  check('messages_role_check', sql`${t.role} in ('user', 'assistant', 'tool', 'system')`),
  check('messages_author_check', sql`${t.author} in ('user', 'bot', 'operator', 'system')`),
])

/**
 * Operator messages to be sent later (`POST /threads/:id/send` with `scheduledAt`).
 * A pg-boss job delivers each at its time; the row is the source of truth, so
 * a cancel and a delivery cannot both win (each moves `status` from `scheduled`).
 */
export const scheduledMessages = pgTable('scheduled_messages', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  threadId: text('thread_id').notNull(),
  text: text('text').notNull(),
  operatorId: text('operator_id').notNull(),
  scheduledAt: timestamp('scheduled_at', { withTimezone: true, mode: 'date' }).notNull(),
  status: text('status').notNull().default('scheduled'),
  jobId: text('job_id'),
  messageId: text('message_id'),
  reason: text('reason'),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('scheduled_messages_thread_idx').on(t.projectId, t.threadId, t.scheduledAt),
  foreignKey({ columns: [t.projectId, t.threadId], foreignColumns: [threads.projectId, threads.id] }).onDelete('cascade'),
  check('scheduled_messages_status_check', sql`${t.status} in ('scheduled', 'sent', 'cancelled', 'skipped')`),
])

/** Tool calls waiting for a person's decision; the turn resumes from here, also after a restart. */
export const toolApprovals = pgTable('tool_approvals', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  threadId: text('thread_id').notNull(),
  toolCallId: text('tool_call_id').notNull(),
  toolName: text('tool_name').notNull(),
  input: jsonb('input'),
  policy: text('policy').notNull(),
  status: text('status').notNull().default('pending'),
  reason: text('reason'),
  decidedBy: text('decided_by'),
  createdAt: createdAt(),
  decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }),
}, (t) => [
  index('tool_approvals_thread_idx').on(t.projectId, t.threadId),
  foreignKey({ columns: [t.projectId, t.threadId], foreignColumns: [threads.projectId, threads.id] }).onDelete('cascade'),
  check('tool_approvals_status_check', sql`${t.status} in ('pending', 'approved', 'denied')`),
  check('tool_approvals_policy_check', sql`${t.policy} in ('user_approve', 'operator_approve')`),
])

/**
 * The outbox: every domain event, written in the transaction that caused it,
 * in one global order (`seq`). SSE subscribers and webhooks read from here.
 */
export const events = pgTable('events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  chatId: text('chat_id'),
  threadId: text('thread_id'),
  data: jsonb('data').notNull(),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('events_id_key').on(t.id),
  index('events_project_idx').on(t.projectId, t.seq),
  index('events_chat_type_idx').on(t.chatId, t.type, t.createdAt),
])

/**
 * Where a project's events are POSTed. The signing secret is stored encrypted
 * (AES-256-GCM, see crypto/secrets.ts) and never returned after creation.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  url: text('url').notNull(),
  secretCiphertext: text('secret_ciphertext').notNull(),
  status: text('status').notNull().default('active'),
  /** Null: every event type. */
  eventTypes: text('event_types').array(),
  description: text('description'),
  disabledReason: text('disabled_reason'),
  /** Since when every attempt has failed (null after a success); five days of it disables the endpoint. */
  failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('webhook_endpoints_project_idx').on(t.projectId, t.status),
  check('webhook_endpoints_status_check', sql`${t.status} in ('active', 'disabled')`),
])

/**
 * One event for one endpoint: created in the event's own transaction (see
 * events/outbox.ts), so none is lost, and itself the queue entry the sender
 * claims (`for update skip locked`) when `next_attempt_at` comes.
 */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
  eventId: text('event_id').notNull(),
  eventType: text('event_type').notNull(),
  /** The WebhookEvent as sent: `{ id, type, created_at, data }`. */
  payload: jsonb('payload').notNull(),
  status: text('status').notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** While `delivering`: until when the claim holds; a sender that died lets it lapse and another retries. */
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
  responseStatus: integer('response_status'),
  responseBody: text('response_body'),
  latencyMs: integer('latency_ms'),
  lastError: text('last_error'),
  deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('webhook_deliveries_endpoint_event_key').on(t.endpointId, t.eventId),
  index('webhook_deliveries_log_idx').on(t.endpointId, t.createdAt.desc(), t.id.desc()),
  index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} in ('pending', 'delivering')`),
  check('webhook_deliveries_status_check', sql`${t.status} in ('pending', 'delivering', 'succeeded', 'failed', 'cancelled')`),
])

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' })

/**
 * Uploaded files (OpenAI's `file` object). The bytes live behind the blob
 * store (`files/blob-store.ts`); this row is what the API lists.
 */
export const files = pgTable('files', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  filename: text('filename').notNull(),
  purpose: text('purpose').notNull(),
  bytes: bigint('bytes', { mode: 'number' }).notNull(),
  mimeType: text('mime_type'),
  sha256: text('sha256').notNull(),
  createdAt: createdAt(),
}, (t) => [index('files_project_idx').on(t.projectId, t.createdAt.desc(), t.id.desc())])

/** The Postgres blob store: file bytes, apart from the rows that list them (list queries never touch them). */
export const fileBlobs = pgTable('file_blobs', {
  fileId: text('file_id').primaryKey().references(() => files.id, { onDelete: 'cascade' }),
  content: bytea('content').notNull(),
})

const vector = customType<{ data: number[]; driverData: string }>({
  dataType: () => 'vector',
  toDriver: (value) => `[${value.join(',')}]`,
  fromDriver: (value) => JSON.parse(value) as number[],
})

/**
 * Embeddings of messages for semantic recall. Exists only where pgvector does:
 * its migration creates it conditionally.
 */
export const messageEmbeddings = pgTable('message_embeddings', {
  messageSeq: bigint('message_seq', { mode: 'number' }).primaryKey().references(() => messages.seq, { onDelete: 'cascade' }),
  projectId: text('project_id').notNull(),
  threadId: text('thread_id').notNull(),
  model: text('model').notNull(),
  embedding: vector('embedding').notNull(),
}, (t) => [index('message_embeddings_thread_idx').on(t.projectId, t.threadId)])

/**
 * Knowledge bases (OpenAI's vector stores). Status and file counts are not
 * stored here: they are counted from `vector_store_files`, so they can never
 * disagree with the files.
 */
export const vectorStores = pgTable('vector_stores', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  name: text('name').notNull().default(''),
  description: text('description'),
  metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
  /** OpenAI's `expires_after`: `{ anchor: 'last_active_at', days }`; null keeps the store. */
  expiresAfter: jsonb('expires_after').$type<{ anchor: 'last_active_at'; days: number }>(),
  lastActiveAt: timestamp('last_active_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** When the store expires: `last_active_at + expires_after.days`, kept in step by every write of either. */
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
}, (t) => [
  index('vector_stores_project_idx').on(t.projectId, t.createdAt.desc(), t.id.desc()),
  index('vector_stores_expires_idx').on(t.expiresAt).where(sql`${t.expiresAt} is not null`),
])

/**
 * Batches of files added together (OpenAI's `file_batches`). Counts and status
 * come from the files that name the batch; only a cancellation is stored.
 */
export const vectorStoreFileBatches = pgTable('vector_store_file_batches', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  vectorStoreId: text('vector_store_id').notNull().references(() => vectorStores.id, { onDelete: 'cascade' }),
  cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }),
  createdAt: createdAt(),
}, (t) => [index('vector_store_file_batches_store_idx').on(t.vectorStoreId)])

/**
 * A file in a vector store, and the state of its indexing. The row is also the
 * indexing queue's source of truth: a `pending` row whose lease has lapsed is
 * picked up again (see vector-stores/indexer.ts), so no file stays half-done.
 */
export const vectorStoreFiles = pgTable('vector_store_files', {
  vectorStoreId: text('vector_store_id').notNull().references(() => vectorStores.id, { onDelete: 'cascade' }),
  fileId: text('file_id').notNull().references(() => files.id, { onDelete: 'cascade' }),
  projectId: text('project_id').notNull(),
  /** The spec's values: pending → processed | error. */
  status: text('status').notNull().default('pending'),
  /** OpenAI's `{ code, message }` when `status` is `error`. */
  lastError: jsonb('last_error').$type<{ code: string; message: string }>(),
  attributes: jsonb('attributes').$type<Record<string, string | number | boolean>>().notNull().default({}),
  chunkingStrategy: jsonb('chunking_strategy').$type<{ type: 'static'; static: { max_chunk_size_tokens: number; chunk_overlap_tokens: number } }>().notNull(),
  batchId: text('batch_id'),
  /** Copied from the file (the spec's `filename`), so lists and search results need no join. */
  filename: text('filename').notNull(),
  usageBytes: bigint('usage_bytes', { mode: 'number' }).notNull().default(0),
  chunkCount: integer('chunk_count').notNull().default(0),
  /** While an indexer works on a pending file: until when its claim holds. */
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  attempts: integer('attempts').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  primaryKey({ columns: [t.vectorStoreId, t.fileId] }),
  index('vector_store_files_list_idx').on(t.vectorStoreId, t.createdAt.desc(), t.fileId.desc()),
  index('vector_store_files_file_idx').on(t.fileId),
  index('vector_store_files_batch_idx').on(t.batchId).where(sql`${t.batchId} is not null`),
  index('vector_store_files_pending_idx').on(t.leaseUntil).where(sql`${t.status} = 'pending'`),
  check('vector_store_files_status_check', sql`${t.status} in ('pending', 'processed', 'error')`),
])

/**
 * The chunks of an indexed file, with their place in the extracted text (UTF-8
 * byte offsets, so the text can be put back together without the overlaps).
 *
 * The table also has `search tsvector` (generated from `content`, GIN-indexed),
 * added by the hand-written part of migration 0005 and not declared here for the
 * same reason as on `messages`. Embeddings live in `vector_store_chunk_embeddings`,
 * which exists only where pgvector does (see db/migrate.ts).
 */
export const vectorStoreChunks = pgTable('vector_store_chunks', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  projectId: text('project_id').notNull(),
  vectorStoreId: text('vector_store_id').notNull(),
  fileId: text('file_id').notNull(),
  chunkIndex: integer('chunk_index').notNull(),
  content: text('content').notNull(),
  tokens: integer('tokens').notNull(),
  byteStart: integer('byte_start').notNull(),
  byteEnd: integer('byte_end').notNull(),
}, (t) => [
  index('vector_store_chunks_file_idx').on(t.vectorStoreId, t.fileId, t.chunkIndex),
  foreignKey({ columns: [t.vectorStoreId, t.fileId], foreignColumns: [vectorStoreFiles.vectorStoreId, vectorStoreFiles.fileId] }).onDelete('cascade'),
])

/**
 * One embedding per chunk, where pgvector exists. `embedding` has no fixed
 * dimension (models differ); the HNSW index is an expression index per model
 * and dimension, created when a model's first vectors are stored.
 */
export const vectorStoreChunkEmbeddings = pgTable('vector_store_chunk_embeddings', {
  chunkId: bigint('chunk_id', { mode: 'number' }).primaryKey().references(() => vectorStoreChunks.id, { onDelete: 'cascade' }),
  vectorStoreId: text('vector_store_id').notNull(),
  /** The chunk's file, copied so that a search filtered by file attributes joins the file directly. */
  fileId: text('file_id').notNull(),
  model: text('model').notNull(),
  embedding: vector('embedding').notNull(),
}, (t) => [index('vector_store_chunk_embeddings_store_idx').on(t.vectorStoreId, t.model)])
