import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { defaultBotSettings } from '../../../src/modules/bots/settings.ts'
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

async function createBot(name = 'Support Bot'): Promise<any> {
  const response = await api('POST', '/bots', { name })
  assert.equal(response.status, 200, response.text)
  return response.body
}

describe('bots: create, list, get', () => {
  it('creates a bot with the spec fields and lists it', async () => {
    const bot = await createBot('Sales Bot')
    assert.match(bot.id, /^bot_[0-9a-z]{26}$/)
    assert.deepEqual(Object.keys(bot).sort(), ['created_at', 'description', 'id', 'name', 'project_id', 'status', 'updated_at'])
    assert.equal(bot.name, 'Sales Bot')
    assert.equal(bot.description, null)
    assert.equal(bot.status, 'active')
    assert.equal(bot.project_id, owner.projectId)
    assert.equal(new Date(bot.created_at).toISOString(), bot.created_at)

    const list = await api('GET', '/bots')
    assert.equal(list.status, 200)
    assert.ok(list.body.some((b: any) => b.id === bot.id))

    const got = await api('GET', `/bots/${bot.id}`)
    assert.deepEqual(got.body, bot)
  })

  it('lists oldest first and honours limit and offset', async () => {
    const tenant = await ctx.seed()
    const call = ctx.asKey(tenant.key)
    const ids = []
    for (const name of ['a', 'b', 'c']) ids.push((await call('POST', '/bots', { name })).body.id)
    assert.deepEqual((await call('GET', '/bots')).body.map((b: any) => b.id), ids)
    assert.deepEqual((await call('GET', '/bots?limit=1&offset=1')).body.map((b: any) => b.id), [ids[1]])
    const bad = await call('GET', '/bots?limit=0')
    assert.equal(bad.status, 422)
    assert.match(bad.body.message, /query\.limit/)
    assert.equal((await call('GET', '/bots?offset=-1')).status, 422)
    assert.equal((await call('GET', '/bots?limit=abc')).status, 422)
  })

  it('accepts a description at creation (extension)', async () => {
    const response = await api('POST', '/bots', { name: 'Described', description: 'Answers questions' })
    assert.equal(response.status, 200)
    assert.equal(response.body.description, 'Answers questions')
  })

  it('rejects invalid bodies with 422 naming the field', async () => {
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: '   ' }, 'name'],
      [{ name: 42 }, 'name'],
      [{ name: 'x'.repeat(201) }, 'name'],
      [{ name: 'ok', colour: 'red' }, 'colour'],
      [{ name: 'nul\u0000byte' }, 'name'],
      [{ name: 'lone \ud800 surrogate' }, 'name'],
    ] as const) {
      const response = await api('POST', '/bots', body)
      assert.equal(response.status, 422, JSON.stringify(body))
      assert.equal(response.body.error, 'Unprocessable Entity')
      assert.match(response.body.message, new RegExp(field))
    }
    for (const body of [[], 'null', '"a string"', '7']) {
      const response = await api('POST', '/bots', body)
      assert.equal(response.status, 422, String(body))
    }
  })

  it('answers 400 for a body that is not JSON, missing, or not declared as JSON', async () => {
    const malformed = await api('POST', '/bots', '{"name":')
    assert.equal(malformed.status, 400)
    assert.deepEqual(malformed.body, { error: 'Bad Request', code: 'malformed_request', message: 'Malformed JSON in request body' })
    const wrongType = await api('POST', '/bots', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' })
    assert.equal(wrongType.status, 400)
    assert.equal(wrongType.body.error, 'Bad Request')
    const missing = await ctx.asKey(owner.key)('POST', '/bots')
    assert.equal(missing.status, 400)
    assert.match(missing.body.message, /body is required/)
  })

  it('answers 404 for unknown and malformed ids', async () => {
    for (const id of ['bot_doesnotexist', 'x'.repeat(129), '%00', 'a%20b']) {
      const response = await api('GET', `/bots/${id}`)
      assert.equal(response.status, 404, id)
      assert.equal(response.body.error, 'Not Found')
    }
  })
})

