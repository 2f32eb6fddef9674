import { createHash } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { Embedder } from '../local-embedder.ts'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import { files, vectorStoreChunkEmbeddings, vectorStoreChunks, vectorStoreFiles } from '../tables.ts'
import type { BlobStore } from '../files/blob-store.ts'
import type { JobInfo, JobQueue } from '../../../platform/jobs/queue.ts'
import { chunkText, type Chunk } from './chunking.ts'
import { ChunkStatistics } from './common-terms.ts'
import { extractText, ExtractionError, supportedFormat } from './extract.ts'
import type { VectorStoreService } from './stores.ts'

export const JOB_INDEX_FILE = 'vector-store.index-file'
const RETRY_LIMIT = 3
/** Chunks embedded per call (and stored per statement). */
const BATCH = 256
/** One embedding call's limit, retries included: a provider that hangs fails the attempt instead of holding a worker. */
const EMBED_TIMEOUT_MS = 120_000

type IndexJob = { projectId: string; vectorStoreId: string; fileId: string }

export type IndexerOptions = {
  /** How long a claim on a file holds without renewal; a process that died lets it lapse. */
  leaseMs: number
  /** How often lapsed or never-queued pending files are queued again, and expired stores deleted. */
  sweepMs: number
  /** Embeddings are stored (and searched) only where pgvector exists. */
  vector: boolean
}

/**
 * Turns a pending vector store file into chunks: extract → chunk → embed →
 * store, as a pg-boss job. The file's row is the source of truth: a job claims
 * it with a lease (renewed while it works) and commits the chunks and the
 * `processed` status in one transaction, fenced by the claim, so a job that
 * lost its claim, a cancelled batch or a removed file leave nothing behind.
 * Work that a crash interrupted is found by the sweep once the lease lapses.
 */
export class VectorStoreIndexer {
  private readonly handle: DatabaseHandle
  private readonly blobs: BlobStore
  private readonly embedder: Embedder
  private readonly stores: VectorStoreService
  private readonly log: Logger
  private readonly options: IndexerOptions
  private jobs: JobQueue | undefined
  private sweeper: NodeJS.Timeout | undefined
  private readonly indexedModels = new Set<string>()
  private readonly statistics: ChunkStatistics

  constructor(handle: DatabaseHandle, deps: { blobs: BlobStore; embedder: Embedder; stores: VectorStoreService; logger: Logger }, options: IndexerOptions) {
    this.handle = handle
    this.blobs = deps.blobs
    this.embedder = deps.embedder
    this.stores = deps.stores
    this.log = deps.logger.child({ component: 'indexer' })
    this.options = options
    this.statistics = new ChunkStatistics(handle)
  }

  private get db(): Database {
    return this.handle.db
  }

  register(jobs: JobQueue): void {
    this.jobs = jobs
    jobs.define<IndexJob>(JOB_INDEX_FILE, (job, info) => this.run(job, info), {
      retryLimit: RETRY_LIMIT,
      retryBackoff: true,
      // Two files at a time, and the next two at once: a worker otherwise waits a polling
      // interval after every job, which made a backlog drain at one file per poll (measured:
      // 40 files took 38.6 s for 0.3 s of work each).
      batchSize: 2,
      burstWhenBatchFull: true,
      // One queued job per file: the sweep and the API may both ask for the same one.
      policy: 'short',
    })
  }

  /** Queues the files' indexing. Without a job queue (an app built without workers) they wait for one. */
  async enqueue(projectId: string, vectorStoreId: string, fileIds: string[]): Promise<void> {
    const jobs = this.jobs
    if (!jobs) return
    await Promise.all(fileIds.map((fileId) => jobs.send<IndexJob>(JOB_INDEX_FILE, { projectId, vectorStoreId, fileId }, { singletonKey: `${vectorStoreId}:${fileId}` })))
  }

  /**
   * Starts the periodic sweep. `exclusive` says no other process shares the
   * database (embedded PGlite): the leases found are then a dead process's,
   * released at once instead of after they lapse.
   */
  async start({ exclusive }: { exclusive: boolean }): Promise<void> {
    if (exclusive) await this.db.update(vectorStoreFiles).set({ leaseUntil: null }).where(eq(vectorStoreFiles.status, 'pending'))
    await this.sweep()
    this.sweeper = setInterval(() => void this.sweep().catch((err) => this.log.warn({ err }, 'indexing sweep failed')), this.options.sweepMs)
    this.sweeper.unref()
  }

