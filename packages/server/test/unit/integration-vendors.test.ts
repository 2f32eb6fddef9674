import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  API_URL_VARIABLES,
  CredentialsRefused,
  INTEGRATION_VENDORS,
  type IntegrationProfile,
  type IntegrationVendor,
  newWidgetId,
  VENDORS,
  VendorUnavailable,
  vendorApiUrl,
} from '../../src/modules/integrations/vendors/index.ts'

/*
 * The 13 vendor adapters (src/modules/integrations/vendors/) against one local fake on 127.0.0.1
 * that answers each vendor's documented call from fixtures (test/fixtures/vendors/<vendor>/, each a
 * documented answer: status, headers, body, and where it is documented). The fake reads the
 * credential only where the vendor documents it (a header, the path, the query, the body); the
 * credential's last word decides the answer: `good` the success fixture, `revoked` the refusal
 * fixture, `crash` a 500, `garbled` a 200 in no documented shape. A credential anywhere else is a
 * 400, which fails the success tests.
 */

type Fixture = { source: string; status: number; headers?: Record<string, string>; body: unknown }
type Answer = { status: number; headers?: Record<string, string>; body: unknown }
type Seen = { vendor: string; method: string; path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders; body: string }

const FIXTURES = path.join(import.meta.dirname, '../fixtures/vendors')
const fixture = (vendor: string, name: string): Fixture => JSON.parse(fs.readFileSync(path.join(FIXTURES, vendor, `${name}.json`), 'utf8'))

const OUTCOMES = ['good', 'revoked', 'crash', 'garbled'] as const
type Outcome = (typeof OUTCOMES)[number]

/** What the fake answers a credential ending in an outcome word. */
function answerFor(credential: string | undefined, vendor: string, fixtures: { good: string; revoked: string }): Answer {
  const outcome = OUTCOMES.find((word) => credential?.endsWith(word))
  switch (outcome) {
    case 'good':
      return fixture(vendor, fixtures.good)
    case 'revoked':
      return fixture(vendor, fixtures.revoked)
    case 'crash':
      return { status: 500, body: { error: 'internal', message: 'the fake was told to fail' } }
    case 'garbled':
      return { status: 200, body: { surprise: true } }
    default:
      return misplaced(`no credential where ${vendor} documents it`)
  }
}

const misplaced = (why: string): Answer => ({ status: 400, body: { fake: why } })
const bearer = (seen: Seen) => /^Bearer (\S+)$/.exec(seen.headers.authorization ?? '')?.[1]

