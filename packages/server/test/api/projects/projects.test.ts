import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createTestContext, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded
let api: Call

before(async () => {
  ctx = await createTestContext()
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
})
after(() => ctx.close())

describe('projects', () => {
  it("lists the projects of the key's organization, in the spec's shape", async () => {
    const sibling = await ctx.seed({ organizationId: owner.organizationId })
    const stranger = await ctx.seed()
    const response = await api('GET', '/projects')
    assert.equal(response.status, 200)
    const ids = response.body.map((p: any) => p.id)
    assert.ok(ids.includes(owner.projectId) && ids.includes(sibling.projectId))
    assert.ok(!ids.includes(stranger.projectId))
    const mine = response.body.find((p: any) => p.id === owner.projectId)
    assert.deepEqual(Object.keys(mine).sort(), ['avatar_url', 'created_at', 'id', 'name', 'organization_id'])
    assert.equal(mine.organization_id, owner.organizationId)
    assert.equal(mine.avatar_url, null)
  })

  it('creates a project in its own organization', async () => {
    const response = await api('POST', '/projects', { name: 'Staging', organization_id: owner.organizationId })
    assert.equal(response.status, 200, response.text)
    assert.match(response.body.id, /^prj_/)
    assert.equal(response.body.name, 'Staging')
    assert.equal(response.body.organization_id, owner.organizationId)
    const listed = await api('GET', '/projects')
    const entry = listed.body.find((p: any) => p.id === response.body.id)
    assert.deepEqual(Object.keys(entry).sort(), ['avatar_url', 'created_at', 'id', 'name', 'organization_id'])
    assert.ok(!listed.text.includes(response.body.api_key.key), 'the first key is shown once, in the create answer')
  })

  it("answers a new project with its first API key, which reaches that project and only it", async () => {
    const created = await api('POST', '/projects', { name: 'Reachable', organization_id: owner.organizationId })
    assert.equal(created.status, 200, created.text)
    const { api_key: apiKey, ...project } = created.body
    assert.deepEqual(Object.keys(apiKey).sort(), ['created_at', 'id', 'key', 'name', 'prefix'])
    assert.match(apiKey.key, /^sk-[0-9a-f]{64}$/)
    assert.equal(apiKey.name, 'default')
    assert.equal(apiKey.prefix, apiKey.key.slice(0, 11))
    const fresh = ctx.asKey(apiKey.key)

    // The key's requests land in the new project: what it makes, the old key does not see, and back.
    assert.deepEqual((await fresh('GET', '/bots')).body, [])
    const bot = await fresh('POST', '/bots', { name: 'In the new project' })
    assert.equal(bot.status, 200)
    assert.equal(bot.body.project_id, project.id)
    assert.equal((await api('GET', `/bots/${bot.body.id}`)).status, 404)
    const mine = await api('POST', '/bots', { name: 'In the old project' })
    assert.equal((await fresh('GET', `/bots/${mine.body.id}`)).status, 404)
    assert.ok(!(await fresh('GET', '/bots')).body.some((b: any) => b.id === mine.body.id))

    // It manages its own project's keys (so it can rotate itself), not the creator's project.
    const keys = await fresh('GET', `/projects/${project.id}/api-keys`)
    assert.equal(keys.status, 200)
    assert.deepEqual(keys.body.map((k: any) => k.id), [apiKey.id])
    assert.equal((await fresh('GET', `/projects/${owner.projectId}/api-keys`)).status, 403)
    assert.equal((await api('GET', `/projects/${project.id}/api-keys`)).status, 403)
    // Same organization: both keys list both projects.
    assert.ok((await fresh('GET', '/projects')).body.some((p: any) => p.id === owner.projectId))
  })

  it('the internal API gets the first key of a new project too, and a refused create makes no project', async () => {
    const member = ctx.asMember(owner)
    const created = await member('POST', '/projects', { name: 'Dashboard project', organization_id: owner.organizationId })
    assert.equal(created.status, 200)
    assert.match(created.body.api_key.key, /^sk-/)
    const keys = await member('GET', `/projects/${created.body.id}/api-keys`)
    assert.deepEqual(keys.body.map((k: any) => k.name), ['default'])
    const before = (await api('GET', '/projects')).body.length
    assert.equal((await api('POST', '/projects', { name: 'x', organization_id: 'org_elsewhere' })).status, 403)
    assert.equal((await api('GET', '/projects')).body.length, before)
  })

  it('refuses another organization with 403 whether or not it exists, and validates', async () => {
    const stranger = await ctx.seed()
    for (const organization_id of [stranger.organizationId, 'org_doesnotexist']) {
      const response = await api('POST', '/projects', { name: 'Sneaky', organization_id })
      assert.equal(response.status, 403)
      assert.equal(response.body.error, 'Forbidden')
    }
    assert.ok(!(await ctx.asKey(stranger.key)('GET', '/projects')).body.some((p: any) => p.name === 'Sneaky'))
    assert.equal((await api('POST', '/projects', { name: 'No org' })).status, 422)
    assert.equal((await api('POST', '/projects', { name: '', organization_id: owner.organizationId })).status, 422)
  })

  it('the internal API lists and creates projects of the member organization', async () => {
    const member = ctx.asMember(owner)
    const created = await member('POST', '/projects', { name: 'From dashboard', organization_id: owner.organizationId })
    assert.equal(created.status, 200)
    assert.ok((await member('GET', '/projects')).body.some((p: any) => p.id === created.body.id))
  })
})