describe('bots: update, status', () => {
  it('updates name and description; null clears the description', async () => {
    const bot = await createBot()
    const renamed = await api('POST', `/bots/${bot.id}`, { name: 'Renamed', description: 'Helps' })
    assert.equal(renamed.status, 200)
    assert.equal(renamed.body.name, 'Renamed')
    assert.equal(renamed.body.description, 'Helps')
    assert.ok(renamed.body.updated_at >= bot.updated_at)
    const partial = await api('POST', `/bots/${bot.id}`, { description: null })
    assert.equal(partial.body.name, 'Renamed')
    assert.equal(partial.body.description, null)
    const bad = await api('POST', `/bots/${bot.id}`, { name: '' })
    assert.equal(bad.status, 422)
    assert.equal((await api('GET', `/bots/${bot.id}`)).body.name, 'Renamed')
  })

  it('sets each status and rejects others', async () => {
    const bot = await createBot()
    for (const status of ['disabled', 'error', 'active']) {
      const response = await api('POST', `/bots/${bot.id}/status`, { status })
      assert.equal(response.status, 200)
      assert.equal(response.body.status, status)
    }
    const bad = await api('POST', `/bots/${bot.id}/status`, { status: 'paused' })
    assert.equal(bad.status, 422)
    assert.match(bad.body.message, /status/)
    assert.equal((await api('POST', `/bots/${bot.id}/status`, {})).status, 422)
  })
})