  stop(): void {
    clearInterval(this.sweeper)
  }

  /** Deletes expired stores and queues pending files that nobody works on. */
  async sweep(): Promise<void> {
    const expired = await this.stores.deleteExpired()
    if (expired > 0) this.log.info({ expired }, 'expired vector stores deleted')
    const orphans = await this.db
      .select({ projectId: vectorStoreFiles.projectId, vectorStoreId: vectorStoreFiles.vectorStoreId, fileId: vectorStoreFiles.fileId })
      .from(vectorStoreFiles)
      .where(and(eq(vectorStoreFiles.status, 'pending'), sql`(${vectorStoreFiles.leaseUntil} is null or ${vectorStoreFiles.leaseUntil} < now())`))
      .limit(1000)
    for (const file of orphans) await this.enqueue(file.projectId, file.vectorStoreId, [file.fileId])
  }

  private async run(job: IndexJob, info: JobInfo): Promise<void> {
    const claim = await this.claim(job)
    if (claim === null) return
    try {
      await this.index(job, claim, info.signal)
    } catch (error) {
      if (error instanceof LostClaim) return
      if (error instanceof ExtractionError) return this.fail(job, claim.attempts, supportedFormat(claim.filename, claim.mimeType) ? 'invalid_file' : 'unsupported_file', error.message)
      if (info.retryCount >= RETRY_LIMIT) return this.fail(job, claim.attempts, 'server_error', (error as Error).message)
      // Let the retry claim it at once rather than after the lease.
      await this.db.update(vectorStoreFiles).set({ leaseUntil: null }).where(and(this.fileIs(job), eq(vectorStoreFiles.attempts, claim.attempts)))
      throw error
    }
  }

  private fileIs(job: IndexJob) {
    return and(eq(vectorStoreFiles.projectId, job.projectId), eq(vectorStoreFiles.vectorStoreId, job.vectorStoreId), eq(vectorStoreFiles.fileId, job.fileId))
  }

  /** Takes the file if it is pending and nobody holds it; `attempts` after the claim fences every later write. */
  private async claim(job: IndexJob) {
    const [row] = await this.db
      .update(vectorStoreFiles)
      .set({ leaseUntil: sql`now() + make_interval(secs => ${this.options.leaseMs / 1000})`, attempts: sql`${vectorStoreFiles.attempts} + 1` })
      .where(and(this.fileIs(job), eq(vectorStoreFiles.status, 'pending'), sql`(${vectorStoreFiles.leaseUntil} is null or ${vectorStoreFiles.leaseUntil} < now())`))
      .returning({ attempts: vectorStoreFiles.attempts, filename: vectorStoreFiles.filename, chunkingStrategy: vectorStoreFiles.chunkingStrategy })
    if (!row) return null
    const [file] = await this.db.select({ mimeType: files.mimeType }).from(files).where(eq(files.id, job.fileId))
    return { ...row, mimeType: file?.mimeType ?? null }
  }

  private async renew(job: IndexJob, attempts: number): Promise<void> {
    const renewed = await this.db
      .update(vectorStoreFiles)
      .set({ leaseUntil: sql`now() + make_interval(secs => ${this.options.leaseMs / 1000})` })
      .where(and(this.fileIs(job), eq(vectorStoreFiles.status, 'pending'), eq(vectorStoreFiles.attempts, attempts)))
      .returning({ attempts: vectorStoreFiles.attempts })
    if (renewed.length === 0) throw new LostClaim()
  }

  private async index(job: IndexJob, claim: NonNullable<Awaited<ReturnType<VectorStoreIndexer['claim']>>>, stopping: AbortSignal): Promise<void> {
    const started = performance.now()
    const bytes = await this.blobs.get(job.fileId)
    if (!bytes) throw new LostClaim() // the file was deleted meanwhile
    const { text } = await extractText({ bytes, filename: claim.filename, mimeType: claim.mimeType })
    const chunks = chunkText(text, claim.chunkingStrategy)
    if (chunks.length === 0) throw new ExtractionError('no text could be extracted from the file')
    const embeddings: number[][] = []
    if (this.options.vector) {
      for (let start = 0; start < chunks.length; start += BATCH) {
        if (start > 0) await this.renew(job, claim.attempts)
        const abortSignal = AbortSignal.any([stopping, AbortSignal.timeout(EMBED_TIMEOUT_MS)])
        embeddings.push(...(await this.embedder.embed(chunks.slice(start, start + BATCH).map((chunk) => chunk.text), { abortSignal })))
      }
      const dimensions = embeddings[0]?.length ?? 0
      if (dimensions > 0) await this.ensureVectorIndex(this.embedder.id, dimensions)
    }
    const stored = await this.store(job, claim.attempts, chunks, embeddings)
    if (!stored) throw new LostClaim()
    this.statistics.added(chunks.length, (err) => this.log.warn({ err }, 'analyze of vector_store_chunks failed'))
    this.log.info({ vectorStoreId: job.vectorStoreId, fileId: job.fileId, chunks: chunks.length, ms: Math.round(performance.now() - started) }, 'file indexed')
  }

