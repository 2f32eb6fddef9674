import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createApp } from '../../../src/app.ts'
import { PlanRateLimiter, type Tariff } from '../../../src/platform/http/plan-limits.ts'
import { createTestContext, silentLogger, type Call, type Seeded, type TestContext, type TestResponse } from '../../support/harness.ts'

// The plan of each organization, as the billing module would answer it.
const plans = new Map<string, Tariff>()
let ctx: TestContext

before(async () => {
  ctx = await createTestContext({ services: { rateLimits: { tariffOf: async (organizationId) => plans.get(organizationId) ?? 'enterprise', tariffCacheMs: 0 } } })
})
after(() => ctx.close())

async function seedOn(tariff: Tariff): Promise<Seeded> {
  const seeded = await ctx.seed()
  plans.set(seeded.organizationId, tariff)
  return seeded
}

/** `count` requests one after the other (the counter is exact only when each is answered before the next). */
async function repeat(call: Call, count: number, path = '/bots'): Promise<TestResponse[]> {
  const answers: TestResponse[] = []
  for (let i = 0; i < count; i++) answers.push(await call('GET', path))
  return answers
}

function budget(response: TestResponse) {
  const header = (name: string) => response.headers.get(name)
  return {
    limit: header('x-ratelimit-limit'),
    remaining: header('x-ratelimit-remaining'),
    reset: header('x-ratelimit-reset'),
    policy: header('ratelimit-policy'),
    ratelimit: header('ratelimit'),
  }
}