/** Each vendor's documented call, as the fake serves it. */
const FAKE: Record<string, (seen: Seen) => Answer> = {
  telegram: (seen) => {
    const match = /^\/bot([^/]+)\/getMe$/.exec(seen.path)
    if (!match) return misplaced('the token belongs in the path: /bot<token>/getMe')
    return answerFor(decodeURIComponent(match[1]!), 'telegram', { good: 'getMe', revoked: 'unauthorized' })
  },
  whatsapp: (seen) => {
    if (seen.path !== '/106540352242922') return misplaced('GET /<PHONE_NUMBER_ID>')
    return answerFor(bearer(seen), 'whatsapp', { good: 'phone-number', revoked: 'invalid-token' })
  },
  vk: (seen) => {
    if (seen.path !== '/method/groups.getById' || seen.query.get('v') !== '5.199') return misplaced('/method/groups.getById?v=5.199')
    return answerFor(bearer(seen), 'vk', { good: 'groups-getById', revoked: 'auth-failed' })
  },
  ok: (seen) => {
    if (seen.path !== '/me/info') return misplaced('GET /graph/me/info')
    return answerFor(seen.query.get('access_token') ?? undefined, 'ok', { good: 'me-info', revoked: 'session-expired' })
  },
  max: (seen) => {
    if (seen.path !== '/me' || seen.query.has('access_token')) return misplaced('GET /me, the token in the Authorization header only')
    const token = seen.headers.authorization
    if (token?.startsWith('Bearer ')) return misplaced('MAX takes the token as it is, without a scheme')
    return answerFor(token, 'max', { good: 'me', revoked: 'invalid-token' })
  },
  github: (seen) => {
    if (seen.path !== '/user') return misplaced('GET /user')
    if (!seen.headers['user-agent'] || seen.headers.accept !== 'application/vnd.github+json') return misplaced('GitHub requires a User-Agent; the API asks for its media type')
    const token = bearer(seen)
    if (token?.endsWith('ratelimited')) return { status: 403, headers: { 'x-ratelimit-remaining': '0' }, body: { message: 'API rate limit exceeded' } }
    return answerFor(token, 'github', { good: 'user', revoked: 'bad-credentials' })
  },
  google: (seen) => {
    if (seen.path !== '/v1/userinfo') return misplaced('GET /v1/userinfo')
    return answerFor(bearer(seen), 'google', { good: 'userinfo', revoked: 'invalid-token' })
  },
  yandex: (seen) => {
    if (seen.path !== '/info' || seen.query.get('format') !== 'json' || seen.query.has('oauth_token')) return misplaced('GET /info?format=json, the token in the header')
    return answerFor(/^OAuth (\S+)$/.exec(seen.headers.authorization ?? '')?.[1], 'yandex', { good: 'info', revoked: 'unauthorized' })
  },
  amocrm: (seen) => {
    if (seen.path !== '/mycompany/api/v4/account') return misplaced('GET https://<subdomain>.amocrm.ru/api/v4/account')
    return answerFor(bearer(seen), 'amocrm', { good: 'account', revoked: 'unauthorized' })
  },
  bitrix: (seen) => {
    if (seen.path !== '/mycompany.bitrix24.test/rest/profile' || seen.method !== 'POST') return misplaced('POST https://<portal>/rest/profile')
    let auth: unknown
    try {
      auth = (JSON.parse(seen.body) as { auth?: unknown }).auth
    } catch {
      auth = undefined
    }
    if (typeof auth === 'string' && auth.endsWith('inactive')) return fixture('bitrix', 'inactive-user')
    return answerFor(typeof auth === 'string' ? auth : undefined, 'bitrix', { good: 'profile', revoked: 'expired-token' })
  },
  avito: (seen) => {
    if (seen.path === '/token' && seen.method === 'POST') {
      const form = new URLSearchParams(seen.body)
      if (seen.headers['content-type'] !== 'application/x-www-form-urlencoded' || form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== 'avito-client') {
        return misplaced('POST /token, a form with grant_type=client_credentials, client_id and client_secret')
      }
      const secret = form.get('client_secret') ?? ''
      if (secret.endsWith('forbidden')) return { status: 200, body: { access_token: 'issued-forbidden', expires_in: 86400, token_type: 'Bearer' } }
      const answer = answerFor(secret, 'avito', { good: 'token', revoked: 'token-refused' })
      // The account call that follows must carry the token issued here.
      return secret.endsWith('good') ? { ...answer, body: { ...(answer.body as object), access_token: 'issued-good' } } : answer
    }
    if (seen.path === '/core/v1/accounts/self') {
      const token = bearer(seen)
      if (token === 'issued-forbidden') return fixture('avito', 'forbidden')
      return token === 'issued-good' ? fixture('avito', 'self') : misplaced('the Bearer token POST /token issued')
    }
    return misplaced('POST /token, then GET /core/v1/accounts/self')
  },
  sber: (seen) => {
    if (seen.path !== '/ru/prod/sberbankid/v2.1/userinfo') return misplaced('GET /ru/prod/sberbankid/v2.1/userinfo')
    if (seen.headers['x-ibm-client-id'] !== 'DA5278AC-A07F-C01A-B2D3-C231DBB2E20F' || !/^[0-9a-f]{32}$/i.test(String(seen.headers['x-introspect-rquid']))) {
      return misplaced('x-ibm-client-id (the client_id) and x-introspect-rquid (32 hex digits) are required')
    }
    return answerFor(bearer(seen), 'sber', { good: 'userinfo', revoked: 'unauthorized' })
  },
}

