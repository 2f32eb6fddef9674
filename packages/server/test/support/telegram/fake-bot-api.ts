import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A small fake of the Telegram Bot API over real HTTP on 127.0.0.1, for what telegram-test-api
 * lacks: Telegram's error shapes (`{ok:false,error_code,description,parameters}` with the HTTP
 * status equal to `error_code`), 429 with `retry_after`, 400 on markup it cannot parse, 403 from a
 * blocked user, sendChatAction, getWebhookInfo and webhook deliveries with the
 * `X-Telegram-Bot-Api-Secret-Token` header, getUpdates with offsets and long polling.
 *
 * Methods are at `${apiRoot}/bot<token>/<method>`, GET or POST, parameters as JSON, form or query
 * (what grammY sends: JSON). Every call is recorded. Any method can be scripted: its next calls get
 * the scripted answers in order, then the default behaviour below resumes.
 *
 * Default behaviour: getMe (the bot's id is the token's number); sendMessage (message ids count up
 * per chat from 1; with parse_mode HTML the text is checked against Telegram's tags and entities and
 * a 400 "can't parse entities" answered when it fails; 400 when the visible text is empty or over
 * 4096 UTF-16 code units; 403 to a chat in `blocked`); sendChatAction (true; 403 to a blocked
 * chat); setWebhook/deleteWebhook/getWebhookInfo; getUpdates (409 while a webhook is set). Any
 * other method: 404 "Not Found", as Telegram answers.
 */

export type BotApiCall = {
  token: string
  method: string
  params: Record<string, unknown>
  headers: http.IncomingHttpHeaders
  /** performance.now() when the call arrived. */
  at: number
}

/** A reply: `{ ok: true, result }`, or an error as Telegram shapes it; `delayMs` holds the answer back. */
export type FakeReply =
  | { ok: true; result: unknown; delayMs?: number }
  | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number; migrate_to_chat_id?: number }; delayMs?: number }

/** A reply, or a function of the call that gives one. */
export type FakeAnswer = FakeReply | ((call: BotApiCall) => FakeAnswer)

/** Answers as Telegram gives them. */
export const answers = {
  ok: (result: unknown): FakeReply => ({ ok: true, result }),
  tooManyRequests: (retryAfter: number): FakeReply => ({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } }),
  cantParseEntities: (detail = 'Unsupported start tag "foo" at byte offset 0'): FakeReply => ({ ok: false, error_code: 400, description: `Bad Request: can't parse entities: ${detail}` }),
  badRequest: (detail: string): FakeReply => ({ ok: false, error_code: 400, description: `Bad Request: ${detail}` }),
  blocked: (): FakeReply => ({ ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }),
  deactivated: (): FakeReply => ({ ok: false, error_code: 403, description: 'Forbidden: user is deactivated' }),
  unauthorized: (): FakeReply => ({ ok: false, error_code: 401, description: 'Unauthorized' }),
  serverError: (): FakeReply => ({ ok: false, error_code: 502, description: 'Bad Gateway' }),
}

export type WebhookState = { url: string; secret_token?: string; allowed_updates?: string[]; max_connections?: number }

export type FakeBotApi = {
  /** `http://127.0.0.1:<port>`, for `new Api(token, { apiRoot })`. */
  apiRoot: string
  /** Every call, in order of arrival. */
  calls: BotApiCall[]
  /** Calls `listener` with every call as it arrives (before it is answered); returns the unsubscribe. */
  onCall(listener: (call: BotApiCall) => void): () => void
  callsTo(method: string): BotApiCall[]
  /** The next calls of `method` get these answers, in order; then the default behaviour again. */
  script(method: string, ...scripted: FakeAnswer[]): void
  /** Chats whose user blocked the bot: sendMessage and sendChatAction to them answer 403. */
  blocked: Set<string>
  /** The webhook of a token (set by setWebhook), if any. */
  webhook(token: string): WebhookState | undefined
  /**
   * An update from Telegram to the bot: queued for getUpdates (its `update_id` assigned, counting
   * up), or, when the bot has a webhook, POSTed to it with the secret-token header as Telegram does;
   * then the webhook's HTTP status is returned.
   */
  pushUpdate(token: string, update: Record<string, unknown>): Promise<{ update_id: number; status?: number }>
  /** A file the bot can fetch (`getFile`, then `/file/bot<token>/<file_path>`); answers its `file_id`. */
  addFile(bytes: Uint8Array, name: string): string
  /** Resolves when `count` calls of `method` have arrived in total. */
  waitForCalls(method: string, count: number, timeoutMs?: number): Promise<BotApiCall[]>
  close(): Promise<void>
}

