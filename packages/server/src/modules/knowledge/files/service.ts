import { createHash } from 'node:crypto'
import type { z } from '@hono/zod-openapi'
import { and, eq, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import { newId } from '../../../platform/db/ids.ts'
import { files } from '../tables.ts'
import { AppError } from '../../../platform/errors.ts'
import { keyset, toCursorList, type CursorList } from '../../../platform/http/paging.ts'
import type { BlobStore } from './blob-store.ts'
import type { DeletedFileSchema, FileObjectSchema } from './schemas.ts'

/** API objects of this module, typed once from their schemas. */
export type FileObject = z.infer<typeof FileObjectSchema>
export type DeletedFile = z.infer<typeof DeletedFileSchema>

type FileRow = typeof files.$inferSelect

export function toFileObject(row: FileRow): FileObject {
  return {
    id: row.id,
    object: 'file',
    bytes: row.bytes,
    created_at: Math.floor(row.createdAt.getTime() / 1000),
    filename: row.filename,
    purpose: row.purpose,
    status: 'processed',
    expires_at: null,
    status_details: null,
  }
}

export type ListPage = { limit: number; order: 'asc' | 'desc'; after?: string | undefined; purpose?: string | undefined }

/** Uploaded files of a project: stored whole (row + blob, one transaction), listed, read back, deleted. */
export class FileService {
  private readonly handle: DatabaseHandle
  readonly blobs: BlobStore

  constructor(handle: DatabaseHandle, blobs: BlobStore) {
    this.handle = handle
    this.blobs = blobs
  }

  async create(projectId: string, input: { filename: string; purpose: string; mimeType: string | null; bytes: Uint8Array }): Promise<FileObject> {
    return toFileObject(await this.handle.db.transaction((tx) => this.insert(tx, projectId, input)))
  }

  /** Stores the row and the bytes inside the caller's transaction (an upload straight into a vector store). */
  async insert(tx: Database, projectId: string, input: { filename: string; purpose: string; mimeType: string | null; bytes: Uint8Array }): Promise<FileRow> {
    const id = newId('file')
    const [inserted] = await tx
      .insert(files)
      .values({
        id,
        projectId,
        filename: input.filename,
        purpose: input.purpose,
        bytes: input.bytes.byteLength,
        mimeType: input.mimeType,
        sha256: createHash('sha256').update(input.bytes).digest('hex'),
      })
      .returning()
    await this.blobs.put(tx, id, input.bytes)
    return inserted!
  }

  async list(projectId: string, params: ListPage): Promise<CursorList<FileObject>> {
    if (params.after !== undefined) await this.requireAfter(projectId, params.after)
    const page = keyset(params, files.createdAt, files.id, (cursor) => sql`select created_at, id from files where id = ${cursor}`)
    const rows = await this.handle.db
      .select()
      .from(files)
      .where(and(eq(files.projectId, projectId), params.purpose !== undefined ? eq(files.purpose, params.purpose) : undefined, page.position))
      .orderBy(...page.orderBy)
      .limit(page.limit)
    return toCursorList(rows, params, page.backwards, toFileObject)
  }

  private async requireAfter(projectId: string, after: string): Promise<void> {
    const [row] = await this.handle.db.select({ id: files.id }).from(files).where(and(eq(files.projectId, projectId), eq(files.id, after)))
    if (!row) throw AppError.validation([{ path: 'after', message: `no file '${after}' in this project` }])
  }

  async get(projectId: string, id: string): Promise<FileObject> {
    return toFileObject(await this.requireRow(projectId, id))
  }

  async requireRow(projectId: string, id: string): Promise<FileRow> {
    const [row] = await this.handle.db.select().from(files).where(and(eq(files.projectId, projectId), eq(files.id, id)))
    if (!row) throw AppError.notFound('File', id)
    return row
  }

  async content(projectId: string, id: string): Promise<{ row: FileRow; bytes: Uint8Array }> {
    const row = await this.requireRow(projectId, id)
    const bytes = await this.blobs.get(row.id)
    if (!bytes) throw new Error(`file ${row.id} has no stored content`)
    return { row, bytes }
  }

  /** Removes the file and its bytes (and, through foreign keys, its place in every vector store). */
  async delete(projectId: string, id: string): Promise<DeletedFile> {
    await this.handle.db.transaction(async (tx) => {
      const deleted = await tx.delete(files).where(and(eq(files.projectId, projectId), eq(files.id, id))).returning({ id: files.id })
      if (deleted.length === 0) throw AppError.notFound('File', id)
      await this.blobs.remove(tx, id)
    })
    return { id, object: 'file', deleted: true }
  }
}