  /** Chunks, embeddings and the `processed` status in one transaction, if the claim still holds. */
  private async store(job: IndexJob, attempts: number, chunks: Chunk[], embeddings: number[][]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [held] = await tx
        .select({ status: vectorStoreFiles.status })
        .from(vectorStoreFiles)
        .where(and(this.fileIs(job), eq(vectorStoreFiles.attempts, attempts), eq(vectorStoreFiles.status, 'pending')))
        .for('update')
      if (!held) return false
      await tx.delete(vectorStoreChunks).where(and(eq(vectorStoreChunks.vectorStoreId, job.vectorStoreId), eq(vectorStoreChunks.fileId, job.fileId)))
      let usageBytes = 0
      for (let start = 0; start < chunks.length; start += BATCH) {
        const slice = chunks.slice(start, start + BATCH)
        const ids = await tx
          .insert(vectorStoreChunks)
          .values(slice.map((chunk) => ({
            projectId: job.projectId,
            vectorStoreId: job.vectorStoreId,
            fileId: job.fileId,
            chunkIndex: chunk.index,
            content: chunk.text,
            tokens: chunk.tokens,
            byteStart: chunk.byteStart,
            byteEnd: chunk.byteEnd,
          })))
          .returning({ id: vectorStoreChunks.id })
        usageBytes += slice.reduce((sum, chunk) => sum + chunk.byteEnd - chunk.byteStart, 0)
        if (embeddings.length > 0) {
          await tx.insert(vectorStoreChunkEmbeddings).values(ids.map((row, index) => ({
            chunkId: row.id,
            vectorStoreId: job.vectorStoreId,
            fileId: job.fileId,
            model: this.embedder.id,
            embedding: embeddings[start + index]!,
          })))
        }
      }
      await tx
        .update(vectorStoreFiles)
        .set({ status: 'processed', lastError: null, leaseUntil: null, usageBytes, chunkCount: chunks.length, updatedAt: sql`now()` })
        .where(this.fileIs(job))
      return true
    })
  }

  private async fail(job: IndexJob, attempts: number, code: string, message: string): Promise<void> {
    this.log.warn({ vectorStoreId: job.vectorStoreId, fileId: job.fileId, code, message }, 'file not indexed')
    await this.db
      .update(vectorStoreFiles)
      .set({ status: 'error', lastError: { code, message }, leaseUntil: null, updatedAt: sql`now()` })
      .where(and(this.fileIs(job), eq(vectorStoreFiles.attempts, attempts), eq(vectorStoreFiles.status, 'pending')))
  }

  /** The HNSW index for one embedding model and dimension (see vectorIndexName). */
  async ensureVectorIndex(model: string, dimensions: number): Promise<void> {
    const key = `${model}@${dimensions}`
    if (this.indexedModels.has(key)) return
    try {
      await this.db.execute(sql.raw(`create index if not exists ${vectorIndexName(model, dimensions)} on vector_store_chunk_embeddings using hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) where model = ${quoteLiteral(model)}`))
    } catch (error) {
      // Two processes creating it at once: the loser's error says it exists.
      if (!/already exists/.test((error as Error).message)) throw error
    }
    this.indexedModels.add(key)
  }
}

/** Thrown when the file stopped being ours to index: removed, cancelled, or claimed again after our lease lapsed. */
class LostClaim extends Error {}

/**
 * Embeddings of every model share one table with an untyped `vector` column;
 * HNSW needs a fixed dimension, so each model gets a partial expression index,
 * `(embedding::vector(N))` where `model = '…'`. A search names the same
 * expression and predicate (literally: a parameter would not match the
 * partial index's predicate), see search.ts.
 */
export function vectorIndexName(model: string, dimensions: number): string {
  return `vector_store_chunk_embeddings_hnsw_${createHash('sha256').update(`${model}@${dimensions}`).digest('hex').slice(0, 16)}`
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}
