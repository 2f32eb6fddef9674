import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, eq } from 'drizzle-orm'
import { apiKeys, memberships } from '../../../src/schema.ts'
import { hashApiKey } from '../../../src/modules/projects/key-format.ts'
import { createTestContext, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let tenant: Seeded
let other: Seeded

before(async () => {
  ctx = await createTestContext()
  tenant = await ctx.seed()
  other = await ctx.seed()
})
after(() => ctx.close())

const UNAUTHORIZED = '{"error":"Unauthorized","code":"unauthorized"}'

describe('public API auth', () => {
  it('answers exactly {"error":"Unauthorized","code":"unauthorized"} for missing, malformed, unknown and deleted keys', async () => {
    const call = (headers: Record<string, string>) => ctx.asKey()('GET', '/bots', undefined, headers)
    const deletable = await ctx.services.apiKeys.create(tenant.projectId, 'to delete')
    await ctx.services.apiKeys.delete(tenant.projectId, deletable.id)
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      'no sk- prefix': { authorization: `Bearer ${tenant.key.slice(3)}` },
      'wrong prefix': { authorization: `Bearer pk-${tenant.key.slice(3)}` },
      'not hex': { authorization: 'Bearer sk-not-hex-at-all' },
      'empty after prefix': { authorization: 'Bearer sk-' },
      'unknown key': { authorization: `Bearer sk-${'ab'.repeat(32)}` },
      'deleted key': { authorization: `Bearer ${deletable.key}` },
      'basic scheme': { authorization: `Basic ${Buffer.from(`user:${tenant.key}`).toString('base64')}` },
      'key without scheme': { authorization: tenant.key },
      'Worken headers only': { 'worken-organization': tenant.organizationId, 'worken-project': tenant.projectId, 'worken-user': tenant.userId },
    }
    for (const [name, headers] of Object.entries(cases)) {
      const response = await call(headers)
      assert.equal(response.status, 401, name)
      assert.equal(response.text, UNAUTHORIZED, name)
    }
  })

  it('accepts a valid key and applies to every route, including unknown ones', async () => {
    assert.equal((await ctx.asKey(tenant.key)('GET', '/bots')).status, 200)
    assert.equal((await ctx.asKey()('GET', '/no-such-route')).text, UNAUTHORIZED)
    assert.equal((await ctx.asKey()('POST', '/projects', { name: 'x', organization_id: tenant.organizationId })).status, 401)
  })

  it('stores only the SHA-256 hash of a key', async () => {
    const [row] = await ctx.database.db.select().from(apiKeys).where(eq(apiKeys.id, tenant.keyId))
    assert.ok(row)
    assert.equal(row.keyHash, hashApiKey(tenant.key))
    assert.ok(!JSON.stringify(row).includes(tenant.key.slice(3)))
  })

  it('ignores Worken-* headers: another project in them changes nothing', async () => {
    const theirs = await ctx.asKey(other.key)('POST', '/bots', { name: 'Theirs' })
    const call = ctx.asKey(tenant.key)
    const spoof = { 'worken-organization': other.organizationId, 'worken-project': other.projectId, 'worken-user': other.userId }
    const list = await call('GET', '/bots', undefined, spoof)
    assert.equal(list.status, 200)
    assert.ok(list.body.every((bot: any) => bot.project_id === tenant.projectId))
    assert.equal((await call('GET', `/bots/${theirs.body.id}`, undefined, spoof)).status, 404)
    const created = await call('POST', '/bots', { name: 'Mine' }, spoof)
    assert.equal(created.body.project_id, tenant.projectId)
    const projects = await call('GET', '/projects', undefined, spoof)
    assert.deepEqual(projects.body.map((p: any) => p.id), [tenant.projectId])
    assert.equal((await call('GET', `/projects/${other.projectId}/api-keys`, undefined, spoof)).status, 404)
  })

  it('records last_used_at without writing on every request', async () => {
    const fresh = await ctx.services.apiKeys.create(tenant.projectId, 'usage')
    const lastUsed = async () => {
      const [row] = await ctx.database.db.select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, fresh.id))
      return row?.at ?? null
    }
    assert.equal(await lastUsed(), null)
    await ctx.asKey(fresh.key)('GET', '/bots')
    await ctx.services.apiKeys.flush()
    const first = await lastUsed()
    assert.ok(first instanceof Date)
    for (let i = 0; i < 5; i++) await ctx.asKey(fresh.key)('GET', '/bots')
    await ctx.services.apiKeys.flush()
    // Throttled: repeated use within the interval does not write again.
    assert.equal((await lastUsed())?.getTime(), first.getTime())
    const listed = await ctx.asKey(tenant.key)('GET', `/projects/${tenant.projectId}/api-keys`)
    assert.equal(listed.body.find((k: any) => k.id === fresh.id).last_used_at, first.toISOString())
  })

  it('a deleted key stops working at once, even after it was cached', async () => {
    const key = await ctx.services.apiKeys.create(tenant.projectId, 'cached')
    assert.equal((await ctx.asKey(key.key)('GET', '/bots')).status, 200)
    const deleted = await ctx.asKey(tenant.key)('DELETE', `/projects/${tenant.projectId}/api-keys/${key.id}`)
    assert.equal(deleted.status, 200)
    assert.equal((await ctx.asKey(key.key)('GET', '/bots')).status, 401)
  })

  it('a deletion made by another process reaches this one through NOTIFY', async () => {
    const key = await ctx.services.apiKeys.create(tenant.projectId, 'remote')
    assert.equal((await ctx.asKey(key.key)('GET', '/bots')).status, 200)
    // Simulate another process: it updates the row and broadcasts, bypassing this process's cache.
    await ctx.database.db.update(apiKeys).set({ deletedAt: new Date() }).where(eq(apiKeys.id, key.id))
    await ctx.database.notify('worken_api_key_revoked', hashApiKey(key.key))
    let status = 200
    for (let i = 0; i < 50 && status === 200; i++) {
      await sleep(20)
      status = (await ctx.asKey(key.key)('GET', '/bots')).status
    }
    assert.equal(status, 401)
  })
})