describe('plan rate limits', () => {
  it('the 61st request in a minute on Free is 429 rate_limited with a correct Retry-After; the first 60 pass', async () => {
    const free = await seedOn('free')
    const started = Date.now()
    const answers = await repeat(ctx.asKey(free.key), 61)
    assert.deepEqual(answers.slice(0, 60).map((answer) => answer.status), Array(60).fill(200))
    const refused = answers[60]!
    assert.equal(refused.status, 429)
    assert.deepEqual(refused.body, {
      error: 'Too Many Requests',
      code: 'rate_limited',
      message: 'The free plan allows 60 requests per 60 seconds per project; retry in ' + refused.headers.get('retry-after') + ' s',
    })
    // The window opened with the first request: what is left of its minute, rounded up, never 0.
    const retryAfter = Number(refused.headers.get('retry-after'))
    const elapsed = (Date.now() - started) / 1000
    assert.ok(retryAfter >= Math.floor(60 - elapsed) && retryAfter <= 60, `Retry-After ${retryAfter} after ${elapsed} s`)
    assert.equal(refused.headers.get('x-should-retry'), 'true')
    assert.deepEqual(budget(refused), { limit: '60', remaining: '0', reset: String(retryAfter), policy: '"free";q=60;w=60', ratelimit: `"free";r=0;t=${retryAfter}` })
  })

  it('every counted answer carries the budget: 2xx, 4xx and the 429', async () => {
    const free = await seedOn('free')
    const api = ctx.asKey(free.key)
    const listed = await api('GET', '/bots')
    assert.equal(listed.status, 200)
    const first = budget(listed)
    assert.equal(first.limit, '60')
    assert.equal(first.remaining, '59')
    assert.ok(Number(first.reset) > 0 && Number(first.reset) <= 60)
    assert.equal(first.policy, '"free";q=60;w=60')
    assert.equal(first.ratelimit, `"free";r=59;t=${first.reset}`)

    const created = await api('POST', '/bots', { name: 'Counted' })
    assert.equal(created.status, 200)
    assert.equal(budget(created).remaining, '58')
    const missing = await api('GET', '/bots/bot_nothing_here')
    assert.equal(missing.status, 404)
    assert.equal(budget(missing).remaining, '57')
    const invalid = await api('POST', '/bots', { name: 42 })
    assert.equal(invalid.status, 422)
    assert.equal(budget(invalid).remaining, '56')
    const wrongMethod = await api('DELETE', '/bots')
    assert.equal(wrongMethod.status, 405)
    assert.equal(budget(wrongMethod).remaining, '55')
    // An event stream is counted when it opens, and its answer carries the budget like any other.
    const stream = await ctx.publicApp.request('/threads/events', { headers: { authorization: `Bearer ${free.key}` } })
    assert.equal(stream.status, 200)
    assert.equal(stream.headers.get('x-ratelimit-remaining'), '54')
    await stream.body?.cancel()
  })

  it('counts per project: another project of the same organization, and another organization, are unaffected', async () => {
    const free = await seedOn('free')
    assert.equal((await repeat(ctx.asKey(free.key), 61)).at(-1)!.status, 429)
    // A second key of the same project shares its counter.
    const sameProject = await ctx.services.apiKeys.create(free.projectId, 'second key', { createdByUserId: free.userId })
    assert.equal((await ctx.asKey(sameProject.key)('GET', '/bots')).status, 429)

    const sibling = await ctx.seed({ organizationId: free.organizationId })
    const fresh = await ctx.asKey(sibling.key)('GET', '/bots')
    assert.equal(fresh.status, 200)
    assert.equal(budget(fresh).remaining, '59')

    const other = await seedOn('free')
    assert.equal((await ctx.asKey(other.key)('GET', '/bots')).status, 200)
  })

  it('follows the plan: Starter allows 300, Enterprise is not counted and shows no budget', async () => {
    const starter = await seedOn('starter')
    const answers = await repeat(ctx.asKey(starter.key), 301)
    assert.equal(answers.filter((answer) => answer.status === 200).length, 300)
    assert.equal(answers[300]!.status, 429)
    assert.equal(answers[0]!.headers.get('ratelimit-policy'), '"starter";q=300;w=60')

    const enterprise = await seedOn('enterprise')
    const unlimited = await repeat(ctx.asKey(enterprise.key), 70)
    assert.ok(unlimited.every((answer) => answer.status === 200))
    for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit', 'ratelimit-policy']) {
      assert.equal(unlimited[0]!.headers.get(name), null, name)
    }
  })

  it('a plan changed mid-window applies at once, to the requests already counted', async () => {
    const upgraded = await seedOn('free')
    assert.equal((await repeat(ctx.asKey(upgraded.key), 61)).at(-1)!.status, 429)
    plans.set(upgraded.organizationId, 'pro')
    const after = await ctx.asKey(upgraded.key)('GET', '/bots')
    assert.equal(after.status, 200)
    assert.equal(budget(after).remaining, String(600 - 62))
  })

  it('health checks, the OpenAPI document and the docs are not counted, and carry no budget', async () => {
    const free = await seedOn('free')
    const api = ctx.asKey(free.key)
    assert.equal((await repeat(api, 60)).at(-1)!.status, 200)
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      const answer = await api('GET', path)
      assert.equal(answer.status, 200, path)
      assert.equal(answer.headers.get('x-ratelimit-limit'), null, path)
    }
    // Still exactly at the limit: none of the above was counted.
    assert.equal((await api('GET', '/bots')).status, 429)
  })

  it('a refused request is never run: nothing is created past the limit', async () => {
    const free = await seedOn('free')
    const api = ctx.asKey(free.key)
    await repeat(api, 59)
    assert.equal((await api('POST', '/bots', { name: 'Last allowed' })).status, 200)
    assert.equal((await api('POST', '/bots', { name: 'Refused' })).status, 429)
    const names = (await ctx.services.bots.list(free.projectId, { limit: 10, offset: 0 })).data.map((bot) => bot.name)
    assert.deepEqual(names, ['Last allowed'])
  })

  it('an event stream resumed with Last-Event-ID is not counted, even past the limit', async () => {
    const free = await seedOn('free')
    const headers = { authorization: `Bearer ${free.key}` }
    const opened = await ctx.publicApp.request('/threads/events', { headers })
    assert.equal(opened.status, 200)
    await opened.body?.cancel()
    assert.equal((await repeat(ctx.asKey(free.key), 60)).at(-1)!.status, 429)
    const resumed = await ctx.publicApp.request('/threads/events', { headers: { ...headers, 'last-event-id': '0' } })
    assert.equal(resumed.status, 200)
    assert.equal(resumed.headers.get('x-ratelimit-limit'), null)
    await resumed.body?.cancel()
    const reopened = await ctx.publicApp.request('/threads/events', { headers })
    assert.equal(reopened.status, 429, 'a new stream is counted')
  })

  it('the internal API is not counted', async () => {
    const free = await seedOn('free')
    const member = ctx.asMember(free)
    const answers = await repeat(member, 61)
    assert.ok(answers.every((answer) => answer.status === 200))
    assert.equal(answers[0]!.headers.get('x-ratelimit-limit'), null)
  })
})