/** One vendor's test data: auth_data carrying a credential that ends in `secret`, and what the schema must refuse. */
type Case = {
  auth: (secret: string) => Record<string, unknown>
  /** auth_data the schema refuses, with the path the 422 must name. */
  invalid: Array<{ auth: Record<string, unknown>; path: string }>
  settingsDefaults: Record<string, unknown>
  invalidSettings?: Array<{ settings: Record<string, unknown>; path: string }>
  /** What profile() makes of the success fixture. */
  profile: IntegrationProfile
  /** Words of the vendor's reason the refusal must carry. */
  reason: string
}

const CASES: Record<Exclude<IntegrationVendor, 'worken'>, Case> = {
  telegram: {
    auth: (secret) => ({ token: `7123456789:AAH-${secret}` }),
    invalid: [
      { auth: {}, path: 'token' },
      { auth: { token: 'AAH-no-bot-id' }, path: 'token' },
      { auth: { token: 7123456789 }, path: 'token' },
    ],
    settingsDefaults: { start_message: null, mode: 'auto' },
    invalidSettings: [
      { settings: { mode: 'push' }, path: 'mode' },
      { settings: { start_message: '' }, path: 'start_message' },
    ],
    profile: { id: '7123456789', name: 'Worken Demo', username: 'worken_demo_bot' },
    reason: 'Unauthorized (401)',
  },
  whatsapp: {
    auth: (secret) => ({ access_token: `EAAG-${secret}`, phone_number_id: '106540352242922', app_secret: '0123456789abcdef0123456789abcdef' }),
    invalid: [
      { auth: { access_token: 'EAAG-good', app_secret: '0123456789abcdef0123456789abcdef' }, path: 'phone_number_id' },
      { auth: { access_token: 'EAAG-good', phone_number_id: '+1 631-555-5555', app_secret: '0123456789abcdef0123456789abcdef' }, path: 'phone_number_id' },
      { auth: { access_token: 'EAAG-good', phone_number_id: '106540352242922', app_secret: 'short' }, path: 'app_secret' },
    ],
    settingsDefaults: { mark_as_read: true },
    invalidSettings: [{ settings: { mark_as_read: 'yes' }, path: 'mark_as_read' }],
    profile: { id: '106540352242922', name: "Jasper's Market", username: '+1 631-555-5555' },
    reason: 'Error validating access token',
  },
  vk: {
    auth: (secret) => ({ access_token: `vk1.a.${secret}` }),
    invalid: [
      { auth: {}, path: 'access_token' },
      { auth: { access_token: 'vk1.a has spaces' }, path: 'access_token' },
    ],
    settingsDefaults: { start_message: null, mode: 'auto' },
    invalidSettings: [{ settings: { mode: 'webhook' }, path: 'mode' }],
    profile: { id: '229000001', name: 'Worken Demo', username: 'worken_demo', avatar_url: 'https://sun1.userapi.test/c200.jpg' },
    reason: 'User authorization failed: invalid access_token (4). (code 5)',
  },
  ok: {
    auth: (secret) => ({ access_token: `tkn18YdUJZe:${secret}` }),
    invalid: [
      { auth: {}, path: 'access_token' },
      { auth: { access_token: '' }, path: 'access_token' },
    ],
    settingsDefaults: {},
    profile: { id: '70000001234567', name: 'Worken Demo' },
    reason: 'PARAM_SESSION_EXPIRED : Session expired (code 102)',
  },
  max: {
    auth: (secret) => ({ access_token: `max-${secret}` }),
    invalid: [
      { auth: {}, path: 'access_token' },
      { auth: { access_token: 42 }, path: 'access_token' },
    ],
    settingsDefaults: { start_message: null, mode: 'auto' },
    invalidSettings: [{ settings: { mode: 'callback' }, path: 'mode' }],
    profile: { id: '10002', name: 'Worken Demo', username: 'worken_demo_bot', avatar_url: 'https://i.oneme.test/i?r=small' },
    reason: 'Invalid access_token',
  },
  github: {
    auth: (secret) => ({ access_token: `gho_${secret}` }),
    invalid: [
      { auth: { access_token: '' }, path: 'access_token' },
      { auth: { access_token: 'gho_good', expires_at: 'tomorrow' }, path: 'expires_at' },
      { auth: { client_id: 5 }, path: 'client_id' },
    ],
    settingsDefaults: {},
    profile: { id: '1', name: 'The Octocat', username: 'octocat', avatar_url: 'https://avatars.githubusercontent.test/u/1?v=4' },
    reason: 'Bad credentials',
  },
  google: {
    auth: (secret) => ({ access_token: `ya29.${secret}`, refresh_token: '1//0g-refresh', expires_at: '2026-12-04T21:00:00Z' }),
    invalid: [
      { auth: { access_token: 'ya29.good', refresh_token: 'has spaces' }, path: 'refresh_token' },
      { auth: { access_token: 'ya29.good', expires_at: '2026-12-04 21:00' }, path: 'expires_at' },
    ],
    settingsDefaults: {},
    profile: { id: '110169484474386276334', name: 'Ada Lovelace', username: 'ada@example.test', avatar_url: 'https://lh3.googleusercontent.test/a/ada' },
    reason: 'Invalid Credentials',
  },
  yandex: {
    auth: (secret) => ({ access_token: `y0_${secret}` }),
    invalid: [{ auth: { access_token: 7 }, path: 'access_token' }],
    settingsDefaults: {},
    profile: { id: '1000034426', name: 'Ivan', username: 'ivan', avatar_url: 'https://avatars.yandex.net/get-yapic/31804/BYkogAC6AoB17bN1HKRFAyKiM4-1/islands-200' },
    reason: 'HTTP 401',
  },
  amocrm: {
    auth: (secret) => ({ subdomain: 'MyCompany', access_token: `amo-${secret}` }),
    invalid: [
      { auth: {}, path: 'subdomain' },
      { auth: { subdomain: 'mycompany.amocrm.ru' }, path: 'subdomain' },
      { auth: { subdomain: 'mycompany', access_token: 'amo good' }, path: 'access_token' },
    ],
    settingsDefaults: { pipeline_id: null, responsible_user_id: null },
    invalidSettings: [{ settings: { pipeline_id: -1 }, path: 'pipeline_id' }],
    profile: { id: '29145784', name: 'My Company', username: 'mycompany' },
    reason: 'Invalid access token',
  },
  bitrix: {
    auth: (secret) => ({ domain: 'mycompany.bitrix24.test', access_token: `b24-${secret}` }),
    invalid: [
      { auth: {}, path: 'domain' },
      { auth: { domain: 'https://mycompany.bitrix24.test' }, path: 'domain' },
      { auth: { domain: '10.0.0.1' }, path: 'domain' },
    ],
    settingsDefaults: { entity: 'lead', category_id: null, responsible_id: null },
    invalidSettings: [{ settings: { entity: 'contact' }, path: 'entity' }],
    profile: { id: '1', name: 'Vadim Valeev', avatar_url: 'https://mycompany.bitrix24.test/upload/main/photo.jpg' },
    reason: 'The access token provided has expired. (expired_token)',
  },
  avito: {
    auth: (secret) => ({ client_id: 'avito-client', client_secret: `avito-secret-${secret}` }),
    invalid: [
      { auth: { client_id: 'avito-client' }, path: 'client_secret' },
      { auth: { client_id: '', client_secret: 'avito-secret-good' }, path: 'client_id' },
    ],
    settingsDefaults: {},
    profile: { id: '123456789', name: 'Worken Demo Shop', username: 'shop@example.test' },
    reason: 'Client authentication failed',
  },
  sber: {
    auth: (secret) => ({ client_id: 'DA5278AC-A07F-C01A-B2D3-C231DBB2E20F', access_token: `sber-${secret}` }),
    invalid: [
      { auth: { access_token: 'sber-good' }, path: 'client_id' },
      { auth: { client_id: 'DA5278AC-A07F-C01A-B2D3-C231DBB2E20F', expires_at: 'soon' }, path: 'expires_at' },
    ],
    settingsDefaults: {},
    profile: { id: '74c64d08bdd5e6f2b94770e9fed9342b9054f22bea1571e68448c8cae83e0d80ec206549e11d13fc', name: 'Anna Ivanova', username: 'anna@example.test' },
    reason: 'Invalid access token',
  },
}

