import { and, asc, eq } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { AppError } from '../../platform/errors.ts'
import type { ApiKeyCreated, ApiKeyService } from './api-keys.ts'
import { memberships, organizations, projects } from './tables.ts'

export type OwnerKeyCreated = { project: { id: string; name: string; organizationId: string }; apiKey: ApiKeyCreated }

/**
 * Mints an API key for a project on behalf of its organization's owner: the way
 * back in for whoever holds the database but no working key (`worken keys
 * create`). Without `projectId` the database's only project is meant; with
 * several, the caller must say which, and the error lists them.
 */
export async function createOwnerKey(db: Database, apiKeys: ApiKeyService, input: { projectId?: string | undefined; name: string }): Promise<OwnerKeyCreated> {
  const project = input.projectId ? await findProject(db, input.projectId) : await onlyProject(db)
  const [owner] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.organizationId, project.organizationId), eq(memberships.role, 'owner')))
    .orderBy(asc(memberships.createdAt), asc(memberships.userId))
    .limit(1)
  const apiKey = await apiKeys.create(project.id, input.name, { createdByUserId: owner?.userId ?? null })
  return { project, apiKey }
}

async function findProject(db: Database, projectId: string) {
  const [project] = await db
    .select({ id: projects.id, name: projects.name, organizationId: projects.organizationId })
    .from(projects)
    .where(eq(projects.id, projectId))
  if (!project) throw AppError.notFound('Project', projectId)
  return project
}

async function onlyProject(db: Database) {
  const all = await db
    .select({ id: projects.id, name: projects.name, organizationId: projects.organizationId, organizationName: organizations.name })
    .from(projects)
    .innerJoin(organizations, eq(organizations.id, projects.organizationId))
    .orderBy(asc(projects.createdAt), asc(projects.id))
    .limit(51)
  if (all.length === 0) throw new AppError('not_found', 'The database has no project yet: start the server once; its first start creates one and prints its key')
  if (all.length > 1) {
    const listed = all.slice(0, 50).map((project) => `  ${project.id}  ${project.name}  (${project.organizationName})`)
    if (all.length > 50) listed.push('  …')
    throw new AppError('invalid_request', `The database has several projects; name one with --project:\n${listed.join('\n')}`)
  }
  const [{ organizationName: _, ...project }] = all as [(typeof all)[number]]
  return project
}
