import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { newId } from '../../../src/platform/db/ids.ts'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../../src/platform/http/fields.ts'
import { createTestContext, type Call, type Seeded, type TestContext } from '../../support/harness.ts'

/**
 * Issue 13, item 7: no list answers everything at once. Every list whose answer is a bare
 * array (the spec's `Bot[]`, `Chat[]`, …) pages by `limit`/`offset` with a default page of
 * DEFAULT_PAGE_SIZE and at most MAX_PAGE_SIZE, and says how many there are in `X-Total-Count`.
 * Each list here gets more items than the default page.
 */

let ctx: TestContext
let owner: Seeded
let api: Call
let chatId: string
const THREAD = 'paged-thread'
const COUNT = DEFAULT_PAGE_SIZE + 7

const sql = (text: string, params: unknown[] = []) => ctx.database.withSession((session) => session.query(text, params))

before(async () => {
  ctx = await createTestContext({ services: { webhooksResolve: async () => ['93.184.216.34'] } })
  owner = await ctx.seed()
  api = ctx.asKey(owner.key)
  const bot = (await api('POST', '/bots', { name: 'Paged' })).body.id
  assert.equal((await api('POST', `/bots/${bot}/settings`, { ai: { model: { id: 'local/echo' }, memory: { generateTitle: false } } })).status, 200)
  chatId = (await api('POST', '/chats', { bot_id: bot, name: 'Paged chat' })).body.id
  const first = await api('POST', `/chats/${chatId}/threads/${THREAD}/stream`, { messages: [{ role: 'user', content: 'first' }] })
  assert.equal(first.status, 200, first.text)
  assert.equal((await api('POST', `/chats/${chatId}/threads/${THREAD}/mode`, { mode: 'manual' })).status, 200)
})
after(() => ctx.close())

type List = { name: string; path: () => string; fill: () => Promise<void> }

const LISTS: List[] = [
  {
    name: 'GET /bots',
    path: () => '/bots',
    fill: async () => {
      for (let i = 0; i < COUNT; i++) await ctx.services.bots.create(owner.projectId, { name: `bot ${i}` })
    },
  },
  {
    name: 'GET /chats',
    path: () => '/chats',
    fill: async () => {
      const bot = (await ctx.services.bots.create(owner.projectId, { name: 'chats' })).id
      for (let i = 0; i < COUNT; i++) await ctx.services.chats.create(owner.projectId, { bot_id: bot, name: `chat ${i}` })
    },
  },
  {
    name: 'GET /projects',
    path: () => '/projects',
    fill: async () => {
      await sql(`insert into projects (id, organization_id, name) select 'prj_paged_' || n, $1, 'Project ' || n from generate_series(1, $2::int) n`, [owner.organizationId, COUNT])
    },
  },
  {
    name: 'GET /projects/:id/api-keys',
    path: () => `/projects/${owner.projectId}/api-keys`,
    fill: async () => {
      for (let i = 0; i < COUNT; i++) await ctx.services.apiKeys.create(owner.projectId, `key ${i}`)
    },
  },
  {
    name: 'GET /chats/:chat_id/threads',
    path: () => `/chats/${chatId}/threads`,
    fill: async () => {
      const [chat] = await sql(`select bot_id from chats where id = $1`, [chatId])
      await sql(
        `insert into threads (project_id, id, chat_id, bot_id, created_at) select $1, 'thread-' || n, $2, $3, now() - n * interval '1 second' from generate_series(1, $4::int) n`,
        [owner.projectId, chatId, (chat as { bot_id: string }).bot_id, COUNT],
      )
    },
  },
  {
    name: 'GET /chats/:chat_id/threads/:thread_id/messages',
    path: () => `/chats/${chatId}/threads/${THREAD}/messages`,
    fill: async () => {
      // The thread is in manual mode: the messages are stored, and nothing replies.
      for (let sent = 0; sent < COUNT; sent += 20) {
        const texts = Array.from({ length: Math.min(20, COUNT - sent) }, (_, i) => ({ role: 'user', content: `message ${sent + i}` }))
        const response = await api('POST', `/chats/${chatId}/threads/${THREAD}/stream`, { messages: texts })
        assert.equal(response.status, 202, response.text)
      }
    },
  },
  {
    name: 'GET /threads/:thread_id/scheduled',
    path: () => `/threads/${THREAD}/scheduled`,
    fill: async () => {
      await sql(
        `insert into scheduled_messages (id, project_id, thread_id, text, operator_id, scheduled_at) select 'sch_paged_' || n, $1, $2, 'later ' || n, 'op', now() + n * interval '1 hour' from generate_series(1, $3::int) n`,
        [owner.projectId, THREAD, COUNT],
      )
    },
  },
  {
    name: 'GET /webhook-endpoints',
    path: () => '/webhook-endpoints',
    fill: async () => {
      for (let i = 0; i < COUNT; i++) await ctx.services.webhooks.create(owner.projectId, { url: `https://hooks.example.test/${i}`, secret: 'a-long-enough-secret-value' })
    },
  },
]

