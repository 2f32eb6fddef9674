import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fs from 'node:fs'
import pino from 'pino'
import { generateOpenApi, OPENAPI_PATH } from '../../../scripts/openapi.ts'
import { createApp } from '../../../src/app.ts'
import { createTestContext, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded

before(async () => {
  ctx = await createTestContext()
  owner = await ctx.seed()
})
after(() => ctx.close())

/** A pino logger whose lines land in an array, to check what is and is not logged. */
function capturingLogger() {
  const lines: any[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

describe('errors', () => {
  it('an unexpected failure is a bare 500; the details are only in the log, under the x-request-id', async () => {
    const { logger, lines } = capturingLogger()
    const failing = { ...ctx.services, bots: Object.assign(Object.create(ctx.services.bots), {
      list: async () => { throw new Error('database exploded: secret detail') },
    }) }
    const app = createApp({ kind: 'public', services: failing, logger })
    const response = await app.request('/bots', { headers: { authorization: `Bearer ${owner.key}` } })
    assert.equal(response.status, 500)
    assert.equal(await response.text(), '{"error":"Internal Server Error","code":"internal_error"}')
    const requestId = response.headers.get('x-request-id')
    assert.ok(requestId)
    const errorLine = lines.find((line) => line.msg === 'unhandled error')
    assert.equal(errorLine.requestId, requestId)
    assert.match(errorLine.err.message, /database exploded/)
    const accessLine = lines.find((line) => line.msg === 'request')
    assert.deepEqual(
      { requestId: accessLine.requestId, method: accessLine.method, path: accessLine.path, status: accessLine.status },
      { requestId, method: 'GET', path: '/bots', status: 500 },
    )
    assert.equal(typeof accessLine.durationMs, 'number')
    assert.ok(!JSON.stringify(lines).includes(owner.key), 'the key is never logged')
  })

  it('never logs keys or query strings', async () => {
    const { logger, lines } = capturingLogger()
    const app = createApp({ kind: 'public', services: ctx.services, logger })
    await app.request('/bots?token=secret-query-value', { headers: { authorization: `Bearer ${owner.key}` } })
    const created = await app.request(`/projects/${owner.projectId}/api-keys`, {
      method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' }, body: '{"name":"logged?"}',
    })
    const { key } = (await created.json()) as { key: string }
    const all = JSON.stringify(lines)
    assert.ok(!all.includes(owner.key) && !all.includes(key) && !all.includes('secret-query-value'))
  })

  it('unknown routes are 404 and known paths with another method are 405, in the error shape', async () => {
    const api = ctx.asKey(owner.key)
    const missing = await api('GET', '/nothing/here')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error, 'Not Found')
    const wrongMethod = await api('DELETE', '/bots')
    assert.equal(wrongMethod.status, 405)
    assert.equal(wrongMethod.body.error, 'Method Not Allowed')
    assert.equal(wrongMethod.headers.get('allow'), 'GET, POST')
    const wrongOnParam = await api('PUT', '/bots/bot_123/settings')
    assert.equal(wrongOnParam.status, 405)
    assert.equal(wrongOnParam.headers.get('allow'), 'GET, POST')
  })

  it('a body over the limit is 413 in the same shape', async () => {
    const app = createApp({ kind: 'public', services: ctx.services, logger: pino({ level: 'silent' }), bodyLimit: 2048 })
    const response = await app.request('/bots', {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(4096) }),
    })
    assert.equal(response.status, 413)
    const body = (await response.json()) as any
    assert.equal(body.error, 'Payload Too Large')
    assert.match(body.message, /2048/)
  })

  it('the default limit is 1 MiB', async () => {
    const big = JSON.stringify({ ai: { instruction: 'x'.repeat(1024 * 1024) } })
    const response = await ctx.asKey(owner.key)('POST', '/bots/bot_x/settings', big)
    assert.equal(response.status, 413)
  })

  it('every response carries an x-request-id', async () => {
    const response = await ctx.asKey(owner.key)('GET', '/bots')
    assert.match(response.headers.get('x-request-id') ?? '', /^[\w-]{8,}$/)
  })
})

describe('health', () => {
  it('/healthz and /readyz answer without a key on both listeners', async () => {
    for (const app of [ctx.publicApp, ctx.internalApp]) {
      for (const path of ['/healthz', '/readyz']) {
        const response = await app.request(path)
        assert.equal(response.status, 200, path)
        assert.deepEqual(await response.json(), { status: 'ok' })
      }
    }
  })

  it('/readyz is 503 when the database does not answer', async () => {
    const broken = { ...ctx.services, database: { ...ctx.services.database, ping: async () => { throw new Error('down') } } }
    const app = createApp({ kind: 'public', services: broken, logger: pino({ level: 'silent' }) })
    const response = await app.request('/readyz')
    assert.equal(response.status, 503)
    assert.equal(((await response.json()) as any).error, 'Service Unavailable')
    assert.equal((await app.request('/healthz')).status, 200)
  })
})

describe('OpenAPI', () => {
  it('/openapi.json covers every route the app serves', async () => {
    const response = await ctx.publicApp.request('/openapi.json')
    assert.equal(response.status, 200)
    const document = (await response.json()) as any
    assert.equal(document.openapi, '3.1.0')
    const documented = new Set<string>()
    for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
      for (const method of Object.keys(operations)) documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)
    }
    const served = ctx.publicApp.routes
      // Besides the document itself: what vendors and browsers call, not API clients (docs/integrations.md):
      // a channel's inbound updates, the OAuth redirect back, and a payment provider's notifications (docs/billing.md).
      .filter((route) => route.method !== 'ALL' && !['/openapi.json', '/docs', '/docs/scalar.js', '/channels/telegram/:integration_id', '/oauth/callback', '/billing/webhooks/:provider'].includes(route.path))
      .map((route) => `${route.method} ${route.path}`)
    assert.ok(served.length >= 16)
    for (const route of served) assert.ok(documented.has(route), `${route} is not in the OpenAPI document`)
    for (const spec of ['GET /bots', 'POST /bots', 'GET /bots/:bot_id', 'POST /bots/:bot_id', 'POST /bots/:bot_id/status',
      'GET /bots/:bot_id/settings', 'POST /bots/:bot_id/settings', 'POST /bots/:bot_id/clone', 'POST /bots/:bot_id/delete',
      'GET /projects', 'POST /projects', 'POST /projects/:id/api-keys', 'GET /projects/:id/api-keys', 'DELETE /projects/:id/api-keys/:key_id']) {
      assert.ok(documented.has(spec), `${spec} missing`)
    }
    assert.ok(document.components.schemas.Bot && document.components.schemas.BotSettings && document.components.schemas.Error)
  })

  it('the committed docs/openapi.json is what the code generates (run `npm run openapi` after changing a route)', async () => {
    assert.equal(fs.readFileSync(OPENAPI_PATH, 'utf8'), await generateOpenApi())
  })

  it('/docs renders the reference from local assets only', async () => {
    const page = await ctx.publicApp.request('/docs')
    assert.equal(page.status, 200)
    const html = await page.text()
    assert.match(html, /src="\/docs\/scalar\.js"/)
    assert.ok(!/https?:\/\/(?!127\.0\.0\.1)[^"']*\.(js|css)/.test(html), 'no script or stylesheet from the internet')
    assert.match(html, /\/openapi\.json/)
    const script = await ctx.publicApp.request('/docs/scalar.js')
    assert.equal(script.status, 200)
    assert.match(script.headers.get('content-type') ?? '', /javascript/)
    assert.ok((await script.text()).length > 100_000)
  })
})
