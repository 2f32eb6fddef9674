import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { eq } from 'drizzle-orm'
import { apiKeys } from '../../../src/schema.ts'
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
