import type { z } from '@hono/zod-openapi'
import { and, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import { newId } from '../../../platform/db/ids.ts'
import { vectorStoreFiles, vectorStores } from '../tables.ts'
import { AppError } from '../../../platform/errors.ts'
import { EMPTY_STATS, toVectorStoreObject, type FileCounts, type StoreStats, type VectorStoreObject, type Vocabulary } from './objects.ts'
import { keyset, toCursorList, type CursorList, type CursorParams } from '../../../platform/http/paging.ts'
import type { DeletedVectorStoreSchema } from './schemas.ts'

export type StoreRow = typeof vectorStores.$inferSelect

/** A store's `expires_after`, as the VectorStore object has it. */
export type ExpiresAfter = NonNullable<VectorStoreObject['expires_after']>

/** The answer of deleting a store, typed from its schema. */
export type DeletedVectorStore = z.infer<typeof DeletedVectorStoreSchema>

/** A store that has expired is gone: every read leaves it out, and the indexer's sweep deletes it. */
export const notExpired = (): SQL => or(isNull(vectorStores.expiresAt), sql`${vectorStores.expiresAt} > now()`)!

/** Stores of a project: created, listed, read, renamed, deleted. Counts come from their files. */
export class VectorStoreService {
  private readonly handle: DatabaseHandle

  constructor(handle: DatabaseHandle) {
    this.handle = handle
  }

  private get db(): Database {
    return this.handle.db
  }

  /** Inserts the store row (its files are added by the caller in the same transaction). */
  async insert(tx: Database, projectId: string, input: { name?: string | undefined; description?: string | null | undefined; metadata?: Record<string, string> | undefined; expiresAfter?: ExpiresAfter | null | undefined }): Promise<StoreRow> {
    const expiresAfter = input.expiresAfter ?? null
    const [row] = await tx
      .insert(vectorStores)
      .values({
        id: newId('vs'),
        projectId,
        name: input.name ?? '',
        description: input.description ?? null,
        metadata: input.metadata ?? {},
        expiresAfter,
        expiresAt: expiresAfter ? sql`now() + make_interval(days => ${expiresAfter.days})` : null,
      })
      .returning()
    return row!
  }

  async require(projectId: string, id: string, db: Database = this.db): Promise<StoreRow> {
    const [row] = await db.select().from(vectorStores).where(and(eq(vectorStores.projectId, projectId), eq(vectorStores.id, id), notExpired()))
    if (!row) throw AppError.notFound('Vector store', id)
    return row
  }

  /** Locks the store row for the rest of the transaction (adding files, cancelling a batch). */
  async lock(tx: Database, projectId: string, id: string): Promise<StoreRow> {
    const [row] = await tx.select().from(vectorStores).where(and(eq(vectorStores.projectId, projectId), eq(vectorStores.id, id), notExpired())).for('update')
    if (!row) throw AppError.notFound('Vector store', id)
    return row
  }

  async get(projectId: string, id: string, vocabulary: Vocabulary = 'spec'): Promise<VectorStoreObject> {
    return this.object(await this.require(projectId, id), vocabulary)
  }

  async object(row: StoreRow, vocabulary: Vocabulary = 'spec', db: Database = this.db): Promise<VectorStoreObject> {
    return toVectorStoreObject(row, (await this.stats([row.id], db)).get(row.id) ?? EMPTY_STATS, vocabulary)
  }

  async list(projectId: string, params: CursorParams): Promise<CursorList<VectorStoreObject>> {
    for (const cursor of [params.after, params.before]) {
      if (cursor !== undefined) await this.requireCursor(projectId, cursor)
    }
    const page = keyset(params, vectorStores.createdAt, vectorStores.id, (cursor) => sql`select created_at, id from vector_stores where id = ${cursor}`)
    const rows = await this.db
      .select()
      .from(vectorStores)
      .where(and(eq(vectorStores.projectId, projectId), notExpired(), page.position))
      .orderBy(...page.orderBy)
      .limit(page.limit)
    const stats = await this.stats(rows.map((row) => row.id))
    return toCursorList(rows, params, page.backwards, (row) => toVectorStoreObject(row, stats.get(row.id) ?? EMPTY_STATS))
  }

  private async requireCursor(projectId: string, id: string): Promise<void> {
    const [row] = await this.db.select({ id: vectorStores.id }).from(vectorStores).where(and(eq(vectorStores.projectId, projectId), eq(vectorStores.id, id)))
    if (!row) throw AppError.validation([{ path: 'query', message: `no vector store '${id}' in this project to page from` }])
  }

  async update(projectId: string, id: string, patch: { name?: string | undefined; metadata?: Record<string, string> | null | undefined; expiresAfter?: ExpiresAfter | null | undefined }): Promise<VectorStoreObject> {
    return this.db.transaction(async (tx) => {
      await this.lock(tx, projectId, id)
      const changes: Partial<typeof vectorStores.$inferInsert> = { updatedAt: sql`now()` as never }
      if (patch.name !== undefined) changes.name = patch.name
      if (patch.metadata !== undefined) changes.metadata = patch.metadata ?? {}
      if (patch.expiresAfter !== undefined) {
        changes.expiresAfter = patch.expiresAfter
        changes.expiresAt = (patch.expiresAfter ? sql`last_active_at + make_interval(days => ${patch.expiresAfter.days})` : null) as never
      }
      const [row] = await tx.update(vectorStores).set(changes).where(and(eq(vectorStores.projectId, projectId), eq(vectorStores.id, id))).returning()
      return this.object(row!, 'spec', tx)
    })
  }

  async delete(projectId: string, id: string): Promise<DeletedVectorStore> {
    const deleted = await this.db
      .delete(vectorStores)
      .where(and(eq(vectorStores.projectId, projectId), eq(vectorStores.id, id), notExpired()))
      .returning({ id: vectorStores.id })
    if (deleted.length === 0) throw AppError.notFound('Vector store', id)
    return { id, object: 'vector_store.deleted', deleted: true }
  }

  /** When this process last marked each store active; an UPDATE per search would be wasted. */
  private readonly touched = new Map<string, number>()

  /** A search uses the store: it stays alive as long as `expires_after` says, counted from now. */
  async touch(ids: string[]): Promise<void> {
    const now = Date.now()
    ids = ids.filter((id) => now - (this.touched.get(id) ?? 0) > 60_000)
    if (ids.length === 0) return
    if (this.touched.size > 10_000) this.touched.clear()
    for (const id of ids) this.touched.set(id, now)
    await this.db
      .update(vectorStores)
      .set({
        lastActiveAt: sql`now()`,
        expiresAt: sql`case when expires_after is null then null else now() + make_interval(days => (expires_after->>'days')::int) end`,
      })
      // At most once a minute per store: a busy store must not turn every search into a write.
      .where(and(inArray(vectorStores.id, ids), sql`${vectorStores.lastActiveAt} < now() - interval '1 minute'`))
  }

  /** Deletes stores whose time has come; their files, chunks and embeddings go with them (foreign keys). */
  async deleteExpired(): Promise<number> {
    const deleted = await this.db.delete(vectorStores).where(sql`${vectorStores.expiresAt} <= now()`).returning({ id: vectorStores.id })
    return deleted.length
  }

  /** File counts by status and bytes used, per store. */
  async stats(ids: string[], db: Database = this.db): Promise<Map<string, StoreStats>> {
    const result = new Map<string, StoreStats>()
    if (ids.length === 0) return result
    const rows = await db
      .select({
        id: vectorStoreFiles.vectorStoreId,
        ...fileCountColumns,
        usageBytes: sql<string>`coalesce(sum(${vectorStoreFiles.usageBytes}), 0)::text`,
      })
      .from(vectorStoreFiles)
      .where(inArray(vectorStoreFiles.vectorStoreId, ids))
      .groupBy(vectorStoreFiles.vectorStoreId)
    for (const row of rows) result.set(row.id, { fileCounts: toFileCounts(row), usageBytes: Number(row.usageBytes) })
    return result
  }
}

/** A file whose indexing was cancelled with its batch: `error` with `last_error.code` `cancelled`. */
export const isCancelledFile = sql`(${vectorStoreFiles.status} = 'error' and coalesce(${vectorStoreFiles.lastError}->>'code' = 'cancelled', false))`

/** OpenAI's `file_counts` as aggregate columns over `vector_store_files` (a store's or a batch's files). */
export const fileCountColumns = {
  inProgress: sql<number>`(count(*) filter (where ${vectorStoreFiles.status} = 'pending'))::int`,
  completed: sql<number>`(count(*) filter (where ${vectorStoreFiles.status} = 'processed'))::int`,
  failed: sql<number>`(count(*) filter (where ${vectorStoreFiles.status} = 'error' and not ${isCancelledFile}))::int`,
  cancelled: sql<number>`(count(*) filter (where ${isCancelledFile}))::int`,
  total: sql<number>`count(*)::int`,
}

export function toFileCounts(row: { inProgress: number; completed: number; failed: number; cancelled: number; total: number }): FileCounts {
  return { in_progress: row.inProgress, completed: row.completed, failed: row.failed, cancelled: row.cancelled, total: row.total }
}

/** Which of `ids` are live stores of the project (not expired); the others are another project's, deleted or unknown. */
export async function liveStoreIds(db: Pick<Database, 'select'>, projectId: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db
    .select({ id: vectorStores.id })
    .from(vectorStores)
    .where(and(eq(vectorStores.projectId, projectId), inArray(vectorStores.id, ids), notExpired()))
  return rows.map((row) => row.id)
}