const OAUTH_VENDORS = ['github', 'google', 'yandex', 'amocrm', 'bitrix', 'sber'] as const

let fake: http.Server
let base = ''
const seen: Seen[] = []

before(async () => {
  fake = http.createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const [, vendor = '', ...rest] = url.pathname.split('/')
    const call: Seen = { vendor, method: request.method ?? 'GET', path: `/${rest.join('/')}`, query: url.searchParams, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
    seen.push(call)
    const answer = FAKE[vendor]?.(call) ?? { status: 404, body: { fake: `no vendor ${vendor}` } }
    const text = answer.body === null || answer.body === undefined ? '' : JSON.stringify(answer.body)
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers, 'content-length': Buffer.byteLength(text) })
    response.end(text)
  })
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
})

after(async () => {
  await new Promise<void>((resolve) => fake.close(() => resolve()))
})

/** The environment that points every vendor at the fake, as an operator would. */
function fakeEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const vendor of INTEGRATION_VENDORS) env[`WORKEN_${vendor.toUpperCase()}_API_URL`] = `${base}/${vendor}/`
  env.WORKEN_AMOCRM_API_URL = `${base}/amocrm/{subdomain}`
  env.WORKEN_BITRIX_API_URL = `${base}/bitrix/{domain}`
  return env
}