const MESSAGE_LIMIT = 4096

export async function startFakeBotApi(): Promise<FakeBotApi> {
  const calls: BotApiCall[] = []
  const scripts = new Map<string, FakeAnswer[]>()
  const blocked = new Set<string>()
  const webhooks = new Map<string, WebhookState>()
  const queues = new Map<string, Array<Record<string, unknown> & { update_id: number }>>()
  const nextMessageId = new Map<string, number>()
  const pollers = new Set<() => void>()
  const waiters: Array<{ method: string; count: number; resolve: () => void }> = []
  const listeners = new Set<(call: BotApiCall) => void>()
  let nextUpdateId = 1
  const files = new Map<string, { path: string; bytes: Uint8Array }>()

  const queue = (token: string) => {
    let updates = queues.get(token)
    if (!updates) queues.set(token, (updates = []))
    return updates
  }

  const fail = (error_code: number, description: string): FakeReply => ({ ok: false, error_code, description })

  async function behave(call: BotApiCall, signal: AbortSignal): Promise<FakeReply> {
    const { token, method, params } = call
    const chat = params.chat_id === undefined ? undefined : String(params.chat_id)
    switch (method) {
      case 'getMe':
        return answers.ok({ id: Number(token.split(':')[0]) || 1, is_bot: true, first_name: 'Fake Bot', username: 'fake_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false })
      case 'sendMessage': {
        if (chat === undefined || chat === '') return answers.badRequest('chat not found')
        if (blocked.has(chat)) return answers.blocked()
        const text = typeof params.text === 'string' ? params.text : ''
        let visible = text
        if (params.parse_mode === 'HTML') {
          const parsed = parseHtml(text)
          if (typeof parsed !== 'string') return answers.cantParseEntities(parsed.error)
          visible = parsed
        }
        if (visible.trim() === '') return answers.badRequest('message text is empty')
        if (visible.length > MESSAGE_LIMIT) return answers.badRequest('message is too long')
        const messageId = nextMessageId.get(chat) ?? 1
        nextMessageId.set(chat, messageId + 1)
        return answers.ok({ message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: Number(chat) || chat, type: 'private' }, from: { id: Number(token.split(':')[0]) || 1, is_bot: true, first_name: 'Fake Bot' }, text: visible })
      }
      case 'sendChatAction':
        if (chat === undefined || chat === '') return answers.badRequest('chat not found')
        if (blocked.has(chat)) return answers.blocked()
        if (typeof params.action !== 'string' || params.action === '') return answers.badRequest('wrong parameter action in request')
        return answers.ok(true)
      case 'setWebhook': {
        const url = typeof params.url === 'string' ? params.url : ''
        if (url === '') {
          webhooks.delete(token)
          return answers.ok(true)
        }
        const secret = params.secret_token
        if (secret !== undefined && (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(secret))) return answers.badRequest('secret token contains unallowed characters')
        const state: WebhookState = { url }
        if (typeof secret === 'string') state.secret_token = secret
        if (Array.isArray(params.allowed_updates)) state.allowed_updates = params.allowed_updates as string[]
        if (typeof params.max_connections === 'number') state.max_connections = params.max_connections
        webhooks.set(token, state)
        if (params.drop_pending_updates === true) queue(token).length = 0
        return { ok: true, result: true }
      }
      case 'deleteWebhook':
        webhooks.delete(token)
        if (params.drop_pending_updates === true || params.drop_pending_updates === 'true') queue(token).length = 0
        return answers.ok(true)
      case 'getWebhookInfo': {
        const state = webhooks.get(token)
        return answers.ok({ url: state?.url ?? '', has_custom_certificate: false, pending_update_count: queue(token).length, ...(state?.max_connections ? { max_connections: state.max_connections } : {}), ...(state?.allowed_updates ? { allowed_updates: state.allowed_updates } : {}) })
      }
      case 'getUpdates': {
        if (webhooks.has(token)) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        const offset = Number(params.offset ?? 0)
        const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)))
        const timeout = Math.max(0, Number(params.timeout ?? 0))
        const updates = queue(token)
        // An offset confirms every update below it: they are gone for good. A negative one keeps the last -offset.
        if (offset > 0) updates.splice(0, updates.filter((update) => update.update_id < offset).length)
        const pick = () => (offset < 0 ? updates.slice(offset) : updates).slice(0, limit)
        if (pick().length === 0 && timeout > 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer)
              pollers.delete(done)
              signal.removeEventListener('abort', done)
              resolve()
            }
            const timer = setTimeout(done, timeout * 1000)
            pollers.add(done)
            signal.addEventListener('abort', done)
          })
        }
        return answers.ok(pick())
      }
      case 'getFile': {
        const file = files.get(String(params.file_id ?? ''))
        if (!file) return answers.badRequest('invalid file_id')
        return answers.ok({ file_id: params.file_id, file_unique_id: `u${params.file_id}`, file_size: file.bytes.byteLength, file_path: file.path })
      }
      default:
        return fail(404, 'Not Found')
    }
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1')
      const download = /^\/file\/bot[^/]+\/(.+)$/.exec(url.pathname)
      if (download) {
        const file = [...files.values()].find((entry) => entry.path === decodeURIComponent(download[1]!))
        if (!file) return void response.writeHead(404).end()
        return void response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.byteLength }).end(file.bytes)
      }
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname)
      const send = (answer: FakeReply) => {
        if (response.destroyed) return
        const { delayMs: _delay, ...body } = answer
        response.writeHead(answer.ok ? 200 : answer.error_code, { 'content-type': 'application/json' })
        response.end(JSON.stringify(body))
      }
      if (!match) return send(fail(404, 'Not Found'))
      const params: Record<string, unknown> = Object.fromEntries(url.searchParams)
      const body = Buffer.concat(chunks).toString('utf8')
      const type = request.headers['content-type'] ?? ''
      try {
        if (type.startsWith('application/json') && body !== '') Object.assign(params, JSON.parse(body))
        else if (type.startsWith('application/x-www-form-urlencoded')) Object.assign(params, Object.fromEntries(new URLSearchParams(body)))
        else if (type.startsWith('multipart/')) return send(answers.badRequest('the fake Bot API does not take files'))
      } catch {
        return send(answers.badRequest('invalid JSON'))
      }
      const call: BotApiCall = { token: decodeURIComponent(match[1]!), method: match[2]!, params, headers: request.headers, at: performance.now() }
      calls.push(call)
      for (const listener of listeners) listener(call)
      for (const waiter of waiters.filter((w) => w.method === call.method && calls.filter((c) => c.method === w.method).length >= w.count)) waiter.resolve()
      const aborted = new AbortController()
      response.on('close', () => aborted.abort())
      let answer: FakeAnswer = scripts.get(call.method)?.shift() ?? (await behave(call, aborted.signal))
      while (typeof answer === 'function') answer = answer(call)
      const settled: FakeReply = answer
      if (settled.delayMs) setTimeout(() => send(settled), settled.delayMs)
      else send(settled)
    })
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    apiRoot,
    calls,
    callsTo: (method) => calls.filter((call) => call.method === method),
    onCall(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    script(method, ...scripted) {
      scripts.set(method, [...(scripts.get(method) ?? []), ...scripted])
    },
    blocked,
    webhook: (token) => webhooks.get(token),
    addFile(bytes, name) {
      const fileId = `FILE${files.size + 1}`
      files.set(fileId, { path: `documents/${files.size + 1}-${name}`, bytes })
      return fileId
    },
    async pushUpdate(token, update) {
      const full = { ...update, update_id: nextUpdateId++ }
      const hook = webhooks.get(token)
      if (hook) {
        const { status } = await postUpdate(hook.url, full, hook.secret_token === undefined ? {} : { secretToken: hook.secret_token })
        return { update_id: full.update_id, status }
      }
      queue(token).push(full)
      for (const wake of [...pollers]) wake()
      return { update_id: full.update_id }
    },
    waitForCalls(method, count, timeoutMs = 10_000) {
      const have = () => calls.filter((call) => call.method === method)
      if (have().length >= count) return Promise.resolve(have())
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited for ${count} calls of ${method}, got ${have().length}`)), timeoutMs)
        waiters.push({ method, count, resolve: () => { clearTimeout(timer); resolve(have()) } })
      })
    },
    close: () => new Promise((resolve) => {
      for (const wake of [...pollers]) wake()
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/**
 * POSTs an update to a webhook as Telegram does (JSON), with `X-Telegram-Bot-Api-Secret-Token`
 * when `secretToken` is given, or any header given in `headers` (a wrong secret, say).
 */
export async function postUpdate(url: string, update: Record<string, unknown>, options: { secretToken?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
  if (options.secretToken !== undefined) headers['x-telegram-bot-api-secret-token'] = options.secretToken
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(update) })
  return { status: response.status, body: await response.text() }
}

/** A private-chat text message update from a user, the shape Telegram sends (without `update_id`). */
export function textMessageUpdate(options: { chatId: number; text: string; messageId?: number; firstName?: string; username?: string }): Record<string, unknown> {
  const from = { id: options.chatId, is_bot: false, first_name: options.firstName ?? 'Test', ...(options.username ? { username: options.username } : {}) }
  return {
    message: {
      message_id: options.messageId ?? 1,
      date: Math.floor(Date.now() / 1000),
      chat: { id: options.chatId, type: 'private', first_name: from.first_name, ...(options.username ? { username: options.username } : {}) },
      from,
      text: options.text,
    },
  }
}

const TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji'])
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' }

/**
 * Telegram's HTML parse mode, roughly: its tags only, balanced; `&lt; &gt; &amp; &quot;` and numeric
 * entities only; a bare `<` or `&` that starts no tag or entity is an error. The visible text, or
 * the error as Telegram words it (with a byte offset).
 */
export function parseHtml(html: string): string | { error: string } {
  const stack: string[] = []
  let text = ''
  let at = 0
  const offset = (index: number) => Buffer.byteLength(html.slice(0, index), 'utf8')
  while (at < html.length) {
    const char = html[at]!
    if (char === '<') {
      const tag = /^<(\/?)([a-zA-Z][\w-]*)((?:\s+[a-zA-Z-]+(?:="[^"]*"|='[^']*')?)*)\s*>/.exec(html.slice(at))
      if (!tag) return { error: `Unexpected end of name token at byte offset ${offset(at)}` }
      const name = tag[2]!.toLowerCase()
      if (!TAGS.has(name)) return { error: `Unsupported start tag "${name}" at byte offset ${offset(at)}` }
      if (tag[1]) {
        if (stack.pop() !== name) return { error: `Unmatched end tag at byte offset ${offset(at)}, expected "</${stack.at(-1) ?? ''}>", found "</${name}>"` }
      } else stack.push(name)
      at += tag[0].length
    } else if (char === '&') {
      const entity = /^&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);/.exec(html.slice(at))
      if (entity && entity[1]!.startsWith('#')) text += String.fromCodePoint(entity[1]![1] === 'x' || entity[1]![1] === 'X' ? parseInt(entity[1]!.slice(2), 16) : Number(entity[1]!.slice(1)))
      else if (entity && NAMED[entity[1]!] !== undefined) text += NAMED[entity[1]!]
      else if (entity) return { error: `Unsupported HTML entity "${entity[0]}" at byte offset ${offset(at)}` }
      else text += '&'
      at += entity ? entity[0].length : 1
    } else if (char === '>') {
      text += '>'
      at++
    } else {
      text += char
      at++
    }
  }
  if (stack.length > 0) return { error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` }
  return text
}