for (const list of LISTS) {
  describe(list.name, () => {
    let all: Array<{ id: string }>

    before(async () => {
      await list.fill()
      const everything = await api('GET', `${list.path()}?limit=${MAX_PAGE_SIZE}`)
      assert.equal(everything.status, 200, everything.text)
      all = everything.body
      assert.ok(all.length > DEFAULT_PAGE_SIZE, `${all.length} items`)
      assert.equal(everything.headers.get('x-total-count'), String(all.length))
    })

    it(`answers the first ${DEFAULT_PAGE_SIZE} without limit, and how many there are in X-Total-Count`, async () => {
      const page = await api('GET', list.path())
      assert.equal(page.status, 200, page.text)
      assert.equal(page.body.length, DEFAULT_PAGE_SIZE)
      assert.equal(page.headers.get('x-total-count'), String(all.length))
      assert.deepEqual(page.body.map((item: { id: string }) => item.id), all.slice(0, DEFAULT_PAGE_SIZE).map((item) => item.id))
    })

    it(`refuses a limit above ${MAX_PAGE_SIZE} (or below 1) with a 422 naming it`, async () => {
      for (const limit of [MAX_PAGE_SIZE + 1, 0, 1.5]) {
        const response = await api('GET', `${list.path()}?limit=${limit}`)
        assert.equal(response.status, 422, `limit=${limit}: ${response.text}`)
        assert.equal(response.body.details[0].path, 'query.limit')
      }
      assert.equal((await api('GET', `${list.path()}?offset=-1`)).status, 422)
    })

    it('walks every item exactly once with offset', async () => {
      const seen: string[] = []
      for (let offset = 0; ; offset += 40) {
        const page = await api('GET', `${list.path()}?limit=40&offset=${offset}`)
        assert.equal(page.status, 200, page.text)
        assert.equal(page.headers.get('x-total-count'), String(all.length))
        seen.push(...page.body.map((item: { id: string }) => item.id))
        if (page.body.length < 40) break
      }
      assert.deepEqual(seen, all.map((item) => item.id))
      const past = await api('GET', `${list.path()}?offset=${all.length + 5}`)
      assert.deepEqual(past.body, [])
      assert.equal(past.headers.get('x-total-count'), String(all.length), 'the total also past the end')
    })
  })
}

it('documents the default, the maximum and X-Total-Count on every such list', async () => {
  const document = (await (await ctx.publicApp.request('/openapi.json')).json()) as any
  for (const list of LISTS) {
    const path = list.name.slice('GET '.length).replace(/:(\w+)/g, '{$1}')
    const operation = document.paths[path]?.get
    assert.ok(operation, path)
    const limit = operation.parameters.find((parameter: { name: string }) => parameter.name === 'limit')
    assert.equal(limit?.schema.default, DEFAULT_PAGE_SIZE, `${path}: limit's default`)
    assert.equal(limit?.schema.maximum, MAX_PAGE_SIZE, `${path}: limit's maximum`)
    assert.match(limit.description ?? limit.schema.description, new RegExp(`default ${DEFAULT_PAGE_SIZE}`))
    assert.ok(operation.responses[200].headers?.['X-Total-Count'], `${path}: X-Total-Count`)
  }
})
