import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { and, asc, eq, like } from 'drizzle-orm'
import { events, integrations } from '../../../src/schema.ts'
import { createTestContext, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

/**
 * The Integrations API (spec: Integrations) through the real app and database. The vendor is
 * Telegram, its Bot API a small local double (`getMe` only: the channel's own tests use fuller
 * doubles); every vendor's profile is tested against its own fake in test/unit/integration-vendors.test.ts.
 */
const TOKEN = '7123456789:AAH-test-token-0123456789abcdefghijk'
const REVOKED = '7123456789:AAH-revoked-token-0123456789abcdefghi'
let telegram: http.Server
let telegramUp = true
let ctx: TestContext
let p: Seeded & { api: Call }
let q: Seeded & { api: Call }

before(async () => {
  telegram = http.createServer((request, response) => {
    const token = /^\/bot([^/]+)\/getMe$/.exec(request.url ?? '')?.[1]
    if (!telegramUp) return response.destroy()
    const body = token === TOKEN
      ? { ok: true, result: { id: 7123456789, is_bot: true, first_name: 'Acme Support', username: 'acme_support_bot' } }
      : { ok: false, error_code: 401, description: 'Unauthorized' }
    response.writeHead(body.ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => telegram.listen(0, '127.0.0.1', resolve))
  const apiUrl = `http://127.0.0.1:${(telegram.address() as AddressInfo).port}`
  ctx = await createTestContext({ services: { integrations: { apiUrls: { telegram: apiUrl } } } })
  const seededP = await ctx.seed()
  const seededQ = await ctx.seed()
  p = { ...seededP, api: ctx.asKey(seededP.key) }
  q = { ...seededQ, api: ctx.asKey(seededQ.key) }
})
after(async () => {
  await ctx.close()
  telegram.closeAllConnections()
  await new Promise((resolve) => telegram.close(resolve))
})

const createTelegram = async (api: Call = p.api, token = TOKEN) => {
  const response = await api('POST', '/integrations', { name: 'Support bot', vendor: 'telegram', auth_data: { token } })
  assert.equal(response.status, 200, response.text)
  return response.body as { id: string; status: string }
}

const outboxOf = async (projectId: string, prefix: string) =>
  ctx.database.db.select().from(events).where(and(eq(events.projectId, projectId), like(events.type, `${prefix}%`))).orderBy(asc(events.seq))

describe('integrations', () => {
  it('creates, lists and gets an integration; credentials are stored encrypted and never returned', async () => {
    const created = await createTelegram()
    assert.equal(created.status, 'active')
    assert.deepEqual(Object.keys(created).sort(), ['created_at', 'id', 'name', 'project_id', 'settings', 'status', 'status_reason', 'updated_at', 'vendor'])
    const listed = await p.api('GET', '/integrations')
    assert.equal(listed.status, 200)
    assert.ok(listed.body.some((item: any) => item.id === created.id))
    assert.equal(listed.headers.get('x-total-count'), String(listed.body.length))
    const got = await p.api('GET', `/integrations/${created.id}`)
    assert.deepEqual(got.body, created)
    assert.ok(!JSON.stringify([listed.body, got.body]).includes(TOKEN))
    const [row] = await ctx.database.db.select().from(integrations).where(eq(integrations.id, created.id))
    assert.ok(!row!.authCiphertext.includes(TOKEN) && !row!.authCiphertext.includes('AAH'), 'encrypted at rest')
  })

  it("validates auth_data by the vendor's schema: a missing or wrong field is 422 naming it (the spec's examples pass)", async () => {
    const missing = await p.api('POST', '/integrations', { name: 'x', vendor: 'telegram', auth_data: {} })
    assert.equal(missing.status, 422)
    assert.ok(missing.body.details.some((d: any) => d.path === 'auth_data.token'), JSON.stringify(missing.body))
    const wrong = await p.api('POST', '/integrations', { name: 'x', vendor: 'telegram', auth_data: { token: 'not a token' } })
    assert.equal(wrong.status, 422)
    assert.ok(wrong.body.details.some((d: any) => d.path === 'auth_data.token'), JSON.stringify(wrong.body))
    assert.equal((await p.api('POST', '/integrations', { name: 'x', vendor: 'icq', auth_data: {} })).status, 422)
    for (const [vendor, auth_data] of [['amocrm', { subdomain: 'mycompany' }], ['vk', { access_token: 'vk1.a.example-token-0123456789' }]] as const) {
      const response = await p.api('POST', '/integrations', { name: `${vendor} spec example`, vendor, auth_data })
      assert.equal(response.status, 200, `${vendor}: ${response.text}`)
    }
  })

  it('updates name and settings (merged), refuses status error, and records status changes in the outbox', async () => {
    const created = await createTelegram()
    assert.equal((await p.api('POST', `/integrations/${created.id}`, { status: 'error' })).status, 422)
    const renamed = await p.api('POST', `/integrations/${created.id}`, { name: 'Renamed' })
    assert.equal(renamed.body.name, 'Renamed')
    const disabled = await p.api('POST', `/integrations/${created.id}`, { status: 'disabled' })
    assert.equal(disabled.body.status, 'disabled')
    const changes = (await outboxOf(p.projectId, 'integration.status')).filter((row) => (row.data as any).integration_id === created.id)
    assert.deepEqual(changes.map((row) => [(row.data as any).previous_status, (row.data as any).status]), [['active', 'disabled']])
  })

  it('profile: the vendor identity; refused credentials → 422, status error with the reason, auth_lost; new credentials clear it', async () => {
    const good = await createTelegram()
    const profile = await p.api('GET', `/integrations/${good.id}/profile`)
    assert.equal(profile.status, 200, profile.text)
    assert.deepEqual(profile.body, { id: '7123456789', name: 'Acme Support', username: 'acme_support_bot' })

    const bad = await createTelegram(p.api, REVOKED)
    const refused = await p.api('GET', `/integrations/${bad.id}/profile`)
    assert.equal(refused.status, 422)
    assert.equal(refused.body.code, 'credentials_refused')
    const after = (await p.api('GET', `/integrations/${bad.id}`)).body
    assert.equal(after.status, 'error')
    assert.match(after.status_reason, /Unauthorized/)
    const lost = (await outboxOf(p.projectId, 'integration.auth_lost')).filter((row) => (row.data as any).integration_id === bad.id)
    assert.equal(lost.length, 1)
    // A second refusal does not say it again.
    assert.equal((await p.api('GET', `/integrations/${bad.id}/profile`)).status, 422)
    assert.equal((await outboxOf(p.projectId, 'integration.auth_lost')).filter((row) => (row.data as any).integration_id === bad.id).length, 1)

    const fixed = await p.api('POST', `/integrations/${bad.id}`, { auth_data: { token: TOKEN } })
    assert.equal(fixed.body.status, 'active')
    assert.equal(fixed.body.status_reason, null)
    assert.equal((await p.api('GET', `/integrations/${bad.id}/profile`)).status, 200)
  })

  it('profile: a vendor that cannot be reached is 502 and leaves the status alone', async () => {
    const created = await createTelegram()
    telegramUp = false
    try {
      const response = await p.api('GET', `/integrations/${created.id}/profile`)
      assert.equal(response.status, 502)
      assert.equal(response.body.code, 'vendor_unavailable')
    } finally {
      telegramUp = true
    }
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).body.status, 'active')
  })

  it("manages the integration's chats; another integration's chat or an API chat is unknown under its routes", async () => {
    const one = await createTelegram()
    const two = await createTelegram()
    const bot = (await p.api('POST', '/bots', { name: 'Support' })).body
    const chat = await p.api('POST', `/integrations/${one.id}/chats`, { bot_id: bot.id, name: 'Telegram', settings: { locale: 'en' } })
    assert.equal(chat.status, 200, chat.text)
    assert.equal(chat.body.integration_id, one.id)
    const listed = await p.api('GET', `/integrations/${one.id}/chats`)
    assert.deepEqual(listed.body.map((c: any) => c.id), [chat.body.id])
    assert.deepEqual((await p.api('GET', `/integrations/${two.id}/chats`)).body, [])
    const updated = await p.api('POST', `/integrations/${one.id}/chats/${chat.body.id}`, { name: 'Telegram (EU)' })
    assert.equal(updated.body.name, 'Telegram (EU)')
    const disabled = await p.api('POST', `/integrations/${one.id}/chats/${chat.body.id}/status`, { status: 'disabled' })
    assert.equal(disabled.body.status, 'disabled')
    // Under another integration, the chat does not exist.
    assert.equal((await p.api('POST', `/integrations/${two.id}/chats/${chat.body.id}`, { name: 'stolen' })).status, 404)
    assert.equal((await p.api('DELETE', `/integrations/${two.id}/chats/${chat.body.id}`)).status, 404)
    const apiChat = (await p.api('POST', '/chats', { bot_id: bot.id, name: 'API' })).body
    assert.equal((await p.api('POST', `/integrations/${one.id}/chats/${apiChat.id}/status`, { status: 'disabled' })).status, 404)
    assert.equal((await p.api('DELETE', `/integrations/${one.id}/chats/${chat.body.id}`)).status, 200)
    assert.deepEqual((await p.api('GET', `/integrations/${one.id}/chats`)).body, [])
  })

  it('deleting an integration deletes its chats (chat.deleted each, then integration.deleted)', async () => {
    const created = await createTelegram()
    const bot = (await p.api('POST', '/bots', { name: 'Doomed' })).body
    const chat = (await p.api('POST', `/integrations/${created.id}/chats`, { bot_id: bot.id, name: 'Telegram' })).body
    assert.equal((await p.api('DELETE', `/integrations/${created.id}`)).status, 200)
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).status, 404)
    assert.equal((await p.api('GET', `/chats/${chat.id}`)).status, 404)
    const deleted = (await outboxOf(p.projectId, 'chat.deleted')).filter((row) => row.chatId === chat.id)
    assert.equal(deleted.length, 1)
    assert.equal((await outboxOf(p.projectId, 'integration.deleted')).filter((row) => (row.data as any).integration_id === created.id).length, 1)
    assert.equal((await p.api('POST', `/integrations/${created.id}/chats`, { bot_id: bot.id, name: 'again' })).status, 404)
  })

  it("another project's integration is invisible on every route", async () => {
    const theirs = await createTelegram(q.api)
    const bot = (await p.api('POST', '/bots', { name: 'Mine' })).body
    const theirBot = (await q.api('POST', '/bots', { name: 'Theirs' })).body
    const theirChat = (await q.api('POST', `/integrations/${theirs.id}/chats`, { bot_id: theirBot.id, name: 'Telegram' })).body
    for (const [method, path, body] of [
      ['GET', `/integrations/${theirs.id}`],
      ['POST', `/integrations/${theirs.id}`, { name: 'mine now' }],
      ['GET', `/integrations/${theirs.id}/profile`],
      ['GET', `/integrations/${theirs.id}/chats`],
      ['POST', `/integrations/${theirs.id}/chats`, { bot_id: bot.id, name: 'sneak' }],
      ['POST', `/integrations/${theirs.id}/chats/${theirChat.id}`, { name: 'x' }],
      ['POST', `/integrations/${theirs.id}/chats/${theirChat.id}/status`, { status: 'disabled' }],
      ['DELETE', `/integrations/${theirs.id}/chats/${theirChat.id}`],
      ['DELETE', `/integrations/${theirs.id}`],
    ] as const) {
      const response = await p.api(method, path, body)
      assert.equal(response.status, 404, `${method} ${path}: ${response.text}`)
    }
    assert.ok(!(await p.api('GET', '/integrations')).body.some((item: any) => item.id === theirs.id))
    assert.equal((await q.api('GET', `/integrations/${theirs.id}`)).body.name, 'Support bot')
    assert.equal((await q.api('GET', `/integrations/${theirs.id}/chats`)).body.length, 1)
  })

  it('a member (operator) may read integrations but not create, change or delete them', async () => {
    const created = await createTelegram()
    const member = ctx.asMember({ ...p, userId: await ctx.addMember(p.organizationId, 'member') })
    assert.equal((await member('GET', `/integrations/${created.id}`)).status, 200)
    assert.equal((await member('GET', `/integrations/${created.id}/chats`)).status, 200)
    assert.equal((await member('POST', '/integrations', { name: 'x', vendor: 'telegram', auth_data: { token: TOKEN } })).status, 403)
    assert.equal((await member('POST', `/integrations/${created.id}`, { name: 'x' })).status, 403)
    assert.equal((await member('DELETE', `/integrations/${created.id}`)).status, 403)
  })
})

describe('vendor calls to hosts a tenant chose', () => {
  it('a Bitrix24 portal whose name resolves to a private address is refused before any request (SSRF), 502 without the address', async () => {
    const resolved: string[] = []
    const guarded = await createTestContext({ services: { webhooksResolve: async (host) => { resolved.push(host); return ['127.0.0.1'] } } })
    try {
      const seeded = await guarded.seed()
      const api = guarded.asKey(seeded.key)
      const created = await api('POST', '/integrations', { name: 'CRM', vendor: 'bitrix', auth_data: { domain: 'portal.intranet.test', access_token: 'token-0123456789' } })
      assert.equal(created.status, 200, created.text)
      const profile = await api('GET', `/integrations/${created.body.id}/profile`)
      assert.equal(profile.status, 502, profile.text)
      assert.equal(profile.body.code, 'vendor_unavailable')
      assert.match(profile.body.message, /non-public address/)
      assert.ok(!profile.body.message.includes('127.0.0.1'), 'the resolved address is not told')
      assert.ok(resolved.includes('portal.intranet.test'))
      assert.equal((await api('GET', `/integrations/${created.body.id}`)).body.status, 'active', 'not a verdict on the credentials')
    } finally {
      await guarded.close()
    }
  })
})