describe('internal API auth', () => {
  it('accepts a member of the organization for a project of it', async () => {
    const response = await ctx.asMember(tenant)('GET', '/bots')
    assert.equal(response.status, 200)
  })

  it('missing headers are 401', async () => {
    for (const drop of ['worken-organization', 'worken-project', 'worken-user']) {
      const headers: Record<string, string> = { 'worken-organization': tenant.organizationId, 'worken-project': tenant.projectId, 'worken-user': tenant.userId }
      delete headers[drop]
      const response = await ctx.asMember({ organizationId: '', projectId: '', userId: '' })('GET', '/bots', undefined, { ...headers, [drop]: '' })
      assert.equal(response.status, 401, drop)
      assert.equal(response.text, UNAUTHORIZED)
    }
  })

  it('a non-member, or a project outside the organization, is 403', async () => {
    const cases = {
      'user of another organization': { ...tenant, userId: other.userId },
      'project of another organization': { ...tenant, projectId: other.projectId },
      'organization the user is not in': { ...tenant, organizationId: other.organizationId },
      'unknown user': { ...tenant, userId: 'usr_unknown' },
      'malformed ids': { ...tenant, projectId: 'not an id!' },
    }
    for (const [name, identity] of Object.entries(cases)) {
      const response = await ctx.asMember(identity)('GET', '/bots')
      assert.equal(response.status, 403, name)
      assert.equal(response.body.error, 'Forbidden')
    }
  })

  it('does not accept API keys: the internal listener has its own auth', async () => {
    const response = await ctx.asMember({ organizationId: '', projectId: '', userId: '' })('GET', '/bots', undefined, {
      authorization: `Bearer ${tenant.key}`,
      'worken-organization': '',
      'worken-project': '',
      'worken-user': '',
    })
    assert.equal(response.status, 401)
  })
})

describe('internal API token', () => {
  it('requires WORKEN_INTERNAL_TOKEN when it is set', async () => {
    const guarded = await createTestContext({ internalToken: 'internal-token-0123456789' })
    try {
      const member = await guarded.seed()
      assert.equal((await guarded.asMember(member)('GET', '/bots')).status, 401)
      assert.equal((await guarded.asMember(member, { authorization: 'Bearer wrong-token-0123456789' })('GET', '/bots')).status, 401)
      assert.equal((await guarded.asMember(member, { authorization: 'Bearer internal-token-0123456789' })('GET', '/bots')).status, 200)
      const nonMember = { ...member, userId: 'usr_nobody' }
      assert.equal((await guarded.asMember(nonMember, { authorization: 'Bearer internal-token-0123456789' })('GET', '/bots')).status, 403)
    } finally {
      await guarded.close()
    }
  })
})

