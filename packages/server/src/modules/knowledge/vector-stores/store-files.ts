import type { z } from '@hono/zod-openapi'
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import { newId } from '../../../platform/db/ids.ts'
import { files, vectorStoreChunks, vectorStoreFileBatches, vectorStoreFiles } from '../tables.ts'
import { AppError } from '../../../platform/errors.ts'
import type { Attributes } from './filters.ts'
import { joinChunks, resolveChunkingStrategy, type ChunkingStrategy } from './chunking.ts'
import { batchStatus, CANCELLED, toVectorStoreFileObject, type FileBatchObject, type VectorStoreFileObject, type Vocabulary } from './objects.ts'
import { keyset, toCursorList, type CursorList, type CursorParams } from '../../../platform/http/paging.ts'
import { fileCountColumns, isCancelledFile, toFileCounts, type VectorStoreService } from './stores.ts'
import type { DeletedVectorStoreFileSchema, FILE_STATUS_FILTERS, FileContentPageSchema } from './schemas.ts'

export type FileToAdd = { fileId: string; attributes?: Attributes | null | undefined; chunkingStrategy?: ChunkingStrategy | undefined }

export type FileStatusFilter = (typeof FILE_STATUS_FILTERS)[number]

/** The answers of removing a file from a store and of reading its text, typed from their schemas. */
export type DeletedVectorStoreFile = z.infer<typeof DeletedVectorStoreFileSchema>
export type FileContentPage = z.infer<typeof FileContentPageSchema>

type FileRow = typeof vectorStoreFiles.$inferSelect

/** Called after a commit that added files, to queue their indexing. */
export type OnFilesAdded = (projectId: string, vectorStoreId: string, fileIds: string[]) => Promise<void>

const MAX_BATCH_FILES = 500

/** The files of vector stores (attach, list, read, update attributes, remove) and their batches. */
export class VectorStoreFileService {
  private readonly handle: DatabaseHandle
  private readonly stores: VectorStoreService
  private readonly onFilesAdded: OnFilesAdded

  constructor(handle: DatabaseHandle, stores: VectorStoreService, onFilesAdded: OnFilesAdded = async () => {}) {
    this.handle = handle
    this.stores = stores
    this.onFilesAdded = onFilesAdded
  }

  private get db(): Database {
    return this.handle.db
  }

