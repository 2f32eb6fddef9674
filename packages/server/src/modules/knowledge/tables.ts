import { sql } from 'drizzle-orm'
import { bigint, bigserial, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { bytea, createdAt, vector } from '../../platform/db/columns.ts'
import { projects } from '../projects/index.ts'

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
