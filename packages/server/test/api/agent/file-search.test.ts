import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, asc, eq } from 'drizzle-orm'
import { newId } from '../../../src/platform/db/ids.ts'
import { bots, messages, vectorStores } from '../../../src/schema.ts'
import type { KnowledgeSearch, SearchRequest, SearchResult } from '../../../src/modules/knowledge/vector-stores/search-types.ts'
import { createTestContext, openaiAt, type Call, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type ChatTurn, type LlmServer, type ReplyScript } from '../../support/llm-server.ts'

let llm: LlmServer
let ctx: TestContext
let owner: Seeded
let other: Seeded
let api: Call
let otherApi: Call

before(async () => {
  llm = await startLlmServer()
  // Workers index the files of vector stores.
  ctx = await createTestContext({ services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0 }, workers: {} })
  owner = await ctx.seed()
  other = await ctx.seed()
  api = ctx.asKey(owner.key)
  otherApi = ctx.asKey(other.key)
})
afterEach(() => llm.reset())
after(async () => {
  await ctx.close()
  await llm.close()
})

const MODEL = { id: 'openai/gpt-4o-mini' }
// No title job: every chat request the LLM server sees belongs to the turn.
const QUIET_MEMORY = { generateTitle: false }

async function newBot(call: Call = api): Promise<string> {
  const bot = await call('POST', '/bots', { name: 'Support' })
  assert.equal(bot.status, 200, bot.text)
  return bot.body.id
}

async function newChat(botId: string, call: Call = api): Promise<string> {
  const chat = await call('POST', '/chats', { bot_id: botId, name: 'Website' })
  assert.equal(chat.status, 200, chat.text)
  return chat.body.id
}

/** A vector store row written directly, for settings validation that needs no indexing. */
async function insertStore(projectId: string, expiresAt: Date | null = null): Promise<string> {
  const id = newId('vs')
  await ctx.database.db.insert(vectorStores).values({ id, projectId, name: 'Handbook', expiresAt })
  return id
}

const send = (chatId: string, threadId: string, content: string) =>
  api('POST', `/chats/${chatId}/threads/${threadId}/stream`, { messages: [{ role: 'user', content }] })

/** The `data:` payloads of an SSE body, `[DONE]` included as a string. */
function frames(text: string): any[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => {
      const data = frame.slice(6)
      return data === '[DONE]' ? data : JSON.parse(data)
    })
}

async function storedMessages(projectId: string, threadId: string) {
  return ctx.database.db.select().from(messages).where(and(eq(messages.projectId, projectId), eq(messages.threadId, threadId))).orderBy(asc(messages.seq))
}

/** First a file_search call with `query`, then an answer built from what the tool gave back. */
function searchThenAnswer(query: string, answer: (results: any[]) => string) {
  return (turn: ChatTurn): ReplyScript => {
    if (!turn.endsWithToolResult) return { toolCalls: [{ name: 'file_search', arguments: { query } }] }
    const output = JSON.parse(turn.toolResults.at(-1)!.content)
    return { text: answer(output.results) }
  }
}

/** Runs `body` with `search` as the app's knowledge search, then puts the real one back. */
async function withKnowledge(search: KnowledgeSearch, body: () => Promise<void>): Promise<void> {
  const real = ctx.services.knowledge
  ctx.services.knowledge = search
  try {
    await body()
  } finally {
    ctx.services.knowledge = real
  }
}

function recordingSearch(results: SearchResult[]): KnowledgeSearch & { requests: SearchRequest[] } {
  const requests: SearchRequest[] = []
  return {
    requests,
    async search(request) {
      requests.push(request)
      return { mode: 'full_text', results }
    },
  }
}

