import type { z } from '@hono/zod-openapi'
import type { vectorStoreFiles, vectorStores } from '../tables.ts'
import type { FileBatchSchema, FileCountsSchema, VectorStoreFileSchema, VectorStoreSchema } from './schemas.ts'

/**
 * The objects of the vector store API: the spec's fields and OpenAI's, one
 * superset. Status values are the spec's (`ready`/`indexing`/`error`,
 * `pending`/`processed`/`error`); OpenAI's polling helpers, which would loop on
 * values they do not know, get OpenAI's words instead (see `Vocabulary`).
 * Times are ISO 8601 strings, as the spec's `created_at` is.
 */

/**
 * `spec` everywhere, except for a request from an official OpenAI SDK's polling
 * helper (`X-Stainless-Poll-Helper: true`): `openai` maps statuses to the words
 * it waits for (`in_progress`, `completed`, `failed`, `cancelled`).
 */
export type Vocabulary = 'spec' | 'openai'

/** API objects of this module, typed once from their schemas. */
export type FileCounts = z.infer<typeof FileCountsSchema>
export type VectorStoreObject = z.infer<typeof VectorStoreSchema>
export type VectorStoreFileObject = z.infer<typeof VectorStoreFileSchema>
export type FileBatchObject = z.infer<typeof FileBatchSchema>

export type StoreStats = { fileCounts: FileCounts; usageBytes: number }

export const EMPTY_STATS: StoreStats = { fileCounts: { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }, usageBytes: 0 }

export type VectorStoreStatus = 'ready' | 'indexing' | 'error'
export type VectorStoreFileStatus = 'pending' | 'processed' | 'error'

/** Indexing is in progress while any file is pending; `error` once it is done and some file could not be indexed. */
export function storeStatus(counts: FileCounts): VectorStoreStatus {
  if (counts.in_progress > 0) return 'indexing'
  if (counts.failed > 0) return 'error'
  return 'ready'
}

const OPENAI_STORE_STATUS: Record<VectorStoreStatus, string> = { ready: 'completed', indexing: 'in_progress', error: 'completed' }

export function toVectorStoreObject(row: typeof vectorStores.$inferSelect, stats: StoreStats, vocabulary: Vocabulary = 'spec'): VectorStoreObject {
  const status = storeStatus(stats.fileCounts)
  return {
    id: row.id,
    object: 'vector_store',
    name: row.name,
    description: row.description,
    status: vocabulary === 'openai' ? OPENAI_STORE_STATUS[status] : status,
    file_count: stats.fileCounts.total,
    file_counts: stats.fileCounts,
    usage_bytes: stats.usageBytes,
    created_at: row.createdAt.toISOString(),
    last_active_at: row.lastActiveAt.toISOString(),
    metadata: row.metadata,
    expires_after: row.expiresAfter ?? null,
    expires_at: row.expiresAt?.toISOString() ?? null,
  }
}

/** A file whose indexing was cancelled (its batch was) is `error` with this code. */
export const CANCELLED = 'cancelled'

function openaiFileStatus(row: typeof vectorStoreFiles.$inferSelect): string {
  if (row.status === 'pending') return 'in_progress'
  if (row.status === 'processed') return 'completed'
  return row.lastError?.code === CANCELLED ? 'cancelled' : 'failed'
}

export function toVectorStoreFileObject(row: typeof vectorStoreFiles.$inferSelect, vocabulary: Vocabulary = 'spec'): VectorStoreFileObject {
  return {
    id: row.fileId,
    object: 'vector_store.file',
    vector_store_id: row.vectorStoreId,
    filename: row.filename,
    status: vocabulary === 'openai' ? openaiFileStatus(row) : row.status,
    created_at: row.createdAt.toISOString(),
    usage_bytes: row.usageBytes,
    chunk_count: row.chunkCount,
    last_error: row.lastError ?? null,
    attributes: row.attributes,
    chunking_strategy: row.chunkingStrategy,
    batch_id: row.batchId,
  }
}

export function batchStatus(cancelled: boolean, counts: FileCounts): FileBatchObject['status'] {
  if (counts.in_progress > 0) return cancelled ? 'cancelled' : 'in_progress'
  if (cancelled) return 'cancelled'
  return counts.total > 0 && counts.failed === counts.total ? 'failed' : 'completed'
}
