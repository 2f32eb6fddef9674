import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, beforeEach, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, asc, eq, like, sql } from 'drizzle-orm'
import { createApp } from '../../../src/app.ts'
import { OAuthFlow } from '../../../src/modules/integrations/index.ts'
import { events, integrations, oauthStates } from '../../../src/schema.ts'
import { createTestContext, silentLogger, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

/**
 * The OAuth flow through the real app and database (docs/integrations.md, "OAuth"): `oauth/start`,
 * the public callback, and the token renewal job. The vendor is GitHub (PKCE) and amoCRM (none),
 * their API URL a local fake authorization server that speaks RFC 6749/7636: it checks the PKCE
 * verifier against the challenge it saw, issues and rotates tokens, and refuses with `invalid_grant`.
 */
const PUBLIC_URL = 'http://worken.test'
const REDIRECT_URI = `${PUBLIC_URL}/oauth/callback`
const CLIENT_ID = 'Iv1.client-0123456789'
const CLIENT_SECRET = 'secret-0123456789abcdef'

type Grant = { clientId: string; redirectUri: string; challenge: string | null; used: boolean }
type TokenRequest = Record<string, string>

const fake = {
  grants: new Map<string, Grant>(),
  accessTokens: new Set<string>(),
  refreshTokens: new Set<string>(),
  tokenRequests: [] as TokenRequest[],
  /** `expires_in` of the tokens issued. */
  lifetime: 3600,
  /** How the refresh grant answers. */
  refresh: 'ok' as 'ok' | 'invalid_grant' | 'unavailable',
  /** How the code exchange answers: as RFC 6749 says, down (500), or GitHub's error with HTTP 200. */
  exchange: 'ok' as 'ok' | 'down' | 'error_with_200',
  issued: 0,
}

let vendor: http.Server
let vendorUrl: string
let ctx: TestContext
let p: Seeded & { api: Call }
let q: Seeded & { api: Call }

function tokenAnswer(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body))
}