describe('browsers', () => {
  it('a page allowed by CORS may read the budget headers', async () => {
    const browser = await createTestContext({ services: { rateLimits: { tariffOf: async () => 'free' } } })
    try {
      const seeded = await browser.seed()
      const app = createApp({ kind: 'public', services: browser.services, logger: silentLogger, corsOrigins: ['http://app.example.test'] })
      const answer = await app.request('/bots', { headers: { authorization: `Bearer ${seeded.key}`, origin: 'http://app.example.test' } })
      assert.equal(answer.status, 200)
      assert.equal(answer.headers.get('x-ratelimit-remaining'), '59')
      const exposed = answer.headers.get('access-control-expose-headers')!.toLowerCase().split(/, */)
      for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit', 'ratelimit-policy', 'retry-after']) assert.ok(exposed.includes(name), name)
    } finally {
      await browser.close()
    }
  })
})

describe('the window', () => {
  for (const store of ['memory', 'database'] as const) {
    it(`lets requests through again once it ends (${store} store)`, async () => {
      const short = await createTestContext({ services: { rateLimits: { tariffOf: async () => 'free', windowSeconds: 2, store } } })
      try {
        const seeded = await short.seed()
        const api = short.asKey(seeded.key)
        const answers = await repeat(api, 61)
        assert.equal(answers[59]!.status, 200)
        assert.equal(answers[60]!.status, 429)
        assert.ok(['1', '2'].includes(answers[60]!.headers.get('retry-after')!))
        assert.equal(answers[0]!.headers.get('ratelimit-policy'), '"free";q=60;w=2')
        await sleep(Number(answers[60]!.headers.get('x-ratelimit-reset')) * 1000 + 50)
        const again = await api('GET', '/bots')
        assert.equal(again.status, 200)
        assert.equal(again.headers.get('x-ratelimit-remaining'), '59')
      } finally {
        await short.close()
      }
    })
  }
})

describe('the plan of an organization', () => {
  it('is asked once per organization while cached, again after 30 s, and a failed lookup is not kept', async () => {
    let now = 1_000_000
    const asked: string[] = []
    let failNext = false
    const limiter = new PlanRateLimiter({
      store: { kind: 'memory' },
      now: () => now,
      tariffOf: async (organizationId) => {
        asked.push(organizationId)
        if (failNext) {
          failNext = false
          throw new Error('billing is down')
        }
        return 'free'
      },
    })
    const caller = { organizationId: 'org_cached', projectId: 'prj_cached' }
    await Promise.all([limiter.consume(caller), limiter.consume(caller), limiter.consume({ ...caller, projectId: 'prj_sibling' })])
    assert.deepEqual(asked, ['org_cached'], 'concurrent requests share one lookup')
    now += 29_999
    await limiter.consume(caller)
    assert.equal(asked.length, 1)
    now += 1
    failNext = true
    await assert.rejects(limiter.consume(caller), /billing is down/)
    const decision = await limiter.consume(caller)
    assert.equal(asked.length, 3, 'the failure was not cached')
    // Four counted for the project: the failed lookup refused its request before counting it.
    assert.deepEqual(decision, { limited: true, tariff: 'free', allowed: true, limit: 60, remaining: 56, resetMs: decision.limited ? decision.resetMs : 0 })
  })
})
