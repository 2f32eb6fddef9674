import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq, isNull, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { apiKeys, projects } from './tables.ts'
import type { ApiKeyCreatedSchema, ApiKeySchema } from './schemas.ts'
import type { Principal } from '../../platform/http/context.ts'
import { toOffsetPage, totalCount, type OffsetPage, type PageParams } from '../../platform/http/paging.ts'
import { generateApiKey, hashApiKey, isWellFormedApiKey, keyPrefix, sameHash } from './key-format.ts'

/** API objects of this module, typed once from their schemas. */
export type ApiKeyCreated = z.infer<typeof ApiKeyCreatedSchema>
export type ApiKeyInfo = z.infer<typeof ApiKeySchema>

/** NOTIFY channel on which every process learns that a key was deleted (payload: `<key id> <key hash>`). */
const REVOKED_CHANNEL = 'worken_api_key_revoked'
/** How long a verified key is trusted from memory. Deletions also evict at once, locally and via NOTIFY. */
const CACHE_TTL_MS = 10_000
const CACHE_MAX_ENTRIES = 10_000
/** `last_used_at` is written at most this often per key and process, never on every request. */
const TOUCH_INTERVAL_MS = 60_000

type CachedKey = { principal: Principal; keyHash: string; expiresAt: number }

export class ApiKeyService {
  private readonly cache = new Map<string, CachedKey>()
  /** The same entries by key id, for credentials that name their key instead of carrying it (event-stream tokens). */
  private readonly cacheById = new Map<string, CachedKey>()
  private readonly lastTouched = new Map<string, number>()
  private readonly pendingTouches = new Set<Promise<void>>()
  private readonly revocationListeners = new Set<(keyId: string) => void>()
  private readonly db: Database
  private readonly handle: DatabaseHandle
  private readonly logger: Logger

  constructor(handle: DatabaseHandle, logger: Logger) {
    this.handle = handle
    this.db = handle.db
    this.logger = logger
  }

  /** Subscribes to revocations from other processes. */
  async start(): Promise<void> {
    await this.handle.listen(REVOKED_CHANNEL, (payload) => {
      // A payload of a hash alone comes from a process of the previous version, during a rolling upgrade.
      const [first, second] = payload.split(' ')
      this.revoked(second === undefined ? null : first!, second ?? first!)
    })
  }

  /**
   * Calls `listener` with the id of every key deleted, here or in another process
   * (within a NOTIFY's delay), to end what the key holds open (event streams).
   */
  onRevoked(listener: (keyId: string) => void): () => void {
    this.revocationListeners.add(listener)
    return () => this.revocationListeners.delete(listener)
  }

  async create(projectId: string, name: string, options: { key?: string; createdByUserId?: string | null; db?: Database } = {}): Promise<ApiKeyCreated> {
    const key = options.key ?? generateApiKey()
    const [row] = await (options.db ?? this.db)
      .insert(apiKeys)
      .values({
        id: newId('key'),
        projectId,
        name,
        keyHash: hashApiKey(key),
        prefix: keyPrefix(key),
        createdByUserId: options.createdByUserId ?? null,
      })
      .returning()
    if (!row) throw new Error('insert returned no row')
    return { id: row.id, name: row.name, key, prefix: row.prefix, created_at: row.createdAt.toISOString() }
  }

  /** A page of the project's live keys, oldest first, and how many it has. */
  async list(projectId: string, page: PageParams): Promise<OffsetPage<ApiKeyInfo>> {
    const where = and(eq(apiKeys.projectId, projectId), isNull(apiKeys.deletedAt))
    const rows = await this.db
      .select({ key: apiKeys, total: totalCount() })
      .from(apiKeys)
      .where(where)
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
      .limit(page.limit)
      .offset(page.offset)
    return toOffsetPage(rows, page, ({ key: row }) => ({
      id: row.id,
      name: row.name,
      prefix: row.prefix,
      last_used_at: row.lastUsedAt?.toISOString() ?? null,
      created_at: row.createdAt.toISOString(),
    }), async () => (await this.db.select({ total: count() }).from(apiKeys).where(where))[0]?.total ?? 0)
  }