const contextFor = (vendor: IntegrationVendor, apiUrl = vendorApiUrl(vendor, fakeEnv())) => ({ apiUrl, fetch: globalThis.fetch })

/** Parses auth_data as the API would, then asks the vendor who it is. */
async function profileOf(vendor: Exclude<IntegrationVendor, 'worken'>, secret: string, apiUrl?: string): Promise<IntegrationProfile> {
  const definition = VENDORS[vendor]
  const auth = definition.auth.parse(CASES[vendor].auth(secret))
  return definition.profile(auth, contextFor(vendor, apiUrl))
}

const lastCall = (vendor: string) => seen.filter((call) => call.vendor === vendor).at(-1)

describe('the vendor registry', () => {
  it('has all 13 vendors of IntegrationVendor, each under its own name, of the decided kind', () => {
    assert.deepEqual(Object.keys(VENDORS).sort(), [...INTEGRATION_VENDORS].sort())
    const kinds = Object.fromEntries(INTEGRATION_VENDORS.map((vendor) => [vendor, VENDORS[vendor].kind]))
    assert.deepEqual(kinds, {
      telegram: 'channel',
      whatsapp: 'channel',
      vk: 'channel',
      ok: 'channel',
      max: 'channel',
      avito: 'channel',
      worken: 'channel',
      amocrm: 'crm',
      bitrix: 'crm',
      github: 'account',
      google: 'account',
      yandex: 'account',
      sber: 'account',
    })
    for (const vendor of INTEGRATION_VENDORS) assert.equal(VENDORS[vendor].vendor, vendor)
  })

  it('accepts the spec’s three examples as they are written', () => {
    assert.ok(VENDORS.telegram.auth.safeParse({ token: '7123456789:AAH...' }).success)
    assert.ok(VENDORS.amocrm.auth.safeParse({ subdomain: 'mycompany' }).success)
    assert.ok(VENDORS.vk.auth.safeParse({ access_token: 'vk1.a...' }).success)
  })

  it('OAuth is set for exactly the OAuth vendors; avito uses client credentials instead', () => {
    assert.deepEqual(INTEGRATION_VENDORS.filter((vendor) => VENDORS[vendor].oauth).sort(), [...OAUTH_VENDORS].sort())
  })
})