function issueTokens(response: http.ServerResponse): void {
  fake.issued++
  const access = `gho_access_${fake.issued}_${randomBytes(6).toString('hex')}`
  const refresh = `ghr_refresh_${fake.issued}_${randomBytes(6).toString('hex')}`
  fake.accessTokens.add(access)
  fake.refreshTokens.add(refresh)
  tokenAnswer(response, 200, { access_token: access, token_type: 'bearer', expires_in: fake.lifetime, refresh_token: refresh, scope: 'read:user,user:email' })
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function serveVendor(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', vendorUrl)
  // The authorization endpoint: the user says yes at once; the code remembers what it was issued for.
  if (request.method === 'GET' && (url.pathname === '/login/oauth/authorize' || url.pathname === '/oauth')) {
    const code = `code_${randomBytes(8).toString('hex')}`
    const challenge = url.searchParams.get('code_challenge')
    if (challenge !== null && url.searchParams.get('code_challenge_method') !== 'S256') return tokenAnswer(response, 400, { error: 'invalid_request' })
    fake.grants.set(code, { clientId: url.searchParams.get('client_id')!, redirectUri: url.searchParams.get('redirect_uri')!, challenge, used: false })
    const back = new URL(url.searchParams.get('redirect_uri')!)
    back.searchParams.set('code', code)
    back.searchParams.set('state', url.searchParams.get('state')!)
    response.writeHead(302, { location: back.href }).end()
    return
  }
  // The token endpoint (RFC 6749 §4.1.3, §6; RFC 7636 §4.6), client_secret_post.
  if (request.method === 'POST' && (url.pathname === '/login/oauth/access_token' || url.pathname === '/oauth2/access_token')) {
    if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return tokenAnswer(response, 400, { error: 'invalid_request' })
    const form = Object.fromEntries(new URLSearchParams(await readBody(request)))
    fake.tokenRequests.push(form)
    if (form.client_id !== CLIENT_ID || form.client_secret !== CLIENT_SECRET) return tokenAnswer(response, 401, { error: 'invalid_client' })
    if (form.grant_type === 'authorization_code') {
      if (fake.exchange === 'down') return tokenAnswer(response, 500, { message: 'internal error' })
      if (fake.exchange === 'error_with_200') {
        return tokenAnswer(response, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' })
      }
      const grant = fake.grants.get(form.code ?? '')
      if (!grant || grant.used) return tokenAnswer(response, 400, { error: 'invalid_grant', error_description: 'The code is unknown or was used' })
      grant.used = true
      if (grant.redirectUri !== form.redirect_uri || grant.clientId !== form.client_id) return tokenAnswer(response, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' })
      if (grant.challenge !== null) {
        const computed = createHash('sha256').update(form.code_verifier ?? '').digest('base64url')
        if (computed !== grant.challenge) return tokenAnswer(response, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' })
      }
      return issueTokens(response)
    }
    if (form.grant_type === 'refresh_token') {
      if (fake.refresh === 'unavailable') return tokenAnswer(response, 503, { message: 'try later' })
      if (fake.refresh === 'invalid_grant' || !fake.refreshTokens.has(form.refresh_token ?? '')) {
        return tokenAnswer(response, 400, { error: 'invalid_grant', error_description: 'The refresh token is invalid or revoked' })
      }
      fake.refreshTokens.delete(form.refresh_token!)
      return issueTokens(response)
    }
    return tokenAnswer(response, 400, { error: 'unsupported_grant_type' })
  }
  // GitHub's profile, with the token.
  if (request.method === 'GET' && url.pathname === '/user') {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (!token || !fake.accessTokens.has(token)) return tokenAnswer(response, 401, { message: 'Bad credentials' })
    return tokenAnswer(response, 200, { login: 'octocat', id: 583231, name: 'The Octocat', avatar_url: 'https://avatars.example.test/u/583231' })
  }
  response.writeHead(404).end()
}

before(async () => {
  vendor = http.createServer((request, response) => {
    serveVendor(request, response).catch(() => response.destroy())
  })
  await new Promise<void>((resolve) => vendor.listen(0, '127.0.0.1', resolve))
  vendorUrl = `http://127.0.0.1:${(vendor.address() as AddressInfo).port}`
  ctx = await createTestContext({
    services: { integrations: { apiUrls: { github: vendorUrl, amocrm: vendorUrl }, publicUrl: PUBLIC_URL } },
    // The sweep runs when the tests call it; renewal retries come quickly.
    workers: { oauthRefresh: { sweepMs: 3_600_000, retryDelaySeconds: 1 } },
  })
  const seededP = await ctx.seed()
  const seededQ = await ctx.seed()
  p = { ...seededP, api: ctx.asKey(seededP.key) }
  q = { ...seededQ, api: ctx.asKey(seededQ.key) }
})
after(async () => {
  await ctx.close()
  vendor.closeAllConnections()
  await new Promise((resolve) => vendor.close(resolve))
})
beforeEach(() => {
  fake.lifetime = 3600
  fake.refresh = 'ok'
  fake.exchange = 'ok'
})

const createGithub = async (authData: Record<string, unknown> = { client_id: CLIENT_ID, client_secret: CLIENT_SECRET }) => {
  const response = await p.api('POST', '/integrations', { name: 'My GitHub', vendor: 'github', auth_data: authData })
  assert.equal(response.status, 200, response.text)
  return response.body as { id: string; status: string }
}

const start = (id: string, api: Call = p.api) => api('POST', `/integrations/${id}/oauth/start`)

/** The user at the vendor: opens the authorization URL, says yes, and is sent to the callback (its path and query). */
async function authorizeAtVendor(url: string): Promise<string> {
  const answer = await fetch(url, { redirect: 'manual' })
  assert.equal(answer.status, 302)
  const back = new URL(answer.headers.get('location')!)
  assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI)
  return `${back.pathname}${back.search}`
}

/** The callback as the browser calls it: no API key. */
const callback = (pathAndQuery: string) => ctx.asKey()('GET', pathAndQuery)

async function connect(id: string): Promise<string> {
  const started = await start(id)
  assert.equal(started.status, 200, started.text)
  const back = await authorizeAtVendor(started.body.url)
  const done = await callback(back)
  assert.equal(done.status, 200, done.text)
  return back
}

const rowOf = async (id: string) => (await ctx.database.db.select().from(integrations).where(eq(integrations.id, id)))[0]!
const authOf = async (id: string) => ctx.services.integrations.open(await rowOf(id)) as { access_token?: string; refresh_token?: string; expires_at?: string; client_id?: string }
const eventsOf = async (integrationId: string, prefix: string) =>
  (await ctx.database.db.select().from(events).where(and(eq(events.projectId, p.projectId), like(events.type, `${prefix}%`))).orderBy(asc(events.seq)))
    .filter((row) => (row.data as { integration_id?: string }).integration_id === integrationId)

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

describe('OAuth: start', () => {
  it('builds the authorization URL: client_id, redirect_uri, scope, state, S256 challenge; the state is kept hashed, the verifier encrypted', async () => {
    const created = await createGithub()
    const started = await start(created.id)
    assert.equal(started.status, 200, started.text)
    assert.deepEqual(Object.keys(started.body), ['url'])
    const url = new URL(started.body.url)
    assert.equal(`${url.origin}${url.pathname}`, `${vendorUrl}/login/oauth/authorize`)
    const params = url.searchParams
    assert.equal(params.get('response_type'), 'code')
    assert.equal(params.get('client_id'), CLIENT_ID)
    assert.equal(params.get('redirect_uri'), REDIRECT_URI)
    assert.equal(params.get('scope'), 'read:user user:email')
    assert.equal(params.get('code_challenge_method'), 'S256')
    assert.match(params.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/)
    const state = params.get('state')!
    assert.match(state, /^[A-Za-z0-9_-]{43,}$/, 'at least 256 random bits')
    assert.ok(!params.has('client_secret'))

    const rows = await ctx.database.db.select().from(oauthStates).where(eq(oauthStates.integrationId, created.id))
    assert.equal(rows.length, 1)
    const row = rows[0]!
    assert.notEqual(row.stateHash, state, 'only a hash of the state is stored')
    assert.equal(row.stateHash, createHash('sha256').update(state).digest('base64url'))
    assert.equal(row.projectId, p.projectId)
    assert.equal(row.redirectUri, REDIRECT_URI)
    assert.match(row.codeVerifierCiphertext!, /^v1\./, 'the verifier is encrypted')
    assert.equal(row.usedAt, null)
    const ttl = row.expiresAt.getTime() - Date.now()
    assert.ok(ttl > 9 * 60_000 && ttl <= 10 * 60_000, `expires in 10 minutes (${ttl} ms)`)
  })

  it('a vendor without PKCE (amoCRM) gets no challenge; scopes are left out when the vendor has none', async () => {
    const created = await p.api('POST', '/integrations', { name: 'CRM', vendor: 'amocrm', auth_data: { subdomain: 'mycompany', client_id: CLIENT_ID, client_secret: CLIENT_SECRET } })
    assert.equal(created.status, 200, created.text)
    const started = await start(created.body.id)
    assert.equal(started.status, 200, started.text)
    const url = new URL(started.body.url)
    assert.equal(`${url.origin}${url.pathname}`, `${vendorUrl}/oauth`)
    assert.equal(url.searchParams.get('client_id'), CLIENT_ID)
    assert.ok(url.searchParams.get('state'))
    assert.ok(!url.searchParams.has('code_challenge') && !url.searchParams.has('code_challenge_method') && !url.searchParams.has('scope'))
    const [row] = await ctx.database.db.select().from(oauthStates).where(eq(oauthStates.integrationId, created.body.id))
    assert.equal(row!.codeVerifierCiphertext, null)
  })

  it('422: a vendor without OAuth (named), an integration without client_id (auth_data.client_id), a server without WORKEN_PUBLIC_URL', async () => {
    const telegram = await p.api('POST', '/integrations', { name: 'Bot', vendor: 'telegram', auth_data: { token: '7123456789:AAH-test-token-0123456789abcdefghijk' } })
    const refused = await start(telegram.body.id)
    assert.equal(refused.status, 422)
    assert.equal(refused.body.code, 'invalid_request')
    assert.match(refused.body.message, /telegram does not connect through OAuth/)

    const noClient = await createGithub({})
    const missing = await start(noClient.id)
    assert.equal(missing.status, 422)
    assert.deepEqual(missing.body.details.map((d: { path: string }) => d.path), ['auth_data.client_id'])

    const created = await createGithub()
    const services = { ...ctx.services, oauth: new OAuthFlow(ctx.database, ctx.services.integrations, { publicUrl: undefined }) }
    const app = createApp({ kind: 'public', services, logger: silentLogger })
    const answer = await app.request(`/integrations/${created.id}/oauth/start`, { method: 'POST', headers: { authorization: `Bearer ${p.key}` } })
    assert.equal(answer.status, 422)
    assert.match(((await answer.json()) as { message: string }).message, /WORKEN_PUBLIC_URL/)
  })

  it("tenancy and roles: another project's integration is 404; a member (not admin) is 403", async () => {
    const created = await createGithub()
    const other = await start(created.id, q.api)
    assert.equal(other.status, 404)
    assert.equal(other.body.code, 'not_found')
    const memberId = await ctx.addMember(p.organizationId, 'member')
    const member = ctx.asMember({ organizationId: p.organizationId, projectId: p.projectId, userId: memberId })
    assert.equal((await member('POST', `/integrations/${created.id}/oauth/start`)).status, 403)
    assert.equal((await ctx.database.db.select().from(oauthStates).where(eq(oauthStates.integrationId, created.id))).length, 0)
  })
})

describe('OAuth: callback', () => {
  it('exchanges the code with the PKCE verifier, stores the tokens encrypted (never returned), sets active; the profile then works', async () => {
    const created = await createGithub()
    await p.api('POST', `/integrations/${created.id}`, { status: 'disabled' })
    const requestsBefore = fake.tokenRequests.length
    const started = await start(created.id)
    const challenge = new URL(started.body.url).searchParams.get('code_challenge')
    const done = await callback(await authorizeAtVendor(started.body.url))
    assert.equal(done.status, 200, done.text)
    assert.match(done.headers.get('content-type')!, /^text\/html/)
    assert.match(done.text, /Connected/)
    assert.match(done.text, /My GitHub \(github\) is connected to Worken\. You can close this window\./)
    assert.match(done.headers.get('content-security-policy')!, /default-src 'none'/)
    assert.equal(done.headers.get('cache-control'), 'no-store')

    const [exchange] = fake.tokenRequests.slice(requestsBefore)
    assert.equal(exchange!.grant_type, 'authorization_code')
    assert.equal(exchange!.redirect_uri, REDIRECT_URI)
    assert.equal(createHash('sha256').update(exchange!.code_verifier!).digest('base64url'), challenge)

    const auth = await authOf(created.id)
    assert.match(auth.access_token!, /^gho_access_/)
    assert.match(auth.refresh_token!, /^ghr_refresh_/)
    assert.equal(auth.client_id, CLIENT_ID, 'the other credentials are kept')
    const expiresIn = Date.parse(auth.expires_at!) - Date.now()
    assert.ok(expiresIn > 3500_000 && expiresIn <= 3600_000, `expires_at from expires_in (${expiresIn} ms)`)
    const row = await rowOf(created.id)
    assert.equal(row.tokenExpiresAt?.toISOString(), auth.expires_at)
    assert.ok(!row.authCiphertext.includes(auth.access_token!) && !row.authCiphertext.includes('gho_'), 'encrypted at rest')

    const got = await p.api('GET', `/integrations/${created.id}`)
    assert.equal(got.body.status, 'active')
    assert.ok(!JSON.stringify(got.body).includes(auth.access_token!) && !JSON.stringify(got.body).includes(auth.refresh_token!))
    const changes = await eventsOf(created.id, 'integration.status.changed')
    assert.deepEqual(changes.map((e) => [(e.data as any).previous_status, (e.data as any).status]), [['active', 'disabled'], ['disabled', 'active']])

    const profile = await p.api('GET', `/integrations/${created.id}/profile`)
    assert.equal(profile.status, 200, profile.text)
    assert.deepEqual(profile.body, { id: '583231', name: 'The Octocat', username: 'octocat', avatar_url: 'https://avatars.example.test/u/583231' })
  })

  it('a state works once: the second use is refused and does not reach the vendor', async () => {
    const created = await createGithub()
    const back = await connect(created.id)
    const tokensBefore = await authOf(created.id)
    const requestsBefore = fake.tokenRequests.length
    const again = await callback(back)
    assert.equal(again.status, 400)
    assert.match(again.text, /already used/)
    assert.equal(fake.tokenRequests.length, requestsBefore)
    assert.deepEqual(await authOf(created.id), tokensBefore)
  })

  it('two callbacks with one state at once: exactly one is taken', async () => {
    const created = await createGithub()
    const back = await authorizeAtVendor((await start(created.id)).body.url)
    const answers = await Promise.all([callback(back), callback(back)])
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400])
  })

  it('an expired, an unknown or a missing state is refused, and nothing is stored', async () => {
    const created = await createGithub()
    const back = await authorizeAtVendor((await start(created.id)).body.url)
    await ctx.database.db.update(oauthStates).set({ expiresAt: sql`now() - interval '1 minute'` }).where(eq(oauthStates.integrationId, created.id))
    const expired = await callback(back)
    assert.equal(expired.status, 400)
    assert.match(expired.text, /expired/)

    const unknown = await callback(`/oauth/callback?code=whatever&state=${randomBytes(32).toString('base64url')}`)
    assert.equal(unknown.status, 400)
    assert.match(unknown.text, /not valid/)
    const missing = await callback('/oauth/callback?code=whatever')
    assert.equal(missing.status, 400)
    assert.equal((await authOf(created.id)).access_token, undefined)
  })

  it("the vendor's error answer (the user declined) is a clear page, its text escaped; the credentials are left alone", async () => {
    const created = await createGithub()
    const state = new URL((await start(created.id)).body.url).searchParams.get('state')!
    const query = new URLSearchParams({ error: 'access_denied', error_description: 'The user said <script>alert(1)</script> no', state })
    const declined = await callback(`/oauth/callback?${query}`)
    assert.equal(declined.status, 400)
    assert.match(declined.text, /github did not authorize Worken/)
    assert.match(declined.text, /access_denied/)
    assert.ok(!declined.text.includes('<script>'), 'the vendor\'s words are escaped')
    assert.equal((await authOf(created.id)).access_token, undefined)
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).body.status, 'active')
  })

  it("the token endpoint's refusal of the code (invalid_grant) is a 400 page naming it", async () => {
    const created = await createGithub()
    const back = await authorizeAtVendor((await start(created.id)).body.url)
    // The code is spent at the vendor before Worken exchanges it.
    const code = new URLSearchParams(back.split('?')[1]).get('code')!
    fake.grants.get(code)!.used = true
    const refused = await callback(back)
    assert.equal(refused.status, 400)
    assert.match(refused.text, /invalid_grant/)
    assert.equal((await authOf(created.id)).access_token, undefined)
  })

  it('a token endpoint that fails (500) is a 502 page; an error answered with HTTP 200 (GitHub) is a refusal naming it', async () => {
    const created = await createGithub()
    fake.exchange = 'down'
    const down = await callback(await authorizeAtVendor((await start(created.id)).body.url))
    assert.equal(down.status, 502)
    assert.match(down.text, /github could not complete the connection/)
    assert.match(down.text, /HTTP 500/)
    fake.exchange = 'error_with_200'
    const refused = await callback(await authorizeAtVendor((await start(created.id)).body.url))
    assert.equal(refused.status, 400)
    assert.match(refused.text, /The code passed is incorrect or expired\. \(bad_verification_code\)/)
    assert.equal((await authOf(created.id)).access_token, undefined)
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).body.status, 'active')
  })

  it('an integration deleted meanwhile takes its states with it', async () => {
    const created = await createGithub()
    const back = await authorizeAtVendor((await start(created.id)).body.url)
    assert.equal((await p.api('DELETE', `/integrations/${created.id}`)).status, 200)
    const answer = await callback(back)
    assert.equal(answer.status, 400)
    assert.match(answer.text, /not valid/)
  })
})