  /** Deletes a key of this project; false when there is no such live key. It stops working at once. */
  async delete(projectId: string, keyId: string): Promise<boolean> {
    const [row] = await this.db
      .update(apiKeys)
      .set({ deletedAt: sql`now()` })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId), isNull(apiKeys.deletedAt)))
      .returning({ keyHash: apiKeys.keyHash })
    if (!row) return false
    this.revoked(keyId, row.keyHash)
    await this.handle.notify(REVOKED_CHANNEL, `${keyId} ${row.keyHash}`).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'could not broadcast key revocation; other processes drop it within the cache TTL')
    })
    return true
  }

  /** The principal a bearer key stands for, or null for a malformed, unknown or deleted key. */
  async authenticate(key: string): Promise<Principal | null> {
    if (!isWellFormedApiKey(key)) return null
    const keyHash = hashApiKey(key)
    const now = Date.now()
    const cached = this.cache.get(keyHash)
    if (cached && cached.expiresAt > now) {
      this.touch(cached.principal.apiKeyId!, now)
      return cached.principal
    }
    const [row] = await this.db
      .select({ id: apiKeys.id, keyHash: apiKeys.keyHash, projectId: apiKeys.projectId, organizationId: projects.organizationId })
      .from(apiKeys)
      .innerJoin(projects, eq(projects.id, apiKeys.projectId))
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.deletedAt)))
    // The lookup is by hash, so its timing says nothing about the key; the final
    // comparison is constant-time all the same.
    if (!row || !sameHash(row.keyHash, keyHash)) {
      this.forget(keyHash)
      return null
    }
    const principal = this.remember(row, now)
    this.touch(row.id, now)
    return principal
  }

  /**
   * The principal of a live key, by its id: for a credential the key issued (an event-stream
   * token), which must die with it. Cached and evicted exactly like `authenticate`.
   */
  async principalOfKey(keyId: string): Promise<Principal | null> {
    const now = Date.now()
    const cached = this.cacheById.get(keyId)
    if (cached && cached.expiresAt > now) return cached.principal
    const [row] = await this.db
      .select({ id: apiKeys.id, keyHash: apiKeys.keyHash, projectId: apiKeys.projectId, organizationId: projects.organizationId })
      .from(apiKeys)
      .innerJoin(projects, eq(projects.id, apiKeys.projectId))
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.deletedAt)))
    if (!row) {
      this.cacheById.delete(keyId)
      return null
    }
    return this.remember(row, now)
  }

  private remember(row: { id: string; keyHash: string; projectId: string; organizationId: string }, now: number): Principal {
    const principal: Principal = { organizationId: row.organizationId, projectId: row.projectId, apiKeyId: row.id, userId: null, role: 'key' }
    // Both maps are cleared together, so an entry found by hash always finds its twin by id.
    if (this.cache.size >= CACHE_MAX_ENTRIES || this.cacheById.size >= CACHE_MAX_ENTRIES) {
      this.cache.clear()
      this.cacheById.clear()
    }
    const entry = { principal, keyHash: row.keyHash, expiresAt: now + CACHE_TTL_MS }
    this.cache.set(row.keyHash, entry)
    this.cacheById.set(row.id, entry)
    return principal
  }

  /** A key was deleted: out of both caches, and its holders told. Safe to run twice (locally, then on our own NOTIFY). */
  private revoked(keyId: string | null, keyHash: string): void {
    const cachedId = this.cache.get(keyHash)?.principal.apiKeyId ?? null
    this.forget(keyHash)
    const id = keyId ?? cachedId
    if (id === null) return
    this.cacheById.delete(id)
    for (const listener of this.revocationListeners) {
      try {
        listener(id)
      } catch (error) {
        this.logger.error({ err: error }, 'a key revocation listener failed')
      }
    }
  }

  /** Drops a key (by hash, as revocations are broadcast) from both caches. */
  private forget(keyHash: string): void {
    const entry = this.cache.get(keyHash)
    this.cache.delete(keyHash)
    if (entry) this.cacheById.delete(entry.principal.apiKeyId!)
  }

  /** Records use without a write per request: at most one UPDATE per key per interval, off the request path. */
  private touch(keyId: string, now: number): void {
    const last = this.lastTouched.get(keyId)
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return
    if (this.lastTouched.size >= CACHE_MAX_ENTRIES) this.lastTouched.clear()
    this.lastTouched.set(keyId, now)
    const write: Promise<void> = this.db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, keyId))
      .then(
        () => {},
        (error: unknown) => this.logger.warn({ err: error }, 'could not record api key use'),
      )
      .finally(() => this.pendingTouches.delete(write))
    this.pendingTouches.add(write)
  }

  /** Waits for `last_used_at` writes still in flight (at shutdown, before the database closes). */
  async flush(): Promise<void> {
    await Promise.all(this.pendingTouches)
  }
}