describe('ai.knowledge settings', () => {
  it('is absent by default and fills max_num_results when stores are set', async () => {
    const botId = await newBot()
    assert.equal((await api('GET', `/bots/${botId}/settings`)).body.ai.knowledge, undefined)
    const storeId = await insertStore(owner.projectId)
    const response = await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [storeId] } } })
    assert.equal(response.status, 200, response.text)
    assert.deepEqual(response.body.ai.knowledge, { vector_store_ids: [storeId], max_num_results: 5 })
    assert.deepEqual((await api('GET', `/bots/${botId}/settings`)).body.ai.knowledge, { vector_store_ids: [storeId], max_num_results: 5 })
  })

  it('replaces the array on patch and keeps max_num_results when only the ids change', async () => {
    const botId = await newBot()
    const [first, second, third] = [await insertStore(owner.projectId), await insertStore(owner.projectId), await insertStore(owner.projectId)]
    await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [first, second], max_num_results: 12 } } })
    const replaced = await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [third] } } })
    assert.deepEqual(replaced.body.ai.knowledge, { vector_store_ids: [third], max_num_results: 12 })
    const emptied = await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [] } } })
    assert.deepEqual(emptied.body.ai.knowledge, { vector_store_ids: [], max_num_results: 12 })
  })

  it("refuses another project's store, an expired one and unknown ids, naming each, and stores nothing", async () => {
    const botId = await newBot()
    const mine = await insertStore(owner.projectId)
    const foreign = await insertStore(other.projectId)
    const expired = await insertStore(owner.projectId, new Date(Date.now() - 60_000))
    const before = (await api('GET', `/bots/${botId}/settings`)).body

    const response = await api('POST', `/bots/${botId}/settings`, { ai: { tools: { file_search: 'auto' }, knowledge: { vector_store_ids: [mine, foreign, expired, 'vs_nope'] } } })
    assert.equal(response.status, 422, response.text)
    assert.deepEqual(response.body.details, [
      { path: 'ai.knowledge.vector_store_ids.1', message: `no vector store '${foreign}' in this project` },
      { path: 'ai.knowledge.vector_store_ids.2', message: `no vector store '${expired}' in this project` },
      { path: 'ai.knowledge.vector_store_ids.3', message: "no vector store 'vs_nope' in this project" },
    ])
    assert.match(response.body.message, new RegExp(`ai\\.knowledge\\.vector_store_ids\\.1: no vector store '${foreign}' in this project`))
    assert.deepEqual((await api('GET', `/bots/${botId}/settings`)).body, before)

    // The other project's own bot may use it.
    const theirBot = await newBot(otherApi)
    assert.equal((await otherApi('POST', `/bots/${theirBot}/settings`, { ai: { knowledge: { vector_store_ids: [foreign] } } })).status, 200)
  })

  it('validates the shape of the block', async () => {
    const botId = await newBot()
    const storeId = await insertStore(owner.projectId)
    const eleven = Array.from({ length: 11 }, (_, index) => `vs_${index}`)
    const cases: Array<[unknown, RegExp]> = [
      [{ ai: { knowledge: { vector_store_ids: eleven } } }, /ai\.knowledge\.vector_store_ids: must name at most 10 vector stores/],
      [{ ai: { knowledge: { vector_store_ids: [storeId, storeId] } } }, /ai\.knowledge\.vector_store_ids: must not name a vector store twice/],
      [{ ai: { knowledge: { vector_store_ids: ['has space'] } } }, /ai\.knowledge\.vector_store_ids\.0: must be a vector store id/],
      [{ ai: { knowledge: { vector_store_ids: storeId } } }, /ai\.knowledge\.vector_store_ids/],
      [{ ai: { knowledge: { max_num_results: 0 } } }, /ai\.knowledge\.max_num_results/],
      [{ ai: { knowledge: { max_num_results: 51 } } }, /ai\.knowledge\.max_num_results/],
      [{ ai: { knowledge: { max_num_results: 2.5 } } }, /ai\.knowledge\.max_num_results/],
      [{ ai: { knowledge: { ranker: 'auto' } } }, /ai\.knowledge\.ranker: is not a known field/],
      [{ ai: { knowledge: null } }, /ai\.knowledge/],
    ]
    for (const [body, message] of cases) {
      const response = await api('POST', `/bots/${botId}/settings`, body)
      assert.equal(response.status, 422, JSON.stringify(body))
      assert.match(response.body.message, message, JSON.stringify(body))
    }
    const boundaries = await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { max_num_results: 50 } } })
    assert.equal(boundaries.status, 200, boundaries.text)
    assert.deepEqual(boundaries.body.ai.knowledge, { vector_store_ids: [], max_num_results: 50 })
  })

  it('does not re-check stored ids when other settings change (a store deleted since)', async () => {
    const botId = await newBot()
    const storeId = await insertStore(owner.projectId)
    await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [storeId] } } })
    await ctx.database.db.delete(vectorStores).where(eq(vectorStores.id, storeId))
    const response = await api('POST', `/bots/${botId}/settings`, { ai: { model: { temperature: 0.2 }, knowledge: { max_num_results: 3 } } })
    assert.equal(response.status, 200, response.text)
    assert.deepEqual(response.body.ai.knowledge, { vector_store_ids: [storeId], max_num_results: 3 })
    // Naming it again is a new choice, and is checked.
    assert.equal((await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [storeId] } } })).status, 422)
  })

  it('keeps reading settings stored before the block existed', async () => {
    const botId = await newBot()
    const [row] = await ctx.database.db.select({ settings: bots.settings }).from(bots).where(eq(bots.id, botId))
    assert.equal('knowledge' in row!.settings.ai, false)
    const response = await api('POST', `/bots/${botId}/settings`, { ai: { instruction: 'Be brief.' } })
    assert.equal(response.status, 200, response.text)
    assert.equal(response.body.ai.knowledge, undefined)
  })
})

