import { sql } from 'drizzle-orm'
import type { ApiKeyService } from './api-keys.ts'
import type { Database } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { memberships, organizations, projects, users } from './tables.ts'

export type BootstrapResult = {
  organizationId: string
  projectId: string
  userId: string
  apiKey: string
}

const BOOTSTRAP_LOCK = 727_100_002

/**
 * On an empty database, creates the default organization, its owner, a project
 * and an API key. Returns null when the database already has an organization.
 * Safe when several processes start at once: a transaction-level advisory lock
 * lets exactly one of them do it.
 */
export async function bootstrap(db: Database, apiKeys: ApiKeyService, options: { apiKey?: string }): Promise<BootstrapResult | null> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`)
    const existing = await tx.select({ id: organizations.id }).from(organizations).limit(1)
    if (existing.length > 0) return null
    const organizationId = newId('org')
    const userId = newId('usr')
    const projectId = newId('prj')
    await tx.insert(organizations).values({ id: organizationId, name: 'Default organization' })
    await tx.insert(users).values({ id: userId, email: 'owner@localhost', name: 'Owner' })
    await tx.insert(memberships).values({ organizationId, userId, role: 'owner' })
    await tx.insert(projects).values({ id: projectId, organizationId, name: 'Default project' })
    const created = await apiKeys.create(projectId, 'bootstrap', { key: options.apiKey, createdByUserId: userId, db: tx as unknown as Database })
    return { organizationId, projectId, userId, apiKey: created.key }
  })
}
