import { sql } from 'drizzle-orm'
import { bigint, bigserial, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt, vector } from '../../platform/db/columns.ts'
import { projects } from '../projects/index.ts'
import { bots } from '../bots/index.ts'

export const chats = pgTable('chats', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull().references(() => projects.id, { onDelete: 'cascade' }),
  botId: text('bot_id').notNull().references(() => bots.id, { onDelete: 'cascade' }),
  integrationId: text('integration_id'),
  name: text('name').notNull(),
  status: text('status').notNull().default('active'),
  /** The caller's own settings for the chat (the spec's `settings?: object`): stored and returned, not read by the server. */
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [
  index('chats_project_idx').on(t.projectId, t.createdAt, t.id),
  // A bot's chats have distinct names, compared case-insensitively; the index is what makes
  // concurrent creates and renames safe (the losing one gets 23505 → 409 name_taken). It also
  // serves the bot's cascade, so chats_bot_idx is no longer needed.
  uniqueIndex('chats_bot_name_key').on(t.botId, sql`lower(${t.name})`),
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
  /**
   * For a message sent out through a channel (a bot's or an operator's, in a thread of an
   * integration): `pending`, `sent` (with the vendor's message id) or `failed` (with its error).
   * Null for every other message.
   */
  deliveryStatus: text('delivery_status'),
  deliveryExternalId: text('delivery_external_id'),
  deliveryError: text('delivery_error'),
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
 * Replies the bot owes: one row per accepted batch of user messages that an `auto` thread must answer,
 * written in the same transaction as the messages and deleted in the same transaction as the reply
 * (or its recorded failure). A row whose lease has lapsed belongs to a process that died mid-turn:
 * another one claims it and answers (owed-replies.ts).
 */
export const owedReplies = pgTable('owed_replies', {
  id: text('id').primaryKey(),
  projectId: text('project_id').notNull(),
  threadId: text('thread_id').notNull(),
  chatId: text('chat_id').notNull(),
  /** How many of the thread's newest user messages the reply answers (they close its history). */
  newMessages: integer('new_messages').notNull(),
  /** When it may be answered: now, or the API's `scheduledAt`. */
  dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** Who is answering it, until when (renewed while the model runs); null: nobody yet. */
  leaseOwner: text('lease_owner'),
  leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
  /** Claims so far: a reply that keeps failing after a crash is given up after a few, with an event. */
  attempts: integer('attempts').notNull().default(0),
  createdAt: createdAt(),
}, (t) => [
  index('owed_replies_due_idx').on(t.dueAt),
  index('owed_replies_thread_idx').on(t.projectId, t.threadId),
  foreignKey({ columns: [t.projectId, t.threadId], foreignColumns: [threads.projectId, threads.id] }).onDelete('cascade'),
])