describe('vendorApiUrl and WORKEN_<VENDOR>_API_URL', () => {
  it('names one variable per vendor', () => {
    assert.equal(API_URL_VARIABLES.length, 13)
    assert.ok(API_URL_VARIABLES.includes('WORKEN_TELEGRAM_API_URL'))
    assert.ok(API_URL_VARIABLES.includes('WORKEN_AMOCRM_API_URL'))
  })

  it('is the vendor’s default when unset or empty, and the variable without trailing slashes when set', () => {
    assert.equal(vendorApiUrl('telegram', {}), 'https://api.telegram.org')
    assert.equal(vendorApiUrl('telegram', { WORKEN_TELEGRAM_API_URL: '  ' }), 'https://api.telegram.org')
    assert.equal(vendorApiUrl('telegram', { WORKEN_TELEGRAM_API_URL: 'http://127.0.0.1:9000/tg//' }), 'http://127.0.0.1:9000/tg')
    assert.equal(vendorApiUrl('amocrm', {}), 'https://{subdomain}.amocrm.ru')
    assert.equal(vendorApiUrl('amocrm', { WORKEN_AMOCRM_API_URL: 'https://{subdomain}.kommo.test' }), 'https://{subdomain}.kommo.test')
  })

  it('refuses a value that is not an http(s) URL, naming the variable', () => {
    for (const value of ['ftp://files.example.test', 'not a url', 'https://user:pw@api.example.test', 'https://api.example.test/?a=1', 'http://api.example.test/{subdomain}']) {
      assert.throws(() => vendorApiUrl('telegram', { WORKEN_TELEGRAM_API_URL: value }), /WORKEN_TELEGRAM_API_URL must be an http\(s\) URL/)
    }
  })
})

for (const vendor of Object.keys(CASES) as Array<keyof typeof CASES>) {
  const definition = VENDORS[vendor]
  const data = CASES[vendor]

  describe(`${vendor}`, () => {
    it('accepts valid auth_data, and settings {} with its defaults', () => {
      assert.ok(definition.auth.safeParse(data.auth('good')).success)
      assert.deepEqual(definition.settings.parse({}), data.settingsDefaults)
    })

    it('refuses a wrong or missing auth_data field, naming it', () => {
      for (const { auth, path } of data.invalid) {
        const result = definition.auth.safeParse(auth)
        assert.equal(result.success, false, `${JSON.stringify(auth)} must be refused`)
        assert.ok(
          result.error!.issues.some((issue) => issue.path.join('.') === path && issue.message.length > 0),
          `${JSON.stringify(auth)}: the issues must name ${path}: ${JSON.stringify(result.error!.issues)}`,
        )
      }
    })

    it('refuses unknown auth_data and settings fields, naming them', () => {
      for (const schema of [definition.auth, definition.settings]) {
        const result = schema.safeParse({ ...(schema === definition.auth ? data.auth('good') : {}), tokenn: 'x' })
        assert.equal(result.success, false)
        assert.deepEqual(
          result.error!.issues.find((issue) => issue.code === 'unrecognized_keys'),
          { code: 'unrecognized_keys', keys: ['tokenn'], path: [], message: 'Unrecognized key: "tokenn"' },
        )
      }
    })

    if (data.invalidSettings) {
      it('refuses a wrong settings field, naming it', () => {
        for (const { settings, path } of data.invalidSettings!) {
          const result = definition.settings.safeParse(settings)
          assert.equal(result.success, false, `${JSON.stringify(settings)} must be refused`)
          assert.ok(result.error!.issues.some((issue) => issue.path.join('.') === path))
        }
      })
    }

    it('maps the documented answer to the profile, having sent the credentials as documented', async () => {
      assert.deepEqual(await profileOf(vendor, 'good'), data.profile)
      const call = lastCall(vendor)
      assert.ok(call, 'the fake was called')
      const answered = FAKE[vendor]!(call)
      assert.notEqual(answered.status, 400, `the request was not as documented: ${JSON.stringify(answered.body)}`)
    })

    it('a refusal of the credentials is CredentialsRefused with the vendor’s reason', async () => {
      await assert.rejects(profileOf(vendor, 'revoked'), (error: unknown) => {
        assert.ok(error instanceof CredentialsRefused, `got ${String(error)}`)
        assert.ok(error.reason.includes(data.reason), `the reason carries the vendor's words: ${error.reason}`)
        return true
      })
    })

    it('a 5xx is VendorUnavailable, not a verdict on the credentials', async () => {
      await assert.rejects(profileOf(vendor, 'crash'), (error: unknown) => error instanceof VendorUnavailable && /HTTP 500/.test(error.message))
    })

    it('an answer in no documented shape is VendorUnavailable', async () => {
      await assert.rejects(profileOf(vendor, 'garbled'), VendorUnavailable)
    })

    it('an unreachable vendor is VendorUnavailable', async () => {
      const closed = http.createServer()
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
      const port = (closed.address() as AddressInfo).port
      await new Promise<void>((resolve) => closed.close(() => resolve()))
      await assert.rejects(profileOf(vendor, 'good', `http://127.0.0.1:${port}/${vendor}`), VendorUnavailable)
    })
  })
}

