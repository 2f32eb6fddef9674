import type { APIPromise } from '../core/api-promise.ts'
import { CursorPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import { filePart, type Uploadable } from '../core/uploads.ts'
import type {
  ChunkingStrategy,
  DeletedVectorStore,
  DeletedVectorStoreFile,
  FileBatchFileListParams,
  VectorStore,
  VectorStoreCreate,
  VectorStoreFile,
  VectorStoreFileAttributes,
  VectorStoreFileBatch,
  VectorStoreFileBatchCreate,
  VectorStoreFileContent,
  VectorStoreFileCreate,
  VectorStoreFileListParams,
  VectorStoreFileUpdate,
  VectorStoreListParams,
  VectorStoreSearch,
  VectorStoreSearchPage,
  VectorStoreUpdate,
} from '../types.ts'
import { APIResource } from './resource.ts'

/** Knowledge bases (OpenAI-compatible vector stores). */
export class VectorStores extends APIResource {
  readonly files = new VectorStoreFiles(this.client)
  readonly fileBatches = new VectorStoreFileBatches(this.client)

  /** @example const store = await client.vectorStores.create({ name: 'Help center' }) */
  create(body: VectorStoreCreate, options?: RequestOptions): APIPromise<VectorStore> {
    return this.client.post(path`/vector_stores`, { body, ...options })
  }

  /** Paged by `after`. @example for await (const store of client.vectorStores.list()) console.log(store.name) */
  list(query: VectorStoreListParams = {}, options?: RequestOptions): PagePromise<CursorPage<VectorStore>> {
    return this.client.getPage<CursorPage<VectorStore>>(CursorPage, '/vector_stores', { query, ...options })
  }

  /** @example const store = await client.vectorStores.retrieve('vs_123') */
  retrieve(vectorStoreId: string, options?: RequestOptions): APIPromise<VectorStore> {
    return this.client.get(path`/vector_stores/${vectorStoreId}`, options)
  }

  /** @example await client.vectorStores.update('vs_123', { name: 'Help center (EU)' }) */
  update(vectorStoreId: string, body: VectorStoreUpdate, options?: RequestOptions): APIPromise<VectorStore> {
    return this.client.post(path`/vector_stores/${vectorStoreId}`, { body, ...options })
  }

  /** @example await client.vectorStores.delete('vs_123') */
  delete(vectorStoreId: string, options?: RequestOptions): APIPromise<DeletedVectorStore> {
    return this.client.delete(path`/vector_stores/${vectorStoreId}`, options)
  }

  /** @example const results = await client.vectorStores.search('vs_123', { query: 'How long do I have to return an item?' }) */
  search(vectorStoreId: string, body: VectorStoreSearch, options?: RequestOptions): APIPromise<VectorStoreSearchPage> {
    return this.client.post(path`/vector_stores/${vectorStoreId}/search`, { body, ...options })
  }
}

export type VectorStoreFileUploadParams = {
  /** A `File` (its name is used), a `Blob`, or bytes with `filename`. */
  file: Uploadable
  filename?: string
  attributes?: VectorStoreFileAttributes
  chunking_strategy?: ChunkingStrategy
}

export class VectorStoreFiles extends APIResource {
  readonly content = new VectorStoreFileContentResource(this.client)

  /** Adds an uploaded file to the store (indexing starts). @example await client.vectorStores.files.create('vs_123', { file_id: 'file_123' }) */
  create(vectorStoreId: string, body: VectorStoreFileCreate, options?: RequestOptions): APIPromise<VectorStoreFile> {
    return this.client.post(path`/vector_stores/${vectorStoreId}/files`, { body, ...options })
  }

  /**
   * Uploads a file straight into the store (multipart form of `create`).
   *
   * @example
   * await client.vectorStores.files.upload('vs_123', { file: new Blob(['Returns are free.']), filename: 'returns.txt' })
   */
  upload(vectorStoreId: string, params: VectorStoreFileUploadParams, options?: RequestOptions): APIPromise<VectorStoreFile> {
    const { blob, filename } = filePart(params.file, params.filename, 'file')
    const form = new FormData()
    form.append('file', blob, filename)
    if (params.attributes !== undefined) form.append('attributes', JSON.stringify(params.attributes))
    if (params.chunking_strategy !== undefined) form.append('chunking_strategy', JSON.stringify(params.chunking_strategy))
    return this.client.post(path`/vector_stores/${vectorStoreId}/files`, { body: form, ...options })
  }

  /** @example for await (const file of client.vectorStores.files.list('vs_123', { filter: 'completed' })) console.log(file.id) */
  list(vectorStoreId: string, query: VectorStoreFileListParams = {}, options?: RequestOptions): PagePromise<CursorPage<VectorStoreFile>> {
    return this.client.getPage<CursorPage<VectorStoreFile>>(CursorPage, path`/vector_stores/${vectorStoreId}/files`, { query, ...options })
  }

  /** @example const file = await client.vectorStores.files.retrieve('vs_123', 'file_123') */
  retrieve(vectorStoreId: string, fileId: string, options?: RequestOptions): APIPromise<VectorStoreFile> {
    return this.client.get(path`/vector_stores/${vectorStoreId}/files/${fileId}`, options)
  }

  /** @example await client.vectorStores.files.update('vs_123', 'file_123', { attributes: { region: 'eu' } }) */
  update(vectorStoreId: string, fileId: string, body: VectorStoreFileUpdate, options?: RequestOptions): APIPromise<VectorStoreFile> {
    return this.client.post(path`/vector_stores/${vectorStoreId}/files/${fileId}`, { body, ...options })
  }

  /** Removes the file from the store (the file itself stays). @example await client.vectorStores.files.delete('vs_123', 'file_123') */
  delete(vectorStoreId: string, fileId: string, options?: RequestOptions): APIPromise<DeletedVectorStoreFile> {
    return this.client.delete(path`/vector_stores/${vectorStoreId}/files/${fileId}`, options)
  }
}

export class VectorStoreFileContentResource extends APIResource {
  /** The file's text as the store parsed it. @example const { data } = await client.vectorStores.files.content.retrieve('vs_123', 'file_123') */
  retrieve(vectorStoreId: string, fileId: string, options?: RequestOptions): APIPromise<VectorStoreFileContent> {
    return this.client.get(path`/vector_stores/${vectorStoreId}/files/${fileId}/content`, options)
  }
}

export class VectorStoreFileBatches extends APIResource {
  readonly files = new VectorStoreFileBatchFiles(this.client)

  /** @example const batch = await client.vectorStores.fileBatches.create('vs_123', { file_ids: ['file_1', 'file_2'] }) */
  create(vectorStoreId: string, body: VectorStoreFileBatchCreate, options?: RequestOptions): APIPromise<VectorStoreFileBatch> {
    return this.client.post(path`/vector_stores/${vectorStoreId}/file_batches`, { body, ...options })
  }

  /** @example const batch = await client.vectorStores.fileBatches.retrieve('vs_123', 'vsfb_123') */
  retrieve(vectorStoreId: string, batchId: string, options?: RequestOptions): APIPromise<VectorStoreFileBatch> {
    return this.client.get(path`/vector_stores/${vectorStoreId}/file_batches/${batchId}`, options)
  }

  /** @example await client.vectorStores.fileBatches.cancel('vs_123', 'vsfb_123') */
  cancel(vectorStoreId: string, batchId: string, options?: RequestOptions): APIPromise<VectorStoreFileBatch> {
    return this.client.post(path`/vector_stores/${vectorStoreId}/file_batches/${batchId}/cancel`, options)
  }
}

export class VectorStoreFileBatchFiles extends APIResource {
  /** @example for await (const file of client.vectorStores.fileBatches.files.list('vs_123', 'vsfb_123')) console.log(file.status) */
  list(vectorStoreId: string, batchId: string, query: FileBatchFileListParams = {}, options?: RequestOptions): PagePromise<CursorPage<VectorStoreFile>> {
    return this.client.getPage<CursorPage<VectorStoreFile>>(CursorPage, path`/vector_stores/${vectorStoreId}/file_batches/${batchId}/files`, { query, ...options })
  }
}
