import type { Embedder } from '../local-embedder.ts'
import type { DatabaseHandle } from '../../../platform/db/client.ts'
import type { FileService } from '../files/service.ts'
import type { ChunkingStrategy } from './chunking.ts'
import type { Attributes } from './filters.ts'
import { toVectorStoreFileObject, type VectorStoreFileObject, type VectorStoreObject } from './objects.ts'
import { VectorStoreSearch } from './search.ts'
import { VectorStoreFileService, type OnFilesAdded } from './store-files.ts'
import { VectorStoreService, type ExpiresAfter } from './stores.ts'

export type CreateStoreInput = {
  name?: string | undefined
  description?: string | null | undefined
  file_ids?: string[] | undefined
  metadata?: Record<string, string> | null | undefined
  expires_after?: ExpiresAfter | null | undefined
  chunking_strategy?: ChunkingStrategy | undefined
}

export type KnowledgeBaseOptions = {
  /** The embedder that indexes files, where vectors work (pgvector); without it search is full text only. */
  embedder?: Embedder | undefined
  /** Hears of files added (after the commit), to queue their indexing; the workers' indexer. */
  onFilesAdded?: OnFilesAdded | undefined
}

/**
 * Knowledge bases: the stores, their files and batches, and search. The
 * indexer (vector-stores/indexer.ts) runs with the workers and hears of new
 * files through `onFilesAdded`.
 */
export class KnowledgeBaseService {
  private readonly handle: DatabaseHandle
  private readonly uploads: FileService
  readonly stores: VectorStoreService
  readonly files: VectorStoreFileService
  /** Hybrid with an embedder, else full text only. (Benchmarks swap it to compare search options.) */
  search: VectorStoreSearch

  constructor(handle: DatabaseHandle, uploads: FileService, options: KnowledgeBaseOptions = {}) {
    this.handle = handle
    this.uploads = uploads
    this.stores = new VectorStoreService(handle)
    this.files = new VectorStoreFileService(handle, this.stores, options.onFilesAdded)
    this.search = new VectorStoreSearch(handle, this.stores, options.embedder)
  }

  /** A store and its first files, in one transaction. */
  async create(projectId: string, input: CreateStoreInput): Promise<VectorStoreObject> {
    const { store, rows } = await this.handle.db.transaction(async (tx) => {
      const store = await this.stores.insert(tx, projectId, { name: input.name, description: input.description, metadata: input.metadata ?? undefined, expiresAfter: input.expires_after })
      const toAdd = (input.file_ids ?? []).map((fileId) => ({ fileId, chunkingStrategy: input.chunking_strategy }))
      const rows = await this.files.attach(tx, projectId, store.id, toAdd, (index) => `file_ids[${index}]`)
      return { store, rows }
    })
    await this.files.announce(projectId, store.id, rows)
    return this.stores.object(store)
  }

  /** A multipart upload to a store: the file is stored and added in one transaction. */
  async upload(
    projectId: string,
    vectorStoreId: string,
    file: { filename: string; mimeType: string | null; bytes: Uint8Array },
    options: { attributes?: Attributes | null | undefined; chunkingStrategy?: ChunkingStrategy | undefined },
  ): Promise<VectorStoreFileObject> {
    await this.stores.require(projectId, vectorStoreId)
    const row = await this.handle.db.transaction(async (tx) => {
      const uploaded = await this.uploads.insert(tx, projectId, { ...file, purpose: 'assistants' })
      return this.files.addUploaded(tx, projectId, vectorStoreId, { fileId: uploaded.id, ...options })
    })
    await this.files.announce(projectId, vectorStoreId, [row])
    return toVectorStoreFileObject(row)
  }
}