describe('internal API roles (docs/design.md, "Roles on the internal API")', () => {
  // One organization, three users: the owner `tenant.userId`, an admin and a member (an operator).
  let admin: Seeded
  let member: Seeded
  let botId: string
  let chatId: string
  before(async () => {
    admin = { ...tenant, userId: await ctx.addMember(tenant.organizationId, 'admin') }
    member = { ...tenant, userId: await ctx.addMember(tenant.organizationId, 'member') }
    const owner = ctx.asMember(tenant)
    botId = (await owner('POST', '/bots', { name: 'Desk' })).body.id
    assert.equal((await owner('POST', `/bots/${botId}/settings`, { ai: { model: { id: 'local/echo' }, memory: { generateTitle: false } } })).status, 200)
    chatId = (await owner('POST', '/chats', { bot_id: botId, name: 'Desk' })).body.id
    const opened = await owner('POST', `/chats/${chatId}/threads/t-roles/stream`, { messages: [{ role: 'user', content: 'hello' }] })
    assert.equal(opened.status, 200, opened.text)
  })

  const NEEDS_ADMIN = /needs the owner or admin role in organization 'org_\w+'; this user's role is member/

  it('a member may not manage API keys or create projects: 403 naming the role needed', async () => {
    const call = ctx.asMember(member)
    const refused: Array<[string, string, unknown?]> = [
      ['POST', '/projects', { name: 'Mine', organization_id: tenant.organizationId }],
      ['GET', `/projects/${tenant.projectId}/api-keys`],
      ['POST', `/projects/${tenant.projectId}/api-keys`, { name: 'mine' }],
      ['DELETE', `/projects/${tenant.projectId}/api-keys/${tenant.keyId}`],
    ]
    for (const [method, path, body] of refused) {
      const response = await call(method, path, body)
      assert.equal(response.status, 403, `${method} ${path}: ${response.text}`)
      assert.equal(response.body.code, 'forbidden')
      assert.match(response.body.message, NEEDS_ADMIN, `${method} ${path}`)
    }
    // The key still works: the refused delete did nothing.
    assert.equal((await ctx.asKey(tenant.key)('GET', '/bots')).status, 200)
  })

  it('a member may not change the project\'s configuration: bots, chats, knowledge, webhooks, thread deletion', async () => {
    const call = ctx.asMember(member)
    const refused: Array<[string, string, unknown?]> = [
      ['POST', '/bots', { name: 'Mine' }],
      ['POST', `/bots/${botId}`, { name: 'Renamed' }],
      ['POST', `/bots/${botId}/settings`, { ai: { memory: { generateTitle: false } } }],
      ['POST', `/bots/${botId}/status`, { status: 'inactive' }],
      ['POST', `/bots/${botId}/clone`, {}],
      ['POST', `/bots/${botId}/delete`],
      ['POST', '/chats', { bot_id: botId, name: 'Other' }],
      ['POST', `/chats/${chatId}`, { name: 'Renamed' }],
      ['DELETE', `/chats/${chatId}`],
      ['POST', `/chats/${chatId}/threads/t-roles/delete`],
      ['POST', '/vector_stores', { name: 'kb' }],
      ['POST', '/webhook-endpoints', { url: 'https://hooks.example.test/worken' }],
      // Refused before the body is even read: no 422 tells a member what the route would take.
      ['POST', '/bots', { nonsense: true }],
    ]
    for (const [method, path, body] of refused) {
      const response = await call(method, path, body)
      assert.equal(response.status, 403, `${method} ${path}: ${response.text}`)
      assert.match(response.body.message, NEEDS_ADMIN)
    }
    const upload = new FormData()
    upload.append('file', new Blob(['hello']), 'a.txt')
    upload.append('purpose', 'assistants')
    const response = await ctx.internalApp.request('/files', { method: 'POST', body: upload, headers: { 'worken-organization': member.organizationId, 'worken-project': member.projectId, 'worken-user': member.userId } })
    assert.equal(response.status, 403)
    assert.equal((await ctx.asMember(tenant)('GET', `/bots/${botId}`)).body.name, 'Desk', 'nothing changed')
  })

  it('a member works conversations: reads the project, takes a thread, answers it, decides approvals', async () => {
    const call = ctx.asMember(member)
    for (const path of ['/projects', '/bots', `/bots/${botId}`, `/bots/${botId}/settings`, '/chats', `/chats/${chatId}`, `/chats/${chatId}/threads`,
      `/chats/${chatId}/threads/t-roles/messages`, '/threads', '/threads/t-roles', '/threads/t-roles/scheduled', '/threads/t-roles/memory',
      '/files', '/vector_stores', '/webhook-endpoints']) {
      const response = await call('GET', path)
      assert.equal(response.status, 200, `GET ${path}: ${response.text}`)
    }
    assert.equal((await call('POST', `/chats/${chatId}/threads/t-roles/mode`, { mode: 'manual' })).status, 200)
    const sent = await call('POST', '/threads/t-roles/send', { text: 'An operator here.' })
    assert.equal(sent.status, 200, sent.text)
    assert.equal(sent.body.operator_id, member.userId)
    // Past the role check (nothing to decide, cancel or search here), not refused by it.
    for (const [path, body] of [
      ['/threads/t-roles/approvals/apr_01jdq3v5k7m9p2r4t6w8y0a2c4', { approved: true }],
      ['/threads/t-roles/scheduled/sch_01jdq3v5k7m9p2r4t6w8y0a2c4/cancel', undefined],
      ['/vector_stores/vs_01jdq3v5k7m9p2r4t6w8y0a2c4/search', { query: 'returns' }],
    ] as const) {
      const response = await call('POST', path, body)
      assert.ok([404, 409].includes(response.status), `POST ${path}: ${response.text}`)
    }
    // And the conversation goes on in auto mode: a user message through the chat.
    assert.equal((await call('POST', `/chats/${chatId}/threads/t-roles/mode`, { mode: 'auto' })).status, 200)
    assert.equal((await call('POST', `/chats/${chatId}/threads/t-roles/stream`, { messages: [{ role: 'user', content: 'again' }] })).status, 200)
  })

  it('an owner and an admin may do everything a member may not', async () => {
    for (const identity of [tenant, admin]) {
      const call = ctx.asMember(identity)
      const project = await call('POST', '/projects', { name: 'Another', organization_id: tenant.organizationId })
      assert.equal(project.status, 200, project.text)
      const key = await call('POST', `/projects/${project.body.id}/api-keys`, { name: 'ci' })
      assert.equal(key.status, 200, key.text)
      assert.equal((await call('GET', `/projects/${project.body.id}/api-keys`)).status, 200)
      assert.equal((await call('DELETE', `/projects/${project.body.id}/api-keys/${key.body.id}`)).status, 200)
      const bot = await call('POST', '/bots', { name: 'Temp' })
      assert.equal(bot.status, 200)
      assert.equal((await call('POST', `/bots/${bot.body.id}/delete`)).status, 200)
    }
  })

  it('a role change takes effect on the next request', async () => {
    const userId = await ctx.addMember(tenant.organizationId, 'member')
    const call = ctx.asMember({ ...tenant, userId })
    assert.equal((await call('GET', `/projects/${tenant.projectId}/api-keys`)).status, 403)
    await ctx.database.db.update(memberships).set({ role: 'admin' }).where(and(eq(memberships.organizationId, tenant.organizationId), eq(memberships.userId, userId)))
    assert.equal((await call('GET', `/projects/${tenant.projectId}/api-keys`)).status, 200)
  })

  it('an API key keeps its project\'s full authority on the public API', async () => {
    const call = ctx.asKey(tenant.key)
    const key = await call('POST', `/projects/${tenant.projectId}/api-keys`, { name: 'by key' })
    assert.equal(key.status, 200)
    assert.equal((await call('DELETE', `/projects/${tenant.projectId}/api-keys/${key.body.id}`)).status, 200)
  })
})
