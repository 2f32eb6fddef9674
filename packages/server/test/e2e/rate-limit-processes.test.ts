import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { processDatabase, startServerProcess, type ServerProcess } from '../support/process.ts'

const KEY = `sk-${'5a7e11'.repeat(8)}`
const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function startOn(database: { env: Record<string, string> }, extra: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ ...database.env, WORKEN_BOOTSTRAP_API_KEY: KEY, WORKEN_DEFAULT_TARIFF: 'free', ...extra })
  cleanups.push(() => server.stop())
  return server
}

function get(base: string, path: string, key: string | undefined = KEY): Promise<Response> {
  return fetch(base + path, { headers: key ? { authorization: `Bearer ${key}` } : {} })
}

it('a server started with WORKEN_DEFAULT_TARIFF=free refuses the 61st request of a minute, and health is never counted', { timeout: 120_000 }, async () => {
  const database = await processDatabase('rate-limit-one')
  cleanups.push(database.cleanup)
  const server = await startOn(database)
  for (let i = 1; i <= 60; i++) {
    const answer = await get(server.publicUrl, '/bots')
    assert.equal(answer.status, 200)
    assert.equal(answer.headers.get('x-ratelimit-remaining'), String(60 - i))
    await answer.body?.cancel()
    // Interleaved: a health check between every request changes nothing.
    assert.equal((await get(server.publicUrl, '/healthz', undefined)).status, 200)
  }
  const refused = await get(server.publicUrl, '/bots')
  assert.equal(refused.status, 429)
  const retryAfter = Number(refused.headers.get('retry-after'))
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  assert.equal((await refused.json() as { code: string }).code, 'rate_limited')
  const ready = await get(server.publicUrl, '/readyz')
  assert.equal(ready.status, 200)
  assert.equal(ready.headers.get('x-ratelimit-limit'), null)
})

const serverUrl = process.env.TEST_DATABASE_URL

it(
  'two server processes on one Postgres share each project\'s budget',
  { skip: serverUrl ? false : 'needs TEST_DATABASE_URL: PGlite is one process, so there is no second process to share with', timeout: 120_000 },
  async () => {
    const database = await processDatabase('rate-limit-two')
    cleanups.push(database.cleanup)
    // One after the other: the first bootstraps the key, the second finds it.
    const first = await startOn(database)
    const second = await startOn(database)
    const servers = [first, second]
    for (let i = 1; i <= 60; i++) {
      const answer = await get(servers[i % 2]!.publicUrl, '/bots')
      assert.equal(answer.status, 200, `request ${i}`)
      // Each process sees the other's requests: the remaining budget falls by one whichever answers.
      assert.equal(answer.headers.get('ratelimit'), `"free";r=${60 - i};t=${answer.headers.get('x-ratelimit-reset')}`)
      await answer.body?.cancel()
    }
    for (const server of servers) {
      const refused = await get(server.publicUrl, '/bots')
      assert.equal(refused.status, 429)
      assert.ok(Number(refused.headers.get('retry-after')) >= 1)
      await refused.body?.cancel()
    }

    // The internal API is not counted: it creates what the rest of the test needs.
    const identity = bootstrapIdentity(first)
    const internal = async (path: string, body: unknown) => {
      const answer = await fetch(first.internalUrl + path, { method: 'POST', headers: { ...identity, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      assert.equal(answer.status, 200, path)
      return answer.json() as Promise<Record<string, any>>
    }
    // Another key of the same project shares the spent budget: counting is per project, not per key.
    const sameProject = await internal(`/projects/${identity['worken-project']}/api-keys`, { name: 'second' })
    assert.equal((await get(second.publicUrl, '/bots', sameProject.key)).status, 429)

    // Another project is unaffected, and concurrent requests through both processes let exactly its 60 through.
    const other = await internal('/projects', { name: 'Other', organization_id: identity['worken-organization'] })
    const answers = await Promise.all(Array.from({ length: 80 }, async (_, i) => {
      const answer = await get(servers[i % 2]!.publicUrl, '/bots', other.api_key.key)
      await answer.body?.cancel()
      return answer.status
    }))
    assert.deepEqual([answers.filter((status) => status === 200).length, answers.filter((status) => status === 429).length], [60, 20])
  },
)

/** The internal API's identity of the bootstrapped owner, from the first start's log. */
function bootstrapIdentity(server: ServerProcess): Record<string, string> {
  const match = /Worken-Organization: (\S+)\s+Worken-Project: (\S+)\s+Worken-User: (\S+)/.exec(server.output())
  assert.ok(match, 'the bootstrap banner names the internal identity')
  return { 'worken-organization': match[1]!, 'worken-project': match[2]!, 'worken-user': match[3]! }
}
