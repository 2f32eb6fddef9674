// Where a review's server processes keep their data, and how they are started: real
// `node src/main.ts` processes, as an operator runs them, on PGlite or on Postgres.
import fs from 'node:fs'
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { openDatabase } from '../../src/platform/db/client.ts'
import { newId } from '../../src/platform/db/ids.ts'
import { ApiKeyService } from '../../src/modules/projects/api-keys.ts'
import { memberships, organizations, projects, users } from '../../src/schema.ts'
import { createScratchDatabase, dropScratchDatabase } from '../../test/support/harness.ts'
import { startServerProcess, type ServerProcess } from '../../test/support/process.ts'
import { migratedDataDir } from '../../test/support/template.ts'

export type BackendName = 'pglite' | 'postgres'

/** One database for server processes: a PGlite data directory or a Postgres scratch database. */
export type Store = {
  backend: BackendName
  env: Record<string, string>
  drop(): Promise<void>
}

export const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A fresh, migrated database (a copy of the test template: no initdb, no migrations at start). */
export async function newStore(backend: BackendName, label: string): Promise<Store> {
  if (backend === 'pglite') {
    const dir = await migratedDataDir(`worken-security-${label}`)
    return { backend, env: { WORKEN_DATA_DIR: dir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) }
  }
  const url = await createScratchDatabase(POSTGRES_URL, 'worken_security', { migrated: true })
  return { backend, env: { DATABASE_URL: url }, drop: () => dropScratchDatabase(POSTGRES_URL, url) }
}

/** An organization with an owner, a project and an API key chosen here. */
export type Tenant = { organizationId: string; userId: string; projectId: string; key: string; keyId: string }

/** A key as WORKEN_BOOTSTRAP_API_KEY wants it: sk- and 48 hex characters. */
export function newKey(): string {
  return `sk-${randomBytes(24).toString('hex')}`
}

/**
 * Seeds organizations straight into the database before the first server start: the API has
 * no route that creates an organization (POST /projects makes a project in the caller's own),
 * and a hostile tenant of a shared deployment is another organization. The first start then
 * finds organizations and skips its bootstrap.
 */
export async function seedOrganizations(store: Store, names: string[]): Promise<Tenant[]> {
  const handle = store.backend === 'pglite'
    ? await openDatabase({ driver: 'pglite', dataDir: store.env.WORKEN_DATA_DIR! })
    : await openDatabase({ driver: 'postgres', url: store.env.DATABASE_URL!, poolSize: 1 })
  try {
    const apiKeys = new ApiKeyService(handle, pino({ level: 'silent' }))
    const tenants: Tenant[] = []
    for (const name of names) {
      const organizationId = newId('org')
      const userId = newId('usr')
      const projectId = newId('prj')
      await handle.db.insert(organizations).values({ id: organizationId, name: `${name} organization` })
      await handle.db.insert(users).values({ id: userId, email: `${userId}@${name.toLowerCase()}.test`, name: `${name} owner` })
      await handle.db.insert(memberships).values({ organizationId, userId, role: 'owner' })
      await handle.db.insert(projects).values({ id: projectId, organizationId, name: `${name} project` })
      const key = newKey()
      const created = await apiKeys.create(projectId, `${name} key`, { key, createdByUserId: userId })
      tenants.push({ organizationId, userId, projectId, key, keyId: created.id })
    }
    return tenants
  } finally {
    await handle.close()
  }
}

/**
 * Starts a server process on `store`. Every outbound call it could make goes to loopback:
 * the model provider is the local fake LLM, and webhooks reach only what the review
 * registers (literal addresses and `localhost`; no name that would need DNS).
 */
export function startServer(store: Store, llmUrl: string, extra: Record<string, string> = {}): Promise<ServerProcess> {
  return startServerProcess({ ...store.env, OPENAI_API_KEY: 'test', OPENAI_BASE_URL: `${llmUrl}/v1`, ...extra }, 120_000)
}

/** Error log lines (pino level ≥ 50) a process printed, each with the request it was about (from its request line). */
export function errorLogs(server: ServerProcess): Array<{ msg: string; error: string; request: string }> {
  const entries: any[] = []
  for (const line of server.output().split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      entries.push(JSON.parse(line))
    } catch {}
  }
  const requests = new Map(entries.filter((entry) => entry.msg === 'request').map((entry) => [entry.requestId, `${entry.method} ${entry.path} → ${entry.status}`]))
  return entries
    .filter((entry) => entry.level >= 50)
    .map((entry) => ({ msg: entry.msg, error: `${entry.err?.type ?? ''} ${entry.err?.message ?? ''}${entry.err?.code ? ` (${entry.err.code})` : ''}`.trim(), request: requests.get(entry.requestId) ?? '' }))
}
