import type { z } from '@hono/zod-openapi'
import { and, asc, count, eq } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { memberships, projects } from './tables.ts'
import type { Principal } from '../../platform/http/context.ts'
import { toOffsetPage, totalCount, type OffsetPage, type PageParams } from '../../platform/http/paging.ts'
import { AppError } from '../../platform/errors.ts'
import type { ApiKeyService } from './api-keys.ts'
import type { ProjectCreatedSchema, ProjectSchema } from './schemas.ts'

/** API objects of this module, typed once from their schemas. */
export type Project = z.infer<typeof ProjectSchema>

/** A new project with its first API key, the only way in to it on the public API (shown once). */
export type ProjectCreated = z.infer<typeof ProjectCreatedSchema>

/** The name of the key a new project starts with. */
export const FIRST_KEY_NAME = 'default'

type ProjectRow = typeof projects.$inferSelect

export function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    organization_id: row.organizationId,
    avatar_url: row.avatarUrl,
    created_at: row.createdAt.toISOString(),
  }
}

export class ProjectService {
  private readonly db: Database
  private readonly apiKeys: ApiKeyService

  constructor(db: Database, apiKeys: ApiKeyService) {
    this.db = db
    this.apiKeys = apiKeys
  }

  /** A page of the projects of the caller's organization, oldest first, and how many it has. */
  async list(principal: Principal, page: PageParams): Promise<OffsetPage<Project>> {
    const where = eq(projects.organizationId, principal.organizationId)
    const rows = await this.db
      .select({ project: projects, total: totalCount() })
      .from(projects)
      .where(where)
      .orderBy(asc(projects.createdAt), asc(projects.id))
      .limit(page.limit)
      .offset(page.offset)
    return toOffsetPage(rows, page, (row) => toProject(row.project), async () => (await this.db.select({ total: count() }).from(projects).where(where))[0]?.total ?? 0)
  }

  /**
   * Creates a project in the caller's own organization (any other organization
   * is 403) together with its first API key. A key reaches its own project only,
   * so without one in this answer nobody on the public API could ever use the
   * new project. Both rows commit together: no project without its key.
   */
  async create(principal: Principal, input: { name: string; organization_id: string }): Promise<ProjectCreated> {
    if (input.organization_id !== principal.organizationId) {
      throw AppError.forbidden(`You do not have access to organization '${input.organization_id}'`)
    }
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(projects)
        .values({ id: newId('prj'), organizationId: principal.organizationId, name: input.name })
        .returning()
      const project = toProject(row!)
      const apiKey = await this.apiKeys.create(project.id, FIRST_KEY_NAME, { createdByUserId: principal.userId, db: tx as unknown as Database })
      return { ...project, api_key: apiKey }
    })
  }

  /**
   * The project whose API keys the caller may manage. An API key manages its own
   * project only: a sibling project of the same organization is 403, anything
   * else is invisible (404). The internal API (a member of the organization)
   * manages every project of it.
   */
  async requireManageable(principal: Principal, projectId: string): Promise<Project> {
    const [row] = await this.db
      .select()
      .from(projects)
      .where(and(eq(projects.id, projectId), eq(projects.organizationId, principal.organizationId)))
    if (!row) throw AppError.notFound('Project', projectId)
    if (principal.apiKeyId !== null && row.id !== principal.projectId) {
      throw AppError.forbidden(`This API key belongs to another project and cannot manage project '${projectId}'`)
    }
    return toProject(row)
  }

  /**
   * The internal API's check: the user is a member of the organization and the
   * project belongs to it, with the user's role there. Null when either is not so.
   */
  async resolveMember(organizationId: string, projectId: string, userId: string): Promise<Principal | null> {
    const [row] = await this.db
      .select({ projectId: projects.id, role: memberships.role })
      .from(projects)
      .innerJoin(memberships, and(eq(memberships.organizationId, projects.organizationId), eq(memberships.userId, userId)))
      .where(and(eq(projects.id, projectId), eq(projects.organizationId, organizationId)))
    if (!row) return null
    // The column's check constraint allows these three only; anything else is no membership.
    if (row.role !== 'owner' && row.role !== 'admin' && row.role !== 'member') return null
    return { organizationId, projectId: row.projectId, apiKeyId: null, userId, role: row.role }
  }
}