describe('bots: settings', () => {
  it('starts with the documented defaults', async () => {
    const bot = await createBot()
    const response = await api('GET', `/bots/${bot.id}/settings`)
    assert.equal(response.status, 200)
    assert.deepEqual(response.body, defaultBotSettings())
    assert.equal(response.body.ai.model.id, 'openai/gpt-4o-mini')
    assert.equal(response.body.ai.memory.lastMessages, 10)
  })

  it('deep-merges a partial update (the spec example) and keeps the rest', async () => {
    const bot = await createBot()
    const response = await api('POST', `/bots/${bot.id}/settings`, {
      ai: { instruction: 'You are a sales assistant. Focus on product benefits.', model: { id: 'openai/gpt-4o', temperature: 0.7 } },
    })
    assert.equal(response.status, 200, response.text)
    const expected = defaultBotSettings()
    expected.ai.instruction = 'You are a sales assistant. Focus on product benefits.'
    expected.ai.model.id = 'openai/gpt-4o'
    expected.ai.model.temperature = 0.7
    assert.deepEqual(response.body, expected)
    assert.deepEqual((await api('GET', `/bots/${bot.id}/settings`)).body, expected)

    const second = await api('POST', `/bots/${bot.id}/settings`, { ai: { memory: { workingMemory: { enabled: true } }, formatting: { removeEmojis: true } } })
    expected.ai.memory.workingMemory.enabled = true
    expected.ai.formatting.removeEmojis = true
    assert.deepEqual(second.body, expected)
  })

  it('adds, changes and removes tool policies', async () => {
    const bot = await createBot()
    await api('POST', `/bots/${bot.id}/settings`, { ai: { tools: { file_search: 'auto', web_search: 'user_approve' } } })
    let tools = (await api('POST', `/bots/${bot.id}/settings`, { ai: { tools: { web_search: 'operator_approve' } } })).body.ai.tools
    assert.deepEqual(tools, { file_search: 'auto', web_search: 'operator_approve' })
    tools = (await api('POST', `/bots/${bot.id}/settings`, { ai: { tools: { file_search: null } } })).body.ai.tools
    assert.deepEqual(tools, { web_search: 'operator_approve' })
  })

  it('validates ranges, types and unknown keys, and changes nothing on failure', async () => {
    const bot = await createBot()
    const before = (await api('GET', `/bots/${bot.id}/settings`)).body
    const cases: Array<[unknown, RegExp]> = [
      [{ ai: { model: { temperature: 2.01 } } }, /ai\.model\.temperature/],
      [{ ai: { model: { temperature: -0.1 } } }, /ai\.model\.temperature/],
      [{ ai: { model: { top_p: 1.5 } } }, /ai\.model\.top_p/],
      [{ ai: { model: { frequency_penalty: -2.5 } } }, /ai\.model\.frequency_penalty/],
      [{ ai: { model: { presence_penalty: 2.5 } } }, /ai\.model\.presence_penalty/],
      [{ ai: { model: { max_tokens: 0 } } }, /ai\.model\.max_tokens/],
      [{ ai: { model: { max_tokens: 1.5 } } }, /ai\.model\.max_tokens/],
      [{ ai: { model: { id: 'gpt-4o' } } }, /ai\.model\.id/],
      [{ ai: { memory: { lastMessages: 101 } } }, /ai\.memory\.lastMessages/],
      [{ ai: { memory: { lastMessages: -1 } } }, /ai\.memory\.lastMessages/],
      [{ ai: { memory: { semanticRecall: 'yes' } } }, /ai\.memory\.semanticRecall/],
      [{ ai: { tools: { file_search: 'always' } } }, /ai\.tools\.file_search/],
      [{ ai: { tools: { 'bad name!': 'auto' } } }, /ai\.tools/],
      [{ ai: { model: { temprature: 1 } } }, /ai\.model\.temprature: is not a known field/],
      [{ ai: { extra: true } }, /ai\.extra: is not a known field/],
      [{ other: {} }, /other: is not a known field/],
      [{ ai: { model: null } }, /ai\.model/],
      [{ ai: { instruction: 'x\u0000y' } }, /ai\.instruction/],
      [{ ai: { instruction: 'lone \ud800' } }, /ai\.instruction: must be well-formed Unicode/],
      [{ ai: { model: { id: 'openai/gpt\udc00' } } }, /ai\.model\.id/],
      [{ ai: 'string' }, /ai/],
    ]
    for (const [body, message] of cases) {
      const response = await api('POST', `/bots/${bot.id}/settings`, body)
      assert.equal(response.status, 422, JSON.stringify(body))
      assert.match(response.body.message, message, JSON.stringify(body))
    }
    assert.deepEqual((await api('GET', `/bots/${bot.id}/settings`)).body, before)
  })

  it('accepts the boundaries', async () => {
    const bot = await createBot()
    const body = { ai: { model: { temperature: 2, top_p: 0, frequency_penalty: -2, presence_penalty: 2, max_tokens: 1 }, memory: { lastMessages: 0 } } }
    const response = await api('POST', `/bots/${bot.id}/settings`, body)
    assert.equal(response.status, 200, response.text)
    assert.equal(response.body.ai.model.temperature, 2)
    assert.equal(response.body.ai.memory.lastMessages, 0)
    assert.equal((await api('POST', `/bots/${bot.id}/settings`, { ai: { memory: { lastMessages: 100 } } })).status, 200)
  })

  it('keeps both of two concurrent patches to different fields', async () => {
    const bot = await createBot()
    await Promise.all([
      api('POST', `/bots/${bot.id}/settings`, { ai: { model: { temperature: 1.1 } } }),
      api('POST', `/bots/${bot.id}/settings`, { ai: { memory: { lastMessages: 42 } } }),
    ])
    const settings = (await api('GET', `/bots/${bot.id}/settings`)).body
    assert.equal(settings.ai.model.temperature, 1.1)
    assert.equal(settings.ai.memory.lastMessages, 42)
  })
})