describe('file_search in a turn (a stand-in search)', () => {
  const result: SearchResult = {
    file_id: 'file_1',
    filename: 'returns.md',
    score: 0.912345,
    attributes: { lang: 'en' },
    content: [{ type: 'text', text: 'Returns are accepted' }, { type: 'text', text: 'within 30 days.' }],
    vector_store_id: 'vs_x',
  }

  it("searches the bot's stores within the turn's project and gives the model a compact result", async () => {
    const storeId = await insertStore(owner.projectId)
    const botId = await newBot()
    const settings = { ai: { model: MODEL, memory: QUIET_MEMORY, tools: { file_search: 'auto' }, knowledge: { vector_store_ids: [storeId], max_num_results: 7 } } }
    assert.equal((await api('POST', `/bots/${botId}/settings`, settings)).status, 200)
    const chatId = await newChat(botId)
    const search = recordingSearch([result])
    await withKnowledge(search, async () => {
      llm.replyWith(searchThenAnswer('return window', (results) => `30 days (${results[0].filename})`))
      const response = await send(chatId, 't-stand-in', 'How long can I return things?')
      assert.equal(response.status, 200)
      const toolResult = frames(response.text).find((frame) => frame.type === 'tool-result')
      assert.deepEqual(toolResult.result, { results: [{ file_id: 'file_1', filename: 'returns.md', score: 0.912, text: 'Returns are accepted\nwithin 30 days.' }] })
    })
    assert.deepEqual(search.requests, [{ projectId: owner.projectId, vectorStoreIds: [storeId], queries: ['return window'], maxResults: 7 }])
    const offered = llm.chatRequests()[0]!.tools!.find((tool) => tool.function.name === 'file_search')!
    assert.match(offered.function.description!, /company's documents/)
    assert.match(offered.function.description!, /cite the file name/)
    assert.deepEqual((offered.function.parameters as any).required, ['query'])
  })

  it('is not offered when the bot has no vector stores', async () => {
    const botId = await newBot()
    await api('POST', `/bots/${botId}/settings`, { ai: { model: MODEL, memory: QUIET_MEMORY, tools: { file_search: 'auto', handoff_to_operator: 'auto' } } })
    const chatId = await newChat(botId)
    await withKnowledge(recordingSearch([result]), async () => {
      llm.replyWith({ text: 'I do not know.' })
      assert.equal((await send(chatId, 't-no-stores', 'Anything?')).status, 200)
      await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [] } } })
      assert.equal((await send(chatId, 't-no-stores', 'Anything now?')).status, 200)
    })
    for (const request of llm.chatRequests()) {
      assert.deepEqual((request.tools ?? []).map((tool) => tool.function.name), ['handoff_to_operator'])
    }
  })
})

/**
 * The whole path through the vector store API (OpenAI's contract): upload,
 * store, indexing by the workers, then a bot that searches it.
 */