  /**
   * Adds files of the project to a store, pending indexing, inside the caller's
   * transaction (which must hold the store's lock). `path` names the request
   * field in errors. The caller calls `announce` after commit.
   */
  async attach(tx: Database, projectId: string, vectorStoreId: string, toAdd: FileToAdd[], path: (index: number) => string, batchId: string | null = null): Promise<FileRow[]> {
    if (toAdd.length === 0) return []
    const ids = toAdd.map((file) => file.fileId)
    const seen = new Set<string>()
    ids.forEach((id, index) => {
      if (seen.has(id)) throw AppError.validation([{ path: path(index), message: `file '${id}' is listed twice` }])
      seen.add(id)
    })
    const found = new Map(
      (await tx.select({ id: files.id, filename: files.filename }).from(files).where(and(eq(files.projectId, projectId), inArray(files.id, ids)))).map((row) => [row.id, row.filename]),
    )
    const missing = ids.map((id, index) => ({ id, index })).filter(({ id }) => !found.has(id))
    if (missing.length > 0) throw AppError.validation(missing.map(({ id, index }) => ({ path: path(index), message: `no file '${id}' in this project` })))
    const present = await tx
      .select({ fileId: vectorStoreFiles.fileId })
      .from(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.vectorStoreId, vectorStoreId), inArray(vectorStoreFiles.fileId, ids)))
    if (present.length > 0) {
      throw AppError.conflict(`already in vector store '${vectorStoreId}': ${present.map((row) => row.fileId).join(', ')}; update attributes with POST /vector_stores/${vectorStoreId}/files/{file_id}, or remove the file first`)
    }
    return tx
      .insert(vectorStoreFiles)
      .values(toAdd.map((file) => ({
        vectorStoreId,
        fileId: file.fileId,
        projectId,
        filename: found.get(file.fileId)!,
        attributes: file.attributes ?? {},
        chunkingStrategy: resolveChunkingStrategy(file.chunkingStrategy),
        batchId,
      })))
      .returning()
  }

  /** After the commit: the new files are queued for indexing (a lost queue message is found again by the indexer's sweep). */
  async announce(projectId: string, vectorStoreId: string, rows: FileRow[]): Promise<void> {
    if (rows.length > 0) await this.onFilesAdded(projectId, vectorStoreId, rows.map((row) => row.fileId))
  }

  async add(projectId: string, vectorStoreId: string, file: FileToAdd): Promise<VectorStoreFileObject> {
    const rows = await this.db.transaction(async (tx) => {
      await this.stores.lock(tx, projectId, vectorStoreId)
      return this.attach(tx, projectId, vectorStoreId, [file], () => 'file_id')
    })
    await this.announce(projectId, vectorStoreId, rows)
    return toVectorStoreFileObject(rows[0]!)
  }

  /** Inside the transaction that stored an upload: the new file joins the store. */
  async addUploaded(tx: Database, projectId: string, vectorStoreId: string, file: FileToAdd): Promise<FileRow> {
    await this.stores.lock(tx, projectId, vectorStoreId)
    const [row] = await this.attach(tx, projectId, vectorStoreId, [file], () => 'file')
    return row!
  }

  async require(projectId: string, vectorStoreId: string, fileId: string): Promise<FileRow> {
    await this.stores.require(projectId, vectorStoreId)
    const [row] = await this.db
      .select()
      .from(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.projectId, projectId), eq(vectorStoreFiles.vectorStoreId, vectorStoreId), eq(vectorStoreFiles.fileId, fileId)))
    if (!row) throw AppError.notFound('Vector store file', fileId)
    return row
  }

  async get(projectId: string, vectorStoreId: string, fileId: string, vocabulary: Vocabulary = 'spec'): Promise<VectorStoreFileObject> {
    return toVectorStoreFileObject(await this.require(projectId, vectorStoreId, fileId), vocabulary)
  }

  async list(projectId: string, vectorStoreId: string, params: CursorParams & { filter?: FileStatusFilter | undefined; batchId?: string | undefined }): Promise<CursorList<VectorStoreFileObject>> {
    await this.stores.require(projectId, vectorStoreId)
    for (const cursor of [params.after, params.before]) {
      if (cursor === undefined) continue
      const [row] = await this.db.select({ id: vectorStoreFiles.fileId }).from(vectorStoreFiles).where(and(eq(vectorStoreFiles.vectorStoreId, vectorStoreId), eq(vectorStoreFiles.fileId, cursor)))
      if (!row) throw AppError.validation([{ path: 'query', message: `no file '${cursor}' in this vector store to page from` }])
    }
    const page = keyset(params, vectorStoreFiles.createdAt, vectorStoreFiles.fileId, (cursor) => sql`select created_at, file_id from vector_store_files where vector_store_id = ${vectorStoreId} and file_id = ${cursor}`)
    const rows = await this.db
      .select()
      .from(vectorStoreFiles)
      .where(and(
        eq(vectorStoreFiles.projectId, projectId),
        eq(vectorStoreFiles.vectorStoreId, vectorStoreId),
        params.batchId !== undefined ? eq(vectorStoreFiles.batchId, params.batchId) : undefined,
        params.filter !== undefined ? statusCondition(params.filter) : undefined,
        page.position,
      ))
      .orderBy(...page.orderBy)
      .limit(page.limit)
    return toCursorList(rows, params, page.backwards, (row) => toVectorStoreFileObject(row))
  }

  async updateAttributes(projectId: string, vectorStoreId: string, fileId: string, attributes: Attributes | null): Promise<VectorStoreFileObject> {
    await this.require(projectId, vectorStoreId, fileId)
    const [row] = await this.db
      .update(vectorStoreFiles)
      .set({ attributes: attributes ?? {}, updatedAt: sql`now()` })
      .where(and(eq(vectorStoreFiles.projectId, projectId), eq(vectorStoreFiles.vectorStoreId, vectorStoreId), eq(vectorStoreFiles.fileId, fileId)))
      .returning()
    if (!row) throw AppError.notFound('Vector store file', fileId)
    return toVectorStoreFileObject(row)
  }

  /** Takes the file out of the store (its chunks and embeddings go with it); the file itself stays. */
  async remove(projectId: string, vectorStoreId: string, fileId: string): Promise<DeletedVectorStoreFile> {
    await this.stores.require(projectId, vectorStoreId)
    const deleted = await this.db
      .delete(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.projectId, projectId), eq(vectorStoreFiles.vectorStoreId, vectorStoreId), eq(vectorStoreFiles.fileId, fileId)))
      .returning({ fileId: vectorStoreFiles.fileId })
    if (deleted.length === 0) throw AppError.notFound('Vector store file', fileId)
    return { id: fileId, object: 'vector_store.file.deleted', deleted: true }
  }

  /** The file's extracted text, put back together from its chunks (empty until it is processed). */
  async content(projectId: string, vectorStoreId: string, fileId: string): Promise<FileContentPage> {
    const file = await this.require(projectId, vectorStoreId, fileId)
    const chunks = await this.db
      .select({ text: vectorStoreChunks.content, byteStart: vectorStoreChunks.byteStart, byteEnd: vectorStoreChunks.byteEnd })
      .from(vectorStoreChunks)
      .where(and(eq(vectorStoreChunks.vectorStoreId, vectorStoreId), eq(vectorStoreChunks.fileId, fileId)))
      .orderBy(asc(vectorStoreChunks.chunkIndex))
    const data = file.status === 'processed' && chunks.length > 0 ? [{ type: 'text' as const, text: joinChunks(chunks) }] : []
    return { object: 'vector_store.file_content.page' as const, file_id: fileId, filename: file.filename, data, has_more: false, next_page: null }
  }

  // ── file batches ──────────────────────────────────────────────────────────

  async createBatch(projectId: string, vectorStoreId: string, input: { fileIds?: string[] | undefined; files?: FileToAdd[] | undefined; attributes?: Attributes | null | undefined; chunkingStrategy?: ChunkingStrategy | undefined }): Promise<FileBatchObject> {
    if ((input.fileIds === undefined) === (input.files === undefined)) {
      throw AppError.validation([{ path: 'file_ids', message: 'give either `file_ids` or `files`' }])
    }
    const toAdd = input.files ?? input.fileIds!.map((fileId) => ({ fileId, attributes: input.attributes, chunkingStrategy: input.chunkingStrategy }))
    const field = input.files ? 'files' : 'file_ids'
    if (toAdd.length === 0 || toAdd.length > MAX_BATCH_FILES) throw AppError.validation([{ path: field, message: `must list 1–${MAX_BATCH_FILES} files` }])
    const { batch, rows } = await this.db.transaction(async (tx) => {
      await this.stores.lock(tx, projectId, vectorStoreId)
      const [batch] = await tx.insert(vectorStoreFileBatches).values({ id: newId('vsfb'), projectId, vectorStoreId }).returning()
      const rows = await this.attach(tx, projectId, vectorStoreId, toAdd, (index) => (input.files ? `files[${index}].file_id` : `file_ids[${index}]`), batch!.id)
      return { batch: batch!, rows }
    })
    await this.announce(projectId, vectorStoreId, rows)
    return this.batchObject(batch)
  }

  async getBatch(projectId: string, vectorStoreId: string, batchId: string): Promise<FileBatchObject> {
    return this.batchObject(await this.requireBatch(projectId, vectorStoreId, batchId))
  }

  /** Stops what has not been indexed yet: those files end as `error` with code `cancelled`. */
  async cancelBatch(projectId: string, vectorStoreId: string, batchId: string): Promise<FileBatchObject> {
    const batch = await this.db.transaction(async (tx) => {
      await this.stores.lock(tx, projectId, vectorStoreId)
      const [batch] = await tx
        .update(vectorStoreFileBatches)
        .set({ cancelledAt: sql`coalesce(${vectorStoreFileBatches.cancelledAt}, now())` })
        .where(and(eq(vectorStoreFileBatches.projectId, projectId), eq(vectorStoreFileBatches.vectorStoreId, vectorStoreId), eq(vectorStoreFileBatches.id, batchId)))
        .returning()
      if (!batch) throw AppError.notFound('File batch', batchId)
      await tx
        .update(vectorStoreFiles)
        .set({ status: 'error', lastError: { code: CANCELLED, message: `indexing was cancelled with file batch ${batchId}` }, leaseUntil: null, updatedAt: sql`now()` })
        .where(and(eq(vectorStoreFiles.vectorStoreId, vectorStoreId), eq(vectorStoreFiles.batchId, batchId), eq(vectorStoreFiles.status, 'pending')))
      return batch
    })
    return this.batchObject(batch)
  }

  async requireBatch(projectId: string, vectorStoreId: string, batchId: string) {
    await this.stores.require(projectId, vectorStoreId)
    const [batch] = await this.db
      .select()
      .from(vectorStoreFileBatches)
      .where(and(eq(vectorStoreFileBatches.projectId, projectId), eq(vectorStoreFileBatches.vectorStoreId, vectorStoreId), eq(vectorStoreFileBatches.id, batchId)))
    if (!batch) throw AppError.notFound('File batch', batchId)
    return batch
  }

  private async batchObject(batch: typeof vectorStoreFileBatches.$inferSelect): Promise<FileBatchObject> {
    const [row] = await this.db
      .select(fileCountColumns)
      .from(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.vectorStoreId, batch.vectorStoreId), eq(vectorStoreFiles.batchId, batch.id)))
    const counts = toFileCounts(row!)
    // Batches have no status in the spec: OpenAI's words, whoever asks.
    return {
      id: batch.id,
      object: 'vector_store.files_batch',
      vector_store_id: batch.vectorStoreId,
      status: batchStatus(batch.cancelledAt !== null, counts),
      file_counts: counts,
      created_at: batch.createdAt.toISOString(),
    }
  }
}

function statusCondition(filter: FileStatusFilter): SQL {
  switch (filter) {
    case 'pending':
    case 'in_progress':
      return eq(vectorStoreFiles.status, 'pending')
    case 'processed':
    case 'completed':
      return eq(vectorStoreFiles.status, 'processed')
    case 'error':
      return eq(vectorStoreFiles.status, 'error')
    case 'failed':
      return sql`(${vectorStoreFiles.status} = 'error' and not ${isCancelledFile})`
    case 'cancelled':
      return isCancelledFile
  }
}
