import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, it } from 'node:test'
import { serve } from '@hono/node-server'
import type { Server } from 'node:http'
import { answerClientErrorsAsJson } from '../../../src/platform/http/client-errors.ts'
import { MAX_PAGE_SIZE } from '../../../src/platform/http/fields.ts'
import { createTestContext, openaiAt, type Seeded, type TestContext } from '../../support/harness.ts'
import { startLlmServer, type LlmServer } from '../../support/llm-server.ts'

/**
 * Sends well over a thousand random and malformed requests across every
 * endpoint through a real HTTP listener. Nothing may answer 5xx, the server
 * must stay up, and a rejected request must leave the database exactly as it was.
 * Reproduce a failure with FUZZ_SEED=<the printed seed>.
 */
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 1500)
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))

let ctx: TestContext
let owner: Seeded
let stranger: Seeded
let server: Server
let base: string

let llm: LlmServer

before(async () => {
  llm = await startLlmServer()
  llm.replyWith({ text: ['fuzzed ', 'reply'] })
  ctx = await createTestContext({
    // No real DNS in the fuzz: names resolve to a public documentation-free address, `localhost` to loopback.
    // `v6.fuzz.test` resolves to an IPv6 spelling of a loopback, private or metadata IPv4 address.
    services: { providers: openaiAt(`${llm.url}/v1`), modelMaxRetries: 0, webhooksResolve: async (host) => (host === 'localhost' ? ['127.0.0.1'] : host === 'v6.fuzz.test' ? [smuggledIpv6()] : ['93.184.216.34']) },
  })
  owner = await ctx.seed()
  stranger = await ctx.seed()
  server = serve({ fetch: ctx.publicApp.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  answerClientErrorsAsJson(server)
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(async () => {
  await new Promise((resolve) => server.close(resolve))
  await ctx.close()
  await llm.close()
})

function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  return { next, int, pick }
}

const rand = prng(SEED)

/**
 * An IPv6 literal that carries a loopback, private or metadata IPv4 address, in
 * one of the forms that embed one, spelled at random (case, padding, dotted or hex tail).
 */
function smuggledIpv6(): string {
  const [a, b, c, d] = rand.pick([[127, 0, 0, 1], [10, 0, 0, 5], [192, 168, 1, 1], [169, 254, 169, 254], [172, 16, 0, 1], [100, 64, 0, 1], [0, 0, 0, 0]] as const)
  const hex = (n: number) => {
    const text = n.toString(16)
    return rand.next() < 0.3 ? text.padStart(4, '0') : text
  }
  const high = (a << 8) | b
  const low = (c << 8) | d
  const tail = rand.next() < 0.5 ? `${a}.${b}.${c}.${d}` : `${hex(high)}:${hex(low)}`
  const text = rand.pick([
    () => `::${tail}`, // IPv4-compatible
    () => `0:0:0:0:0:0:${tail}`,
    () => `::ffff:${tail}`, // mapped
    () => `0:0:0:0:0:ffff:${tail}`,
    () => `::ffff:0:${tail}`, // translated
    () => `64:ff9b::${tail}`, // NAT64
    () => `64:ff9b:1::${tail}`, // NAT64 local-use
    () => `2002:${hex(high)}:${hex(low)}::1`, // 6to4
    () => `2001:0:${hex(high)}:${hex(low)}::1`, // Teredo server
    () => `2001:0:4136:e378:8000:63bf:${hex(high ^ 0xffff)}:${hex(low ^ 0xffff)}`, // Teredo client
    () => `2606:4700:4700:1:${rand.pick(['0', '200'])}:5efe:${tail}`, // ISATAP
  ])()
  return rand.next() < 0.3 ? text.toUpperCase() : text
}

/** Webhook URLs the fuzz made that carry a non-public address: none may be accepted. */
const SMUGGLED = new Set<string>(['https://v6.fuzz.test/hook'])
function smuggledUrl(): string {
  const url = rand.next() < 0.2 ? 'https://v6.fuzz.test/hook' : `https://[${smuggledIpv6()}]/hook`
  SMUGGLED.add(url)
  return url
}

const NASTY_STRINGS = ['', ' ', 'a', 'x'.repeat(5000), '\u0000', 'nul\u0000inside', '😀🎉', '\ud800', 'ЗаказБот', '<script>', "'; drop table bots; --",
  '../../etc/passwd', '%00', '{}', 'null', 'sk-', 'true', '\n\r\t', 'ñ'.repeat(300), '1e309']
const NASTY_NUMBERS = [0, -1, 1, 0.5, 2, 2.0001, -2.5, 100, 101, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 1.5]

function randomJson(depth = 0): unknown {
  switch (rand.int(depth > 3 ? 5 : 8)) {
    case 0: return null
    case 1: return rand.next() < 0.5
    case 2: return rand.pick(NASTY_NUMBERS)
    case 3: return rand.pick(NASTY_STRINGS)
    case 4: return rand.pick(['active', 'disabled', 'error', 'auto', 'user_approve', 'openai/gpt-4o'])
    case 5: return Array.from({ length: rand.int(4) }, () => randomJson(depth + 1))
    default: {
      const keys = ['name', 'description', 'status', 'ai', 'model', 'memory', 'tools', 'id', 'temperature', 'max_tokens', 'top_p',
        'lastMessages', 'workingMemory', 'enabled', 'formatting', 'instruction', 'organization_id', 'file_search', '__proto__', 'constructor', 'x']
      const object: Record<string, unknown> = {}
      for (let i = rand.int(4); i > 0; i--) object[rand.pick(keys)] = randomJson(depth + 1)
      return object
    }
  }
}

/** Plausible bodies with one thing wrong (or, sometimes, nothing wrong). */
function nearlyValidBody(): unknown {
  return rand.pick([
    () => ({ name: rand.pick(NASTY_STRINGS) }),
    () => ({ name: 'ok', description: rand.pick([null, ...NASTY_STRINGS]) }),
    () => ({ status: rand.pick(['active', 'disabled', 'error', 'paused', '', null, 1]) }),
    () => ({ ai: { model: { [rand.pick(['temperature', 'top_p', 'max_tokens', 'frequency_penalty', 'presence_penalty'])]: rand.pick(NASTY_NUMBERS) } } }),
    () => ({ ai: { memory: { lastMessages: rand.pick(NASTY_NUMBERS), workingMemory: { enabled: randomJson() } } } }),
    () => ({ ai: { tools: { [rand.pick(['file_search', 'bad name', 'x'.repeat(65), '\u0000'])]: rand.pick(['auto', 'never', null]) } } }),
    () => ({ ai: { instruction: rand.pick(NASTY_STRINGS) } }),
    () => ({ name: 'p', organization_id: rand.pick([owner.organizationId, stranger.organizationId, '', 'org_x']) }),
    () => ({ messages: [{ role: rand.pick(['user', 'user', 'assistant', 'system']), content: rand.pick(['hello', ...NASTY_STRINGS]) }] }),
    () => ({ messages: [{ role: 'user', content: 'later' }], scheduledAt: rand.pick(['2001-01-01T00:00:00Z', 'soon', new Date(Date.now() + 3_600_000).toISOString(), 5]) }),
    () => ({ messages: Array.from({ length: rand.pick([0, 1, 21]) }, () => ({ role: 'user', content: 'x' })) }),
    () => ({ messages: [{ id: 'u1', role: rand.pick(['user', 'assistant']), parts: [{ type: 'text', text: rand.pick(['hi', '', '\u0000']) }] }] }),
    () => ({ mode: rand.pick(['auto', 'manual', 'operator', 'blocked', 'paused', null]) }),
    () => ({ messages: [{ role: 'user', content: 'hi' }], person: rand.pick([{ external_id: rand.pick(NASTY_STRINGS) }, { name: rand.pick(NASTY_STRINGS) }, { avatar_url: rand.pick(['https://a.b/c.png', 'ftp://x', 'javascript:1', ...NASTY_STRINGS]) }, null, 'me']) }),
    () => ({ url: rand.pick(['https://hooks.example.test/hook', 'http://127.0.0.1:9/x', 'https://no-such-host.invalid/', 'https://[::1]/', 'ftp://x', 'https://u:p@hooks.example.test/', smuggledUrl(), smuggledUrl(), ...NASTY_STRINGS]), secret: rand.pick(['a-long-enough-secret-value', 'short', ...NASTY_STRINGS]), ...(rand.next() < 0.3 ? { event_types: rand.pick([['thread.created'], [], ['nope'], null, 'all']) } : {}) }),
    () => ({ status: rand.pick(['active', 'disabled', 'paused']), secret: rand.pick([undefined, 'another-long-secret-value', '']) }),
    () => ({ text: rand.pick(['hello', ...NASTY_STRINGS]), ...(rand.next() < 0.3 ? { scheduledAt: rand.pick(['2001-01-01T00:00:00Z', 'soon', new Date(Date.now() + 3_600_000).toISOString(), 5]) } : {}) }),
    () => ({ bot_id: rand.pick([...['bot_x', ''], ...(lastTargets?.mine ?? []), ...(lastTargets?.theirs ?? [])]), name: rand.pick(['chat', '']) }),
    () => ({ approved: rand.pick([true, false, 'yes', null]), reason: rand.pick(['ok', '\u0000']) }),
    () => ({ ...(rand.next() < 0.5 ? { name: rand.pick(['chat', 'fuzz chat', 'CHAT', ...NASTY_STRINGS]) } : {}), settings: rand.pick([{ a: 1 }, { a: null }, { a: { b: rand.pick(NASTY_STRINGS) } }, { [rand.pick(NASTY_STRINGS)]: 1 }, { big: 'x'.repeat(20_000) }, [], null, 'x', randomJson()]) }),
    () => ({ name: rand.pick(['kb', ...NASTY_STRINGS]), file_ids: rand.pick([[], [rand.pick(lastTargets?.files ?? ['file_x'])], [rand.pick(lastTargets?.theirFiles ?? ['file_y'])], ['file_x'], 'x']), ...(rand.next() < 0.3 ? { expires_after: rand.pick([{ anchor: 'last_active_at', days: rand.pick(NASTY_NUMBERS) }, { anchor: 'x', days: 1 }, null]) } : {}), ...(rand.next() < 0.3 ? { metadata: rand.pick([{ a: 'b' }, { a: 1 }, { [rand.pick(NASTY_STRINGS)]: 'v' }, null]) } : {}) }),
    () => ({ file_id: rand.pick([...(lastTargets?.files ?? []), ...(lastTargets?.theirFiles ?? []), 'file_x', '', 5]), ...(rand.next() < 0.5 ? { attributes: rand.pick([{ a: 'b', n: 1, t: true }, { a: null }, { [rand.pick(NASTY_STRINGS)]: rand.pick(NASTY_STRINGS) }, null, []]) } : {}), ...(rand.next() < 0.3 ? { chunking_strategy: rand.pick([{ type: 'auto' }, { type: 'static', static: { max_chunk_size_tokens: rand.pick(NASTY_NUMBERS), chunk_overlap_tokens: rand.pick(NASTY_NUMBERS) } }, { type: 'x' }]) } : {}) }),
    () => ({ file_ids: rand.pick([[], [rand.pick(lastTargets?.files ?? ['file_x'])], ['file_x', 'file_x']]), ...(rand.next() < 0.3 ? { files: [{ file_id: 'file_x' }] } : {}) }),
    () => ({ query: rand.pick(['kettle', '', ['a', 'b'], [], ...NASTY_STRINGS, '"unterminated', '-', '!!(&|', 'SKU-1 & x | y <-> z']), max_num_results: rand.pick([1, 50, ...NASTY_NUMBERS]), ...(rand.next() < 0.5 ? { filters: rand.pick([{ key: 'a', type: 'eq', value: 'b' }, { key: 'n', type: 'gt', value: rand.pick(NASTY_NUMBERS) }, { type: 'and', filters: [] }, { type: 'or', filters: [{ key: rand.pick(NASTY_STRINGS), type: 'in', value: [1, 'x'] }] }, { key: 'a', type: 'nope', value: 1 }, randomJson()]) } : {}), ...(rand.next() < 0.3 ? { ranking_options: { score_threshold: rand.pick(NASTY_NUMBERS), ...(rand.next() < 0.5 ? { hybrid_search: { embedding_weight: rand.pick(NASTY_NUMBERS), text_weight: rand.pick(NASTY_NUMBERS) } } : {}) } } : {}) }),
    () => ({ attributes: rand.pick([{ a: 'b' }, null, { x: [1] }, 'x']) }),
  ])()
}

function rawBody(): string | undefined {
  return rand.pick([
    () => undefined,
    () => JSON.stringify(randomJson()),
    () => JSON.stringify(nearlyValidBody()),
    () => JSON.stringify(nearlyValidBody()).slice(0, rand.int(20)),
    () => rand.pick(NASTY_STRINGS),
    () => Buffer.from(Array.from({ length: rand.int(64) }, () => rand.int(256))).toString('latin1'),
    () => '{"name":"dup","name":"dup2"}',
    () => '[' .repeat(2000),
  ])()
}

type Targets = { mine: string[]; theirs: string[]; keys: string[]; chats: string[]; theirChats: string[]; threads: string[]; endpoints: string[]; theirEndpoints: string[]; stores: string[]; theirStores: string[]; files: string[]; theirFiles: string[] }

let lastTargets: Targets | undefined

const ALL = { limit: MAX_PAGE_SIZE, offset: 0 }

/** Ids the fuzz aims at, topped up as accepted requests delete them. The caller's own key is never a target. */
async function targets(): Promise<Targets> {
  const mine = (await ctx.services.bots.list(owner.projectId, ALL)).data.map((b) => b.id)
  if (mine.length < 2) mine.push((await ctx.services.bots.create(owner.projectId, { name: 'fuzz target' })).id)
  const theirs = (await ctx.services.bots.list(stranger.projectId, ALL)).data.map((b) => b.id)
  if (theirs.length === 0) theirs.push((await ctx.services.bots.create(stranger.projectId, { name: 'other project' })).id)
  const keys = (await ctx.services.apiKeys.list(owner.projectId, ALL)).data.map((k) => k.id).filter((id) => id !== owner.keyId)
  if (keys.length === 0) keys.push((await ctx.services.apiKeys.create(owner.projectId, 'fuzz target')).id)
  const chats = (await ctx.services.chats.list(owner.projectId, ALL)).data.map((c) => c.id)
  if (chats.length === 0) chats.push((await ctx.services.chats.create(owner.projectId, { bot_id: mine[0]!, name: 'fuzz chat' })).id)
  const theirChats = (await ctx.services.chats.list(stranger.projectId, ALL)).data.map((c) => c.id)
  if (theirChats.length === 0) theirChats.push((await ctx.services.chats.create(stranger.projectId, { bot_id: theirs[0]!, name: 'their chat' })).id)
  const threads = (await Promise.all(chats.map((chat) => ctx.services.threads.listInChat(owner.projectId, chat, ALL)))).flatMap((page) => page.data).map((t) => t.id)
  const endpoints = (await ctx.services.webhooks.list(owner.projectId, ALL)).data.map((e) => e.id)
  if (endpoints.length === 0) endpoints.push((await ctx.services.webhooks.create(owner.projectId, { url: 'https://93.184.216.34/hook', secret: 'fuzz-target-secret-value' })).id)
  const theirEndpoints = (await ctx.services.webhooks.list(stranger.projectId, ALL)).data.map((e) => e.id)
  if (theirEndpoints.length === 0) theirEndpoints.push((await ctx.services.webhooks.create(stranger.projectId, { url: 'https://93.184.216.34/theirs', secret: 'fuzz-target-secret-value' })).id)
  const files = (await ctx.services.files.list(owner.projectId, { limit: 100, order: 'desc' })).data.map((f) => f.id)
  if (files.length === 0) files.push((await ctx.services.files.create(owner.projectId, { filename: 'fuzz.txt', purpose: 'assistants', mimeType: 'text/plain', bytes: new TextEncoder().encode('fuzz target text') })).id)
  const theirFiles = (await ctx.services.files.list(stranger.projectId, { limit: 100, order: 'desc' })).data.map((f) => f.id)
  if (theirFiles.length === 0) theirFiles.push((await ctx.services.files.create(stranger.projectId, { filename: 'theirs.txt', purpose: 'assistants', mimeType: 'text/plain', bytes: new TextEncoder().encode('their text') })).id)
  const stores = (await ctx.services.vectorStores.stores.list(owner.projectId, { limit: 100, order: 'desc' })).data.map((s) => s.id)
  if (stores.length === 0) stores.push((await ctx.services.vectorStores.create(owner.projectId, { name: 'fuzz store', file_ids: [files[0]!] })).id)
  const theirStores = (await ctx.services.vectorStores.stores.list(stranger.projectId, { limit: 100, order: 'desc' })).data.map((s) => s.id)
  if (theirStores.length === 0) theirStores.push((await ctx.services.vectorStores.create(stranger.projectId, { name: 'their store', file_ids: [theirFiles[0]!] })).id)
  lastTargets = { mine, theirs, keys, chats, theirChats, threads, endpoints, theirEndpoints, stores, theirStores, files, theirFiles }
  return lastTargets
}

/** Every byte percent-encoded (encodeURIComponent throws on a lone surrogate). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
}

function pathId(ids: Targets, kind: 'bot' | 'project' | 'key' | 'chat' | 'thread' | 'endpoint' | 'store' | 'file'): string {
  const real = {
    bot: () => rand.pick(ids.mine),
    project: () => owner.projectId,
    key: () => rand.pick(ids.keys),
    chat: () => rand.pick(ids.chats),
    thread: () => (ids.threads.length > 0 && rand.next() < 0.7 ? rand.pick(ids.threads) : `fz-${rand.int(50)}`),
    endpoint: () => rand.pick(ids.endpoints),
    store: () => rand.pick(ids.stores),
    file: () => rand.pick(ids.files),
  }[kind]()
  const foreign = {
    bot: () => rand.pick(ids.theirs), project: () => stranger.projectId, key: () => stranger.keyId, chat: () => rand.pick(ids.theirChats), thread: () => 'their-thread',
    endpoint: () => rand.pick(ids.theirEndpoints), store: () => rand.pick(ids.theirStores), file: () => rand.pick(ids.theirFiles),
  }[kind]()
  return rand.pick([
    () => real,
    () => real,
    () => foreign,
    () => percentEncode(rand.pick(NASTY_STRINGS)) || 'empty',
    () => `${real}x`,
    () => 'x'.repeat(rand.pick([128, 129, 1000])),
    () => '%00',
    () => '%E0%A4%A',
  ])()
}

const ENDPOINTS: Array<{ method: string; path: (ids: Targets) => string; body: boolean }> = [
  { method: 'GET', path: () => '/bots', body: false },
  { method: 'POST', path: () => '/bots', body: true },
  { method: 'GET', path: (ids) => `/bots/${pathId(ids, 'bot')}`, body: false },
  { method: 'POST', path: (ids) => `/bots/${pathId(ids, 'bot')}`, body: true },
  { method: 'POST', path: (ids) => `/bots/${pathId(ids, 'bot')}/status`, body: true },
  { method: 'GET', path: (ids) => `/bots/${pathId(ids, 'bot')}/settings`, body: false },
  { method: 'POST', path: (ids) => `/bots/${pathId(ids, 'bot')}/settings`, body: true },
  { method: 'POST', path: (ids) => `/bots/${pathId(ids, 'bot')}/clone`, body: false },
  { method: 'POST', path: (ids) => `/bots/${pathId(ids, 'bot')}/delete`, body: false },
  { method: 'GET', path: () => '/projects', body: false },
  { method: 'POST', path: () => '/projects', body: true },
  { method: 'GET', path: (ids) => `/projects/${pathId(ids, 'project')}/api-keys`, body: false },
  { method: 'POST', path: (ids) => `/projects/${pathId(ids, 'project')}/api-keys`, body: true },
  { method: 'DELETE', path: (ids) => `/projects/${pathId(ids, 'project')}/api-keys/${pathId(ids, 'key')}`, body: false },
  { method: 'PATCH', path: (ids) => `/bots/${pathId(ids, 'bot')}`, body: true },
  { method: 'GET', path: () => '/chats', body: false },
  { method: 'POST', path: () => '/chats', body: true },
  { method: 'GET', path: (ids) => `/chats/${pathId(ids, 'chat')}`, body: false },
  { method: 'POST', path: (ids) => `/chats/${pathId(ids, 'chat')}`, body: true },
  { method: 'POST', path: (ids) => `/chats/${pathId(ids, 'chat')}/status`, body: true },
  { method: 'DELETE', path: (ids) => `/chats/${pathId(ids, 'chat')}`, body: false },
  { method: 'GET', path: (ids) => `/chats/${pathId(ids, 'chat')}/threads`, body: false },
  { method: 'GET', path: (ids) => `/chats/${pathId(ids, 'chat')}/threads/${pathId(ids, 'thread')}/messages`, body: false },
  { method: 'POST', path: (ids) => `/chats/${pathId(ids, 'chat')}/threads/${pathId(ids, 'thread')}/mode`, body: true },
  { method: 'POST', path: (ids) => `/chats/${pathId(ids, 'chat')}/threads/${pathId(ids, 'thread')}/stream${rand.next() < 0.2 ? '?format=ui-message-stream' : ''}`, body: true },
  { method: 'POST', path: (ids) => `/chats/${pathId(ids, 'chat')}/threads/${pathId(ids, 'thread')}/delete`, body: false },
  { method: 'GET', path: (ids) => `/threads/${pathId(ids, 'thread')}/memory`, body: false },
  { method: 'POST', path: (ids) => `/threads/${pathId(ids, 'thread')}/approvals/aitxt-${rand.int(5)}`, body: true },
  { method: 'GET', path: () => '/threads', body: false },
  { method: 'GET', path: () => '/webhook-endpoints', body: false },
  { method: 'POST', path: () => '/files', body: true },
  { method: 'GET', path: () => '/files', body: false },
  { method: 'GET', path: () => `/files/file_${rand.int(3)}`, body: false },
  { method: 'GET', path: () => `/files/${rand.pick(['file_x', '%00', 'x'.repeat(129)])}/content`, body: false },
  { method: 'DELETE', path: () => `/files/file_${rand.int(3)}`, body: false },
  { method: 'POST', path: () => '/webhook-endpoints', body: true },
  { method: 'GET', path: (ids) => `/webhook-endpoints/${pathId(ids, 'endpoint')}`, body: false },
  { method: 'PUT', path: (ids) => `/webhook-endpoints/${pathId(ids, 'endpoint')}`, body: true },
  { method: 'DELETE', path: (ids) => `/webhook-endpoints/${pathId(ids, 'endpoint')}`, body: false },
  { method: 'GET', path: (ids) => `/webhook-endpoints/${pathId(ids, 'endpoint')}/deliveries`, body: false },
  { method: 'POST', path: (ids) => `/webhook-endpoints/${pathId(ids, 'endpoint')}/test`, body: false },
  { method: 'POST', path: (ids) => `/webhook-endpoints/${pathId(ids, 'endpoint')}/deliveries/whd_${rand.int(3)}/retry`, body: false },
  { method: 'GET', path: () => '/vector_stores', body: false },
  { method: 'POST', path: () => '/vector_stores', body: true },
  { method: 'GET', path: (ids) => `/vector_stores/${pathId(ids, 'store')}`, body: false },
  { method: 'POST', path: (ids) => `/vector_stores/${pathId(ids, 'store')}`, body: true },
  { method: 'DELETE', path: (ids) => `/vector_stores/${pathId(ids, 'store')}`, body: false },
  { method: 'POST', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/search`, body: true },
  { method: 'POST', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/files`, body: true },
  { method: 'GET', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/files`, body: false },
  { method: 'GET', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/files/${pathId(ids, 'file')}`, body: false },
  { method: 'POST', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/files/${pathId(ids, 'file')}`, body: true },
  { method: 'DELETE', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/files/${pathId(ids, 'file')}`, body: false },
  { method: 'GET', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/files/${pathId(ids, 'file')}/content`, body: false },
  { method: 'POST', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/file_batches`, body: true },
  { method: 'GET', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/file_batches/vsfb_${rand.int(3)}`, body: false },
  { method: 'POST', path: (ids) => `/vector_stores/${pathId(ids, 'store')}/file_batches/vsfb_${rand.int(3)}/cancel`, body: false },
  { method: 'GET', path: (ids) => `/threads/${pathId(ids, 'thread')}`, body: false },
  { method: 'POST', path: (ids) => `/threads/${pathId(ids, 'thread')}/send`, body: true },
  { method: 'GET', path: (ids) => `/threads/${pathId(ids, 'thread')}/scheduled`, body: false },
  { method: 'POST', path: (ids) => `/threads/${pathId(ids, 'thread')}/scheduled/sch_${rand.int(5)}/cancel`, body: false },
]

function randomQuery(): string {
  if (rand.next() < 0.5) return ''
  const params = ['limit', 'offset', 'cursor', 'x', 'limit', 'search', 'chat_id', 'bot_id']
  const cursors = [Buffer.from(JSON.stringify({ v: 1, snapshot: '2026-02-31T00:00:00.000000Z', key: ['2026-01-01T00:00:00.000000Z', 'a'], filters: 'x' })).toString('base64url'), 'eyJ2IjoxfQ', '%ff%fe']
  const values = ['1', '0', '-1', '1000', '1001', 'abc', '1.5', '', '%00', '9'.repeat(30), 'NaN', '1e3', 'order', '%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7', '%22a%20b%22%20or%20-c', '!!(&|', percentEncode(rand.pick(NASTY_STRINGS)), ...cursors]
  return `?${Array.from({ length: 1 + rand.int(3) }, () => `${rand.pick(params)}=${rand.pick(values)}`).join('&')}`
}

/** A digest of every row that a request could change; `last_used_at` is bookkeeping of successful auth and left out. */
async function fingerprint(): Promise<string> {
  const [row] = await ctx.database.withSession((session) =>
    session.query<{ digest: string }>(`select md5(concat_ws('|',
      (select string_agg(t::text, ',' order by id) from organizations t),
      (select string_agg(t::text, ',' order by id) from users t),
      (select string_agg(t::text, ',' order by organization_id, user_id) from memberships t),
      (select string_agg(t::text, ',' order by id) from projects t),
      (select string_agg(concat_ws(':', id, project_id, name, key_hash, deleted_at), ',' order by id) from api_keys),
      (select string_agg(t::text, ',' order by id) from bots t),
      (select string_agg(t::text, ',' order by id) from chats t),
      (select string_agg(t::text, ',' order by project_id, id) from threads t),
      (select string_agg(t::text, ',' order by seq) from messages t),
      (select string_agg(t::text, ',' order by seq) from events t),
      (select string_agg(t::text, ',' order by id) from tool_approvals t),
      (select string_agg(t::text, ',' order by id) from persons t),
      (select string_agg(t::text, ',' order by id) from scheduled_messages t),
      (select string_agg(concat_ws(':', id, project_id, url, secret_ciphertext, status, event_types, description, disabled_reason), ',' order by id) from webhook_endpoints),
      (select string_agg(concat_ws(':', id, status, attempts, next_attempt_at), ',' order by id) from webhook_deliveries),
      (select string_agg(t::text, ',' order by id) from files t),
      (select count(*)::text from file_blobs),
      (select string_agg(concat_ws(':', id, project_id, name, description, metadata, expires_after, expires_at), ',' order by id) from vector_stores),
      (select string_agg(concat_ws(':', vector_store_id, file_id, attributes, chunking_strategy, batch_id), ',' order by vector_store_id, file_id) from vector_store_files),
      (select string_agg(t::text, ',' order by id) from vector_store_file_batches t)
    )) as digest`),
  )
  return row!.digest
}

it(`survives ${ITERATIONS} random and malformed requests (seed ${SEED})`, { timeout: 600_000 }, async () => {
  console.log(`fuzz seed: ${SEED} (FUZZ_SEED=${SEED} reproduces this run)`)
  let ids = await targets()
  let state = await fingerprint()
  const statuses = new Map<number, number>()
  for (let i = 0; i < ITERATIONS; i++) {
    const endpoint = rand.pick(ENDPOINTS)
    const path = endpoint.path(ids) + randomQuery()
    const body = endpoint.method !== 'GET' && (endpoint.body || rand.next() < 0.1) ? rawBody() : undefined
    const headers: Record<string, string> = {
      authorization: rand.pick([`Bearer ${owner.key}`, `Bearer ${owner.key}`, `Bearer ${owner.key}`, `Bearer ${stranger.key}`, 'Bearer sk-zz', '']),
      ...(rand.next() < 0.3 ? { 'worken-project': stranger.projectId, 'worken-organization': stranger.organizationId } : {}),
    }
    if (body !== undefined) headers['content-type'] = rand.pick(['application/json', 'application/json', 'text/plain', 'application/json; charset=utf-8', 'application/vnd.api+json'])
    const description = `#${i} ${endpoint.method} ${path.slice(0, 160)} ${JSON.stringify(headers['content-type'])} ${JSON.stringify(body)?.slice(0, 200)}`
    const response = await fetch(base + path, { method: endpoint.method, headers, body })
    const text = await response.text()
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    assert.ok(response.status < 500, `${description} → ${response.status} ${text.slice(0, 300)}`)
    const isStream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    if (isStream) assert.ok(text.endsWith('data: [DONE]\n\n'), `${description}: the stream ends with [DONE]`)
    let parsed: Record<string, unknown> = {}
    if (!isStream) {
      try {
        parsed = JSON.parse(text)
      } catch {
        assert.fail(`${description} → ${response.status} ${response.headers.get('content-type')}: not JSON: ${JSON.stringify(text.slice(0, 200))}`)
      }
    }
    if (response.status < 400 && path.startsWith('/webhook-endpoints') && body !== undefined) {
      const url = (() => {
        try {
          return (JSON.parse(body) as { url?: unknown }).url
        } catch {
          return undefined
        }
      })()
      assert.ok(typeof url !== 'string' || !SMUGGLED.has(url), `${description} → ${response.status}: a webhook URL with a non-public address was accepted`)
    }
    if (response.status >= 400) {
      assert.equal(typeof parsed.error, 'string', `${description}: error shape`)
      const after = await fingerprint()
      assert.equal(after, state, `${description} → ${response.status} changed the database`)
    } else {
      // Accepted: refresh the ids it may have created or deleted (topping up the pool), then the baseline.
      if (endpoint.method !== 'GET') ids = await targets()
      state = await fingerprint()
    }
  }
  console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)
  assert.ok((statuses.get(422) ?? 0) > 50 && (statuses.get(404) ?? 0) > 50 && (statuses.get(200) ?? 0) > 50, 'the fuzz reached past validation')
  // Still up and answering.
  assert.equal((await fetch(`${base}/healthz`)).status, 200)
  assert.equal((await fetch(`${base}/bots`, { headers: { authorization: `Bearer ${owner.key}` } })).status, 200)
})

it('refuses webhook URLs whose address is an IPv6 spelling of a non-public IPv4 address, given or resolved', async () => {
  const ids = await targets()
  const state = await fingerprint()
  const accepted: string[] = []
  for (let i = 0; i < 300; i++) {
    const url = smuggledUrl()
    const [method, path] = rand.next() < 0.5 ? ['POST', '/webhook-endpoints'] : ['PUT', `/webhook-endpoints/${ids.endpoints[0]!}`]
    const response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, secret: 'a-long-enough-secret-value' }),
    })
    const body = (await response.json()) as { message?: string }
    if (response.status !== 422) accepted.push(`${method} ${url} → ${response.status}`)
    else assert.match(body.message ?? '', /^url: (points to|v6\.fuzz\.test resolves to) a non-public address/, url)
  }
  assert.deepEqual(accepted, [])
  assert.equal(await fingerprint(), state, 'nothing was written')
})