describe('API keys', () => {
  it('creates a key whose secret is shown once and works at once', async () => {
    const created = await api('POST', `/projects/${owner.projectId}/api-keys`, { name: 'production-server' })
    assert.equal(created.status, 200, created.text)
    assert.match(created.body.key, /^sk-[0-9a-f]{64}$/)
    assert.match(created.body.id, /^key_/)
    assert.equal(created.body.name, 'production-server')
    assert.ok(created.body.created_at)
    assert.equal((await ctx.asKey(created.body.key)('GET', '/bots')).status, 200)

    const listed = await api('GET', `/projects/${owner.projectId}/api-keys`)
    assert.equal(listed.status, 200)
    const entry = listed.body.find((k: any) => k.id === created.body.id)
    assert.deepEqual(Object.keys(entry).sort(), ['created_at', 'id', 'last_used_at', 'name', 'prefix'])
    assert.equal(entry.prefix, created.body.key.slice(0, 11))
    assert.ok(!listed.text.includes(created.body.key), 'the secret never appears in a listing')
    assert.ok(!listed.text.includes(owner.key))
  })

  it('rotates with zero downtime: two keys live, then the old one deleted', async () => {
    const project = await ctx.seed()
    const call = ctx.asKey(project.key)
    const replacement = (await call('POST', `/projects/${project.projectId}/api-keys`, { name: 'replacement' })).body
    assert.equal((await ctx.asKey(project.key)('GET', '/bots')).status, 200)
    assert.equal((await ctx.asKey(replacement.key)('GET', '/bots')).status, 200)
    const deleted = await ctx.asKey(replacement.key)('DELETE', `/projects/${project.projectId}/api-keys/${project.keyId}`)
    assert.equal(deleted.status, 200)
    assert.deepEqual(deleted.body, { id: project.keyId, deleted: true })
    assert.equal((await ctx.asKey(project.key)('GET', '/bots')).status, 401)
    assert.equal((await ctx.asKey(replacement.key)('GET', '/bots')).status, 200)
    const remaining = (await ctx.asKey(replacement.key)('GET', `/projects/${project.projectId}/api-keys`)).body.map((k: any) => k.id)
    assert.deepEqual(remaining, [replacement.id])
    assert.equal((await ctx.asKey(replacement.key)('DELETE', `/projects/${project.projectId}/api-keys/${project.keyId}`)).status, 404)
  })

  it('a key manages its own project only: sibling 403, other organization 404', async () => {
    const sibling = await ctx.seed({ organizationId: owner.organizationId })
    const stranger = await ctx.seed()
    for (const [method, path, body] of [
      ['GET', `/projects/${sibling.projectId}/api-keys`],
      ['POST', `/projects/${sibling.projectId}/api-keys`, { name: 'x' }],
      ['DELETE', `/projects/${sibling.projectId}/api-keys/${sibling.keyId}`],
    ] as const) {
      assert.equal((await api(method, path, body)).status, 403, `${method} ${path}`)
    }
    for (const [method, path, body] of [
      ['GET', `/projects/${stranger.projectId}/api-keys`],
      ['POST', `/projects/${stranger.projectId}/api-keys`, { name: 'x' }],
      ['DELETE', `/projects/${stranger.projectId}/api-keys/${stranger.keyId}`],
      ['GET', '/projects/prj_doesnotexist/api-keys'],
    ] as const) {
      assert.equal((await api(method, path, body)).status, 404, `${method} ${path}`)
    }
    // A key id of another project, named under my project, is not mine to delete.
    assert.equal((await api('DELETE', `/projects/${owner.projectId}/api-keys/${stranger.keyId}`)).status, 404)
    assert.equal((await ctx.asKey(sibling.key)('GET', '/bots')).status, 200)
    assert.equal((await ctx.asKey(stranger.key)('GET', '/bots')).status, 200)
  })

  it('the internal API manages keys of every project of the organization, not of others', async () => {
    const sibling = await ctx.seed({ organizationId: owner.organizationId })
    const stranger = await ctx.seed()
    const member = ctx.asMember(owner)
    const created = await member('POST', `/projects/${sibling.projectId}/api-keys`, { name: 'dashboard-made' })
    assert.equal(created.status, 200)
    assert.equal((await ctx.asKey(created.body.key)('GET', '/projects')).status, 200)
    assert.equal((await member('GET', `/projects/${stranger.projectId}/api-keys`)).status, 404)
    assert.equal((await member('DELETE', `/projects/${sibling.projectId}/api-keys/${created.body.id}`)).status, 200)
    assert.equal((await ctx.asKey(created.body.key)('GET', '/bots')).status, 401)
  })

  it('validates the key name', async () => {
    for (const body of [{}, { name: '' }, { name: 7 }, { name: 'ok', scope: 'all' }]) {
      assert.equal((await api('POST', `/projects/${owner.projectId}/api-keys`, body)).status, 422, JSON.stringify(body))
    }
  })
})