describe('OAuth: token renewal', () => {
  it('the sweep queues a renewal for tokens expiring within the lead time; the job renews them before expiry', async () => {
    fake.lifetime = 120
    const created = await createGithub()
    await connect(created.id)
    const before = await authOf(created.id)
    fake.lifetime = 3600
    const requestsBefore = fake.tokenRequests.length
    assert.ok((await ctx.services.oauthRefresh!.sweep()) >= 1)
    const after = await until('the renewed token', async () => {
      const auth = await authOf(created.id)
      return auth.access_token !== before.access_token ? auth : undefined
    })
    const renewal = fake.tokenRequests.slice(requestsBefore).find((form) => form.grant_type === 'refresh_token')!
    assert.equal(renewal.refresh_token, before.refresh_token)
    assert.equal(renewal.client_id, CLIENT_ID)
    assert.notEqual(after.refresh_token, before.refresh_token, 'the rotated refresh token is stored')
    assert.ok(Date.parse(after.expires_at!) - Date.now() > 3500_000)
    assert.equal((await rowOf(created.id)).tokenExpiresAt?.toISOString(), after.expires_at)
    assert.equal((await p.api('GET', `/integrations/${created.id}/profile`)).status, 200)
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).body.status, 'active')
    // Not due any more: nothing is renewed.
    assert.equal(await ctx.services.oauthRefresh!.refresh(created.id), 'not_due')
  })

  it('a passing failure (503) is thrown for a retry and changes nothing; the next attempt renews', async () => {
    fake.lifetime = 120
    const created = await createGithub()
    await connect(created.id)
    const before = await authOf(created.id)
    fake.refresh = 'unavailable'
    await assert.rejects(ctx.services.oauthRefresh!.refresh(created.id), /github's token endpoint/)
    assert.deepEqual(await authOf(created.id), before)
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).body.status, 'active')
    assert.equal((await eventsOf(created.id, 'integration.auth_lost')).length, 0)
    fake.refresh = 'ok'
    assert.equal(await ctx.services.oauthRefresh!.refresh(created.id), 'renewed')
  })

  it('a refused renewal (invalid_grant) sets status error with the reason and writes integration.auth_lost once', async () => {
    fake.lifetime = 120
    const created = await createGithub()
    await connect(created.id)
    fake.refresh = 'invalid_grant'
    await ctx.services.oauthRefresh!.sweep()
    const lost = await until('status error', async () => {
      const got = await p.api('GET', `/integrations/${created.id}`)
      return got.body.status === 'error' ? got.body : undefined
    })
    assert.match(lost.status_reason, /github refused to renew the access token: .*invalid_grant/)
    const authLost = await eventsOf(created.id, 'integration.auth_lost')
    assert.equal(authLost.length, 1)
    assert.match((authLost[0]!.data as { reason: string }).reason, /invalid_grant/)
    const changed = await eventsOf(created.id, 'integration.status.changed')
    assert.deepEqual(changed.map((e) => [(e.data as any).status, (e.data as any).by]), [['error', 'vendor']])
    // An integration in error waits for the user: the sweep leaves it, and a direct renewal skips it.
    assert.equal(await ctx.services.oauthRefresh!.refresh(created.id), 'skipped')
    // Authorizing again restores it.
    fake.refresh = 'ok'
    await connect(created.id)
    assert.equal((await p.api('GET', `/integrations/${created.id}`)).body.status, 'active')
  })

  it('an expired token without a refresh token is lost; one not yet expired is left to run out', async () => {
    const created = await createGithub({ client_id: CLIENT_ID, access_token: 'gho_pasted_token', expires_at: new Date(Date.now() + 60_000).toISOString() })
    assert.equal(await ctx.services.oauthRefresh!.refresh(created.id), 'not_due')
    await p.api('POST', `/integrations/${created.id}`, { auth_data: { expires_at: new Date(Date.now() - 60_000).toISOString() } })
    assert.equal(await ctx.services.oauthRefresh!.refresh(created.id), 'refused')
    const got = (await p.api('GET', `/integrations/${created.id}`)).body
    assert.equal(got.status, 'error')
    assert.match(got.status_reason, /no refresh token/)
  })

  it('a renewal whose credentials were replaced meanwhile is dropped', async () => {
    fake.lifetime = 120
    const created = await createGithub()
    await connect(created.id)
    const stale = await rowOf(created.id)
    await p.api('POST', `/integrations/${created.id}`, { auth_data: { access_token: 'gho_pasted_by_the_user' } })
    assert.equal(await ctx.services.integrations.renewed(stale, { ...ctx.services.integrations.open(stale), access_token: 'gho_from_a_late_refresh' }), false)
    assert.equal((await authOf(created.id)).access_token, 'gho_pasted_by_the_user')
  })
})
