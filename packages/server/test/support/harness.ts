import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import pg from 'pg'
import pino from 'pino'
import { createApp, type App } from '../../src/app.ts'
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/client.ts'
import { newId } from '../../src/platform/db/ids.ts'
import { migrate } from '../../src/platform/db/migrate.ts'
import { memberships, organizations, projects, users } from '../../src/schema.ts'
import { createServices, type ServiceOptions, type Services, type WorkerOptions } from '../../src/services.ts'
import { pgliteTemplateBlob, postgresTemplate } from './template.ts'

export const silentLogger = pino({ level: 'silent' })

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or
 * a new database on the server named by TEST_DATABASE_URL (dropped afterwards).
 * Both start as a copy of the migrated template (template.ts); migrate() then
 * finds nothing to apply and reports whether pgvector is there.
 */
export async function freshDatabase(): Promise<{ handle: DatabaseHandle; url: string | undefined; vector: boolean; drop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) {
    const handle = await openDatabase({ driver: 'pglite', loadDataDir: await pgliteTemplateBlob() })
    const { vector } = await migrate(handle)
    return { handle, url: undefined, vector, drop: () => handle.close() }
  }
  const url = await createScratchDatabase(serverUrl, 'worken_test', { migrated: true })
  const handle = await openDatabase({ driver: 'postgres', url, poolSize: 5 })
  const { vector } = await migrate(handle)
  return {
    handle,
    url,
    vector,
    async drop() {
      await handle.close()
      await dropScratchDatabase(serverUrl, url)
    },
  }
}

/**
 * Creates a database next to the one in `serverUrl` and returns its URL: empty,
 * or with `migrated` a copy of the migrated template.
 */
export async function createScratchDatabase(serverUrl: string, prefix = 'worken_test', options: { migrated?: boolean } = {}): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const template = options.migrated ? await postgresTemplate(serverUrl) : undefined
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(template ? `create database ${name} template ${template}` : `create database ${name}`)
        break
      } catch (error) {
        // 55006: the template is in use (a copy of it being made elsewhere, say); it passes.
        if ((error as { code?: string }).code !== '55006' || attempt === 20) throw error
        await sleep(100 * attempt)
      }
    }
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export async function dropScratchDatabase(serverUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1)
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    await admin.query(`drop database if exists ${name} with (force)`)
  } finally {
    await admin.end()
  }
}

export type Seeded = { organizationId: string; projectId: string; userId: string; key: string; keyId: string }

export type TestResponse = { status: number; body: any; text: string; headers: Headers }

export type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<TestResponse>

export type TestContext = {
  database: DatabaseHandle
  services: Services
  publicApp: App
  internalApp: App
  /** A new organization with an owner, a project and an API key. */
  seed(options?: { organizationId?: string }): Promise<Seeded>
  /** Another user of this organization with this role, for the internal API (`{ ...seeded, userId }`). */
  addMember(organizationId: string, role: 'owner' | 'admin' | 'member'): Promise<string>
  /** Calls the public API with this key (or none). */
  asKey(key?: string): Call
  /** Calls the internal API with these Worken-* headers. */
  asMember(identity: { organizationId: string; projectId: string; userId: string }, extra?: Record<string, string>): Call
  close(): Promise<void>
}

export async function createTestContext(options: { internalToken?: string; services?: ServiceOptions; workers?: { embeddingModel?: string; oauthRefresh?: WorkerOptions['oauthRefresh'] } } = {}): Promise<TestContext> {
  const db = await freshDatabase()
  const services = createServices(db.handle, silentLogger, {
    ...options.services,
    ...(options.workers
      ? { workers: { embeddingModel: options.workers.embeddingModel ?? 'local/lexical-v1', vector: db.vector, pollingIntervalSeconds: 0.5, ...(options.workers.oauthRefresh ? { oauthRefresh: options.workers.oauthRefresh } : {}) } }
      : {}),
  })
  await services.apiKeys.start()
  const jobs = services.workers
  await jobs?.start()
  const publicApp = createApp({ kind: 'public', services, logger: silentLogger })
  const internalApp = createApp({ kind: 'internal', services, logger: silentLogger, internalToken: options.internalToken })

  const call = (app: App, baseHeaders: Record<string, string>): Call => async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...baseHeaders, ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
        ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
      }
    }
    const response = await app.request(path, init)
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: response.status, body: parsed, text, headers: response.headers }
  }

  return {
    database: db.handle,
    services,
    publicApp,
    internalApp,
    async seed(seedOptions = {}) {
      const organizationId = seedOptions.organizationId ?? newId('org')
      const userId = newId('usr')
      const projectId = newId('prj')
      const database = db.handle.db
      if (!seedOptions.organizationId) await database.insert(organizations).values({ id: organizationId, name: 'Test organization' })
      await database.insert(users).values({ id: userId, email: `${userId}@example.test`, name: 'Test user' })
      await database.insert(memberships).values({ organizationId, userId, role: 'owner' })
      await database.insert(projects).values({ id: projectId, organizationId, name: 'Test project' })
      const created = await services.apiKeys.create(projectId, 'test', { createdByUserId: userId })
      return { organizationId, projectId, userId, key: created.key, keyId: created.id }
    },
    async addMember(organizationId, role) {
      const userId = newId('usr')
      await db.handle.db.insert(users).values({ id: userId, email: `${userId}@example.test`, name: `Test ${role}` })
      await db.handle.db.insert(memberships).values({ organizationId, userId, role })
      return userId
    },
    asKey(key) {
      return call(publicApp, key === undefined ? {} : { authorization: `Bearer ${key}` })
    },
    asMember(identity, extra = {}) {
      return call(internalApp, {
        'worken-organization': identity.organizationId,
        'worken-project': identity.projectId,
        'worken-user': identity.userId,
        ...extra,
      })
    },
    async close() {
      await jobs?.stop({ graceful: false })
      await services.apiKeys.flush()
      await db.drop()
    },
  }
}

/** Provider configuration whose `openai` provider is a local test server (see llm-server.ts). */
export function openaiAt(baseUrl: string): NonNullable<ServiceOptions['providers']> {
  return { openai: { apiKey: 'test', baseUrl }, anthropic: undefined, openrouter: undefined, compatible: [] }
}

/** Serves an app on a free port of 127.0.0.1 over real HTTP (for clients such as the `openai` package). */
export async function serveOnLoopback(app: App): Promise<{ base: string; server: Server; close(): Promise<void> }> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
