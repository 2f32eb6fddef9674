import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { bots } from './tables.ts'
import type { BotSchema, BotStatusSchema } from './schemas.ts'
import { AppError } from '../../platform/errors.ts'
import { toOffsetPage, totalCount, type OffsetPage, type PageParams } from '../../platform/http/paging.ts'
import { liveStoreIds } from '../knowledge/index.ts'
import { applySettingsPatch, BotSettingsSchema, defaultBotSettings, type BotSettings, type BotSettingsPatch } from './settings.ts'

/** API objects of this module, typed once from their schemas. */
export type BotStatus = z.infer<typeof BotStatusSchema>
export type Bot = z.infer<typeof BotSchema>

type BotRow = typeof bots.$inferSelect

/** The columns a `Bot` is made of: listings leave the settings document in the database. */
const botColumns = {
  id: bots.id,
  projectId: bots.projectId,
  name: bots.name,
  description: bots.description,
  status: bots.status,
  createdAt: bots.createdAt,
  updatedAt: bots.updatedAt,
}

export function toBot(row: Omit<BotRow, 'settings'>): Bot {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status as BotStatus,
    project_id: row.projectId,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

/** 422 naming every id that is not a live vector store of the project (an expired store counts as gone). */
async function requireVectorStores(db: Pick<Database, 'select'>, projectId: string, ids: string[]): Promise<void> {
  const existing = new Set(await liveStoreIds(db, projectId, ids))
  const problems = ids.flatMap((id, index) =>
    existing.has(id) ? [] : [{ path: `ai.knowledge.vector_store_ids.${index}`, message: `no vector store '${id}' in this project` }],
  )
  if (problems.length > 0) throw AppError.validation(problems)
}

const NAME_MAX = 200
const COPY_SUFFIX = ' (copy)'

/** Every method takes the caller's project id first: a bot of another project does not exist. */
export class BotService {
  private readonly db: Database
  /** `GET /bots` is the hottest read: its SQL is built once, not per request. */
  private readonly listQuery
  private readonly countQuery

  constructor(db: Database) {
    this.db = db
    this.listQuery = db
      .select({ ...botColumns, total: totalCount() })
      .from(bots)
      .where(eq(bots.projectId, sql.placeholder('projectId')))
      .orderBy(asc(bots.createdAt), asc(bots.id))
      .limit(sql.placeholder('limit'))
      .offset(sql.placeholder('offset'))
      .prepare('bots_list')
    this.countQuery = db.select({ total: count() }).from(bots).where(eq(bots.projectId, sql.placeholder('projectId'))).prepare('bots_count')
  }

  /** A page of the project's bots, oldest first, and how many it has. */
  async list(projectId: string, page: PageParams): Promise<OffsetPage<Bot>> {
    const rows = await this.listQuery.execute({ projectId, limit: page.limit, offset: page.offset })
    return toOffsetPage(rows, page, toBot, async () => (await this.countQuery.execute({ projectId }))[0]?.total ?? 0)
  }

  async create(projectId: string, input: { name: string; description?: string | null }): Promise<Bot> {
    const [row] = await this.db
      .insert(bots)
      .values({ id: newId('bot'), projectId, name: input.name, description: input.description ?? null, settings: defaultBotSettings() })
      .returning()
    return toBot(row!)
  }

  async get(projectId: string, botId: string): Promise<Bot> {
    return toBot(await this.requireRow(projectId, botId))
  }

  async update(projectId: string, botId: string, input: { name?: string; description?: string | null }): Promise<Bot> {
    return this.updateRow(projectId, botId, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    })
  }

  async setStatus(projectId: string, botId: string, status: BotStatus): Promise<Bot> {
    return this.updateRow(projectId, botId, { status })
  }

  async getSettings(projectId: string, botId: string): Promise<BotSettings> {
    // jsonb keeps keys in its own order; parsing restores the documented order.
    return BotSettingsSchema.parse((await this.requireRow(projectId, botId)).settings)
  }

  /**
   * Deep-merges the patch into the stored settings and validates the result.
   * The row is locked for the read-merge-write so concurrent patches to
   * different fields both survive. Vector store ids the patch names must be
   * stores of this project; ids already stored are not checked again, so a
   * store deleted since does not block unrelated changes (it just finds nothing).
   */
  async updateSettings(projectId: string, botId: string, patch: BotSettingsPatch): Promise<BotSettings> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(bots)
        .where(and(eq(bots.id, botId), eq(bots.projectId, projectId)))
        .for('update')
      if (!row) throw AppError.notFound('Bot', botId)
      const settings = applySettingsPatch(row.settings, patch)
      const storeIds = patch.ai?.knowledge?.vector_store_ids
      if (storeIds) await requireVectorStores(tx, projectId, storeIds)
      await tx.update(bots).set({ settings, updatedAt: sql`now()` }).where(eq(bots.id, botId))
      return settings
    })
  }

  /** A new bot with the same description and settings, named "<name> (copy)". */
  async clone(projectId: string, botId: string): Promise<Bot> {
    const source = await this.requireRow(projectId, botId)
    const name = source.name.slice(0, NAME_MAX - COPY_SUFFIX.length) + COPY_SUFFIX
    const [row] = await this.db
      .insert(bots)
      .values({ id: newId('bot'), projectId, name, description: source.description, settings: source.settings })
      .returning()
    return toBot(row!)
  }

  async delete(projectId: string, botId: string): Promise<void> {
    const deleted = await this.db
      .delete(bots)
      .where(and(eq(bots.id, botId), eq(bots.projectId, projectId)))
      .returning({ id: bots.id })
    if (deleted.length === 0) throw AppError.notFound('Bot', botId)
  }

  /** The bot with its settings, for services that act on it. */
  async requireRow(projectId: string, botId: string): Promise<BotRow> {
    const [row] = await this.db.select().from(bots).where(and(eq(bots.id, botId), eq(bots.projectId, projectId)))
    if (!row) throw AppError.notFound('Bot', botId)
    return row
  }

  private async updateRow(projectId: string, botId: string, changes: Partial<Pick<BotRow, 'name' | 'description' | 'status'>>): Promise<Bot> {
    const [row] = await this.db
      .update(bots)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(and(eq(bots.id, botId), eq(bots.projectId, projectId)))
      .returning()
    if (!row) throw AppError.notFound('Bot', botId)
    return toBot(row)
  }
}