describe('file_search over an indexed vector store', () => {
  const FACT = 'The Zephyr-9 espresso machine must be descaled every 47 days with citric acid.'
  const FILENAME = 'zephyr-9-manual.md'

  async function uploadFile(key: string, filename: string, text: string): Promise<string> {
    const form = new FormData()
    form.append('file', new Blob([text], { type: 'text/markdown' }), filename)
    form.append('purpose', 'assistants')
    const response = await ctx.publicApp.request('/files', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })
    assert.equal(response.status, 200, await response.clone().text())
    return ((await response.json()) as { id: string }).id
  }

  /** A store holding one document, once the workers have indexed it. */
  async function indexedStore(call: Call, key: string, filename: string, text: string): Promise<string> {
    const fileId = await uploadFile(key, filename, text)
    const store = await call('POST', '/vector_stores', { name: 'Manuals', file_ids: [fileId] })
    assert.equal(store.status, 200, store.text)
    const deadline = Date.now() + 30_000
    let file = (await call('GET', `/vector_stores/${store.body.id}/files/${fileId}`)).body
    while (file?.status === 'pending' && Date.now() < deadline) {
      await sleep(100)
      file = (await call('GET', `/vector_stores/${store.body.id}/files/${fileId}`)).body
    }
    assert.equal(file?.status, 'processed', JSON.stringify(file))
    return store.body.id
  }

  it('searches, gives the model the passage, and the reply cites the file', async () => {
    const text = `# Zephyr-9 manual\n\n## Cleaning\n\nRinse the portafilter after each use.\n\n## Maintenance\n\n${FACT}\n`
    const storeId = await indexedStore(api, owner.key, FILENAME, text)
    const botId = await newBot()
    const settings = await api('POST', `/bots/${botId}/settings`, {
      ai: { model: MODEL, memory: QUIET_MEMORY, tools: { file_search: 'auto' }, knowledge: { vector_store_ids: [storeId] } },
    })
    assert.equal(settings.status, 200, settings.text)
    const chatId = await newChat(botId)

    llm.replyWith(
      searchThenAnswer('Zephyr-9 descaling interval', (results) => {
        const hit = results.find((entry) => entry.text.includes('47 days'))
        return hit ? `Descale it every 47 days (source: ${hit.filename}).` : 'I could not find that.'
      }),
    )
    const response = await send(chatId, 't-zephyr', 'How often should I descale my Zephyr-9?')
    assert.equal(response.status, 200)
    const parts = frames(response.text)
    const call = parts.find((part) => part.type === 'tool-call')
    assert.equal(call.toolName, 'file_search')
    assert.deepEqual(call.args, { query: 'Zephyr-9 descaling interval' })
    const result = parts.find((part) => part.type === 'tool-result')
    assert.equal(result.toolCallId, call.toolCallId)
    const hit = result.result.results.find((entry: any) => entry.filename === FILENAME)
    assert.ok(hit, JSON.stringify(result.result))
    assert.match(hit.text, /every 47 days/)
    assert.match(hit.file_id, /^file_/)
    assert.ok(hit.score > 0 && hit.score <= 1)
    assert.deepEqual(Object.keys(hit).sort(), ['file_id', 'filename', 'score', 'text'])

    // The second model call carried the tool's output.
    const requests = llm.chatRequests()
    assert.equal(requests.length, 2)
    const toolMessage = requests[1]!.messages.find((message) => message.role === 'tool')!
    assert.equal(toolMessage.tool_call_id, call.toolCallId)
    assert.match(String(toolMessage.content), new RegExp(FILENAME.replace(/[.-]/g, '\\$&')))
    assert.match(String(toolMessage.content), /every 47 days/)

    const stored = await storedMessages(owner.projectId, 't-zephyr')
    assert.deepEqual(stored.map((message) => message.role), ['user', 'assistant', 'tool', 'assistant'])
    assert.equal(stored.at(-1)!.content, `Descale it every 47 days (source: ${FILENAME}).`)
  })

  it('finds nothing, without an error, in a store deleted after it was set', async () => {
    const storeId = await indexedStore(api, owner.key, 'kettle.md', '# Kettle\n\nThe Aurora kettle boils a litre in 94 seconds.\n')
    const botId = await newBot()
    await api('POST', `/bots/${botId}/settings`, { ai: { model: MODEL, memory: QUIET_MEMORY, tools: { file_search: 'auto' }, knowledge: { vector_store_ids: [storeId] } } })
    const deleted = await api('DELETE', `/vector_stores/${storeId}`)
    assert.equal(deleted.status, 200, deleted.text)
    const chatId = await newChat(botId)

    llm.replyWith(searchThenAnswer('Aurora kettle boiling time', (results) => (results.length === 0 ? 'I could not find that.' : 'found')))
    const response = await send(chatId, 't-deleted', 'How fast is the Aurora kettle?')
    const result = frames(response.text).find((part) => part.type === 'tool-result')
    assert.deepEqual(result.result, { results: [] })
    assert.equal((await storedMessages(owner.projectId, 't-deleted')).at(-1)!.content, 'I could not find that.')
  })

  it("refuses another project's vector store in settings (422), through the API", async () => {
    const theirs = await otherApi('POST', '/vector_stores', { name: 'Private' })
    assert.equal(theirs.status, 200, theirs.text)
    const botId = await newBot()
    const response = await api('POST', `/bots/${botId}/settings`, { ai: { knowledge: { vector_store_ids: [theirs.body.id] } } })
    assert.equal(response.status, 422)
    assert.match(response.body.message, new RegExp(`ai\\.knowledge\\.vector_store_ids\\.0: no vector store '${theirs.body.id}' in this project`))
  })
})