describe('OAuth vendors', () => {
  for (const vendor of OAUTH_VENDORS) {
    it(`${vendor}: without an access token yet, profile is refused ("start OAuth") without calling the vendor`, async () => {
      const { access_token: _token, ...before } = CASES[vendor].auth('good')
      const calls = seen.length
      const auth = VENDORS[vendor].auth.parse(before)
      await assert.rejects(VENDORS[vendor].profile(auth, contextFor(vendor)), (error: unknown) => error instanceof CredentialsRefused && error.reason === 'not authorized yet: start OAuth')
      assert.equal(seen.length, calls)
    })
  }

  it('authorization and token URLs are the vendors’ documented ones by default', () => {
    const urls = (vendor: (typeof OAUTH_VENDORS)[number], auth: Record<string, unknown> = {}) => {
      const oauth = VENDORS[vendor].oauth!
      return [oauth.authorizationUrl(auth, VENDORS[vendor].defaultApiUrl), oauth.tokenUrl(auth, VENDORS[vendor].defaultApiUrl)]
    }
    assert.deepEqual(urls('github'), ['https://github.com/login/oauth/authorize', 'https://github.com/login/oauth/access_token'])
    assert.deepEqual(urls('google'), ['https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent', 'https://oauth2.googleapis.com/token'])
    assert.deepEqual(urls('yandex'), ['https://oauth.yandex.ru/authorize', 'https://oauth.yandex.ru/token'])
    assert.deepEqual(urls('amocrm', { subdomain: 'mycompany' }), ['https://www.amocrm.ru/oauth', 'https://mycompany.amocrm.ru/oauth2/access_token'])
    assert.deepEqual(urls('bitrix', { domain: 'mycompany.bitrix24.ru' }), ['https://mycompany.bitrix24.ru/oauth/authorize/', 'https://oauth.bitrix.info/oauth/token/'])
    assert.deepEqual(urls('sber'), ['https://online.sberbank.ru/CSAFront/oidc/authorize.do?client_type=PRIVATE', 'https://oauth.sber.ru/ru/prod/tokens/v2/oidc'])
  })

  it('under a replaced API URL they keep their paths under it, so one double serves them', () => {
    const env = fakeEnv()
    const auth = { subdomain: 'mycompany', domain: 'mycompany.bitrix24.test' }
    for (const vendor of OAUTH_VENDORS) {
      const oauth = VENDORS[vendor].oauth!
      const apiUrl = vendorApiUrl(vendor, env)
      for (const url of [oauth.authorizationUrl(auth, apiUrl), oauth.tokenUrl(auth, apiUrl)]) {
        assert.ok(url.startsWith(`${base}/${vendor}/`), `${vendor}: ${url}`)
        assert.doesNotMatch(url, /[{}]/)
      }
    }
    assert.equal(VENDORS.github.oauth!.tokenUrl({}, 'https://ghe.example.test/api/v3'), 'https://ghe.example.test/login/oauth/access_token', 'GitHub Enterprise Server')
  })
})

