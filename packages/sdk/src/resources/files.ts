import type { APIPromise } from '../core/api-promise.ts'
import { CursorPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import { filePart, type Uploadable } from '../core/uploads.ts'
import type { DeletedFile, FileListParams, FileObject } from '../types.ts'
import { APIResource } from './resource.ts'

export type FileCreateParams = {
  /** The content: a `File` (its name is used), a `Blob`, or bytes with `filename`. */
  file: Uploadable
  /** Needed unless `file` is a `File` with a name; its extension decides how it is read (.txt, .md, .pdf, .docx, …). */
  filename?: string
  /** Knowledge bases use `assistants`. */
  purpose: 'assistants' | 'batch' | 'fine-tune' | 'vision' | 'user_data' | 'evals'
}

/** Uploaded files (OpenAI-compatible), e.g. for vector stores. */
export class Files extends APIResource {
  readonly content = new FileContent(this.client)

  /**
   * Uploads a file (multipart).
   *
   * @example
   * const file = await client.files.create({
   *   file: new TextEncoder().encode('Returns are free within 30 days.'),
   *   filename: 'returns.txt',
   *   purpose: 'assistants',
   * })
   */
  create(params: FileCreateParams, options?: RequestOptions): APIPromise<FileObject> {
    const { blob, filename } = filePart(params.file, params.filename, 'file')
    const form = new FormData()
    form.append('purpose', params.purpose)
    form.append('file', blob, filename)
    return this.client.post(path`/files`, { body: form, ...options })
  }

  /** Newest first by default, paged by `after`. @example for await (const file of client.files.list({ purpose: 'assistants' })) console.log(file.filename) */
  list(query: FileListParams = {}, options?: RequestOptions): PagePromise<CursorPage<FileObject>> {
    return this.client.getPage<CursorPage<FileObject>>(CursorPage, '/files', { query, ...options })
  }

  /** @example const file = await client.files.retrieve('file_123') */
  retrieve(fileId: string, options?: RequestOptions): APIPromise<FileObject> {
    return this.client.get(path`/files/${fileId}`, options)
  }

  /** @example await client.files.delete('file_123') */
  delete(fileId: string, options?: RequestOptions): APIPromise<DeletedFile> {
    return this.client.delete(path`/files/${fileId}`, options)
  }
}

export class FileContent extends APIResource {
  /**
   * The file's bytes as a `Response` whose body is not read yet: stream it, or
   * `await response.arrayBuffer()` / `.text()`.
   *
   * @example
   * const response = await client.files.content.retrieve('file_123')
   * const bytes = new Uint8Array(await response.arrayBuffer())
   */
  retrieve(fileId: string, options?: RequestOptions): Promise<Response> {
    return this.client.download(path`/files/${fileId}/content`, options)
  }
}