describe('bots: clone and delete', () => {
  it('clones settings and description under a "(copy)" name', async () => {
    const bot = await createBot('Original')
    await api('POST', `/bots/${bot.id}`, { description: 'The A variant' })
    await api('POST', `/bots/${bot.id}/settings`, { ai: { instruction: 'Be brief.', tools: { file_search: 'auto' } } })
    await api('POST', `/bots/${bot.id}/status`, { status: 'disabled' })
    const clone = await api('POST', `/bots/${bot.id}/clone`)
    assert.equal(clone.status, 200)
    assert.notEqual(clone.body.id, bot.id)
    assert.equal(clone.body.name, 'Original (copy)')
    assert.equal(clone.body.description, 'The A variant')
    assert.equal(clone.body.status, 'active')
    assert.deepEqual((await api('GET', `/bots/${clone.body.id}/settings`)).body, (await api('GET', `/bots/${bot.id}/settings`)).body)
    // The clone is independent of its source.
    await api('POST', `/bots/${clone.body.id}/settings`, { ai: { instruction: 'Be verbose.' } })
    assert.equal((await api('GET', `/bots/${bot.id}/settings`)).body.ai.instruction, 'Be brief.')
  })

  it('keeps a clone of a maximal name within the name limit', async () => {
    const bot = await createBot('n'.repeat(200))
    const clone = await api('POST', `/bots/${bot.id}/clone`)
    assert.equal(clone.body.name.length, 200)
    assert.ok(clone.body.name.endsWith(' (copy)'))
  })

  it('deletes a bot; it is gone everywhere', async () => {
    const bot = await createBot()
    const deleted = await api('POST', `/bots/${bot.id}/delete`)
    assert.equal(deleted.status, 200)
    assert.deepEqual(deleted.body, { id: bot.id, deleted: true })
    assert.equal((await api('GET', `/bots/${bot.id}`)).status, 404)
    assert.equal((await api('POST', `/bots/${bot.id}/delete`)).status, 404)
    assert.ok(!(await api('GET', '/bots')).body.some((b: any) => b.id === bot.id))
  })
})

describe('bots: tenancy', () => {
  it('every bot endpoint answers 404 for a bot of another project, and changes nothing', async () => {
    const bot = await createBot('Private')
    await api('POST', `/bots/${bot.id}/settings`, { ai: { instruction: 'secret instruction' } })
    const intruder = await ctx.seed()
    const other = ctx.asKey(intruder.key)
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/bots/${bot.id}`],
      ['POST', `/bots/${bot.id}`, { name: 'Hijacked' }],
      ['POST', `/bots/${bot.id}/status`, { status: 'disabled' }],
      ['GET', `/bots/${bot.id}/settings`],
      ['POST', `/bots/${bot.id}/settings`, { ai: { instruction: 'leak' } }],
      ['POST', `/bots/${bot.id}/clone`],
      ['POST', `/bots/${bot.id}/delete`],
    ]
    for (const [method, path, body] of attempts) {
      const response = await other(method, path, body)
      assert.equal(response.status, 404, `${method} ${path}`)
      assert.ok(!response.text.includes('secret instruction'))
    }
    assert.deepEqual((await other('GET', '/bots')).body, [])
    const still = await api('GET', `/bots/${bot.id}`)
    assert.equal(still.body.name, 'Private')
    assert.equal(still.body.status, 'active')
    assert.equal((await api('GET', `/bots/${bot.id}/settings`)).body.ai.instruction, 'secret instruction')
  })

  it('the internal API reaches the same bots through membership headers', async () => {
    const bot = await createBot('Shared route')
    const member = ctx.asMember(owner)
    assert.equal((await member('GET', `/bots/${bot.id}`)).body.name, 'Shared route')
    const created = await member('POST', '/bots', { name: 'From dashboard' })
    assert.equal(created.status, 200)
    assert.equal(created.body.project_id, owner.projectId)
    assert.equal((await api('GET', `/bots/${created.body.id}`)).status, 200)
    const stranger = await ctx.seed()
    assert.equal((await ctx.asMember(stranger)('GET', `/bots/${bot.id}`)).status, 404)
  })
})