describe('vendor specifics', () => {
  it('github: a 403 of the rate limit is VendorUnavailable, not a refusal', async () => {
    await assert.rejects(profileOf('github', 'ratelimited'), VendorUnavailable)
  })

  it('bitrix: the token of an inactive user is refused', async () => {
    await assert.rejects(profileOf('bitrix', 'inactive'), (error: unknown) => error instanceof CredentialsRefused && /inactive/.test(error.reason))
  })

  it('avito: a token refused by the account call (403) is refused too', async () => {
    await assert.rejects(profileOf('avito', 'forbidden'), (error: unknown) => error instanceof CredentialsRefused && /forbidden for this application/.test(error.reason))
  })

  it('amocrm: the subdomain is taken in lower case and fills the account’s API URL', async () => {
    assert.equal(VENDORS.amocrm.auth.parse({ subdomain: ' MyCompany ' }).subdomain, 'mycompany')
    await profileOf('amocrm', 'good')
    assert.equal(lastCall('amocrm')?.path, '/mycompany/api/v4/account')
  })

  it('the caller’s abort signal ends a call as VendorUnavailable', async () => {
    const hanging = http.createServer(() => {})
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    try {
      const apiUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`
      const auth = VENDORS.telegram.auth.parse(CASES.telegram.auth('good'))
      await assert.rejects(VENDORS.telegram.profile(auth, { apiUrl, fetch: globalThis.fetch, signal: AbortSignal.timeout(100) }), VendorUnavailable)
    } finally {
      hanging.closeAllConnections()
      await new Promise<void>((resolve) => hanging.close(() => resolve()))
    }
  })
})

describe('worken (the website widget)', () => {
  it('needs no credentials: {} is valid auth_data, and the profile needs no network', async () => {
    const calls = seen.length
    assert.deepEqual(await VENDORS.worken.profile(VENDORS.worken.auth.parse({}), contextFor('worken')), { id: 'widget', name: 'Website widget' })
    const widgetId = newWidgetId()
    assert.ok(VENDORS.worken.auth.safeParse({ widget_id: widgetId }).success)
    assert.deepEqual(await VENDORS.worken.profile({ widget_id: widgetId }, contextFor('worken')), { id: widgetId, name: 'Website widget' })
    assert.equal(seen.length, calls)
  })

  it('refuses a wrong widget_id or an unknown field, naming it', () => {
    const wrong = VENDORS.worken.auth.safeParse({ widget_id: 'x' })
    assert.equal(wrong.success, false)
    assert.deepEqual(wrong.error!.issues[0]!.path, ['widget_id'])
    assert.equal(VENDORS.worken.auth.safeParse({ token: 'x' }).success, false)
  })

  it('settings: defaults, and origins that are origins', () => {
    assert.deepEqual(VENDORS.worken.settings.parse({}), { title: null, welcome_message: null, allowed_origins: [], color: null, position: 'bottom-right' })
    assert.deepEqual(VENDORS.worken.settings.parse({ allowed_origins: ['https://shop.example.test'] }).allowed_origins, ['https://shop.example.test'])
    const wrong = VENDORS.worken.settings.safeParse({ allowed_origins: ['https://shop.example.test/'], color: 'red' })
    assert.equal(wrong.success, false)
    assert.deepEqual(wrong.error!.issues.map((issue) => issue.path.join('.')).sort(), ['allowed_origins.0', 'color'])
  })
})
