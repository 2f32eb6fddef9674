import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for an LLM vendor: a real HTTP server on 127.0.0.1 that speaks
 * OpenAI's Chat Completions and Embeddings wire protocol, so the app under test
 * goes through the real AI SDK provider, fetch and SSE parsing.
 *
 * Each chat request is answered by the next queued reply, else by the default
 * reply. A reply is a script (what to stream and how to fail) or a function of
 * the request that returns one.
 *
 * @example
 * const llm = await startLlmServer()
 * const openai = createOpenAI({ baseURL: llm.url + '/v1', apiKey: 'test' })
 * llm.replyWith((turn) => turn.endsWithToolResult
 *   ? { text: ['It is ', 'sunny.'] }
 *   : { toolCalls: [{ name: 'weather', arguments: { city: 'Paris' } }] })
 * const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Weather?', tools, stopWhen: isStepCount(3) })
 * assert.equal(await result.text, 'It is sunny.')
 * assert.equal(llm.lastChatRequest().messages.at(-1)?.role, 'tool')
 * await llm.close()
 */
export type LlmServer = {
  /** e.g. `http://127.0.0.1:54321`; the OpenAI base URL is `url + '/v1'`. */
  url: string
  /** Every request received, in arrival order, including 404s. */
  requests: RecordedRequest[]
  /** The reply for every chat request the queue does not answer. */
  replyWith(reply: Reply): void
  /** One-shot replies, used in order, one per chat request, before the default. */
  queueReplies(...replies: Reply[]): void
  /** Replaces the built-in hashing embedder; `undefined` restores it. A throw becomes a 500. */
  embedWith(embed: ((text: string, dimensions: number) => number[]) | undefined): void
  /**
   * Holds embedding requests unanswered, the connection open and silent (an
   * embedding call stuck mid-flight), after answering `answerFirst` more
   * (default 0). `false` answers the held ones and stops holding.
   *
   * @example
   * llm.stallEmbeddings(true, { answerFirst: 1 }) // the first batch is embedded, the second hangs
   * await waitUntil(() => llm.stalledEmbeddings() === 1)
   * llm.stallEmbeddings(false)
   */
  stallEmbeddings(stall: boolean, options?: { answerFirst?: number }): void
  /** Embedding requests held by stallEmbeddings right now (a client that hung up is no longer counted). */
  stalledEmbeddings(): number
  /** Bodies of the chat requests received so far. */
  chatRequests(): ChatCompletionBody[]
  /** The body of the latest chat request; throws when there is none. */
  lastChatRequest(): ChatCompletionBody
  /** Forgets requests, queue, default reply and embedder, and answers stalled embeddings, for the next test. */
  reset(): void
  /** Cuts open connections (stalled streams included) and stops listening. */
  close(): Promise<void>
}

export type RecordedRequest = { method: string; path: string; headers: IncomingHttpHeaders; body: any }

export type Reply = ReplyScript | ((turn: ChatTurn) => ReplyScript | Promise<ReplyScript>)

export type ReplyScript = {
  /** Content deltas, one chunk each, in order. A single string is one delta. */
  text?: string | string[]
  toolCalls?: ToolCallScript[]
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter'
  /** Defaults to a length-based estimate (about 4 characters a token). */
  usage?: { promptTokens?: number; completionTokens?: number }
  /** Milliseconds before the response starts: before the stream's headers and first chunk, the error, or the JSON. */
  delayMs?: number
  /** Milliseconds between streamed chunks. */
  chunkDelayMs?: number
  /** Answer with this HTTP error and an OpenAI-style error body instead of a completion. */
  error?: HttpErrorScript
  /**
   * Break the stream after this many `data:` events (see `InterruptMode`). Every
   * event counts, including the opening role-only one: text `['a', 'b']` is sent
   * as role, 'a', 'b', finish, usage, so `afterChunks: 2` leaves the client with 'a'.
   */
  interrupt?: { afterChunks: number; mode: InterruptMode }
}

/**
 * How a stream breaks: `destroy` resets the socket (a network error in the
 * client); `end` closes the response cleanly without `[DONE]`; `stall` keeps
 * the connection open and silent (for client timeouts and aborts);
 * `error-event` sends an OpenAI in-stream `{ error }` event, then ends.
 * A non-streaming request is destroyed for all modes except `stall`.
 */
export type InterruptMode = 'destroy' | 'end' | 'stall' | 'error-event'

export type ToolCallScript = {
  name: string
  /** An object is sent as JSON; a string is sent verbatim (to script malformed JSON). */
  arguments: unknown
  /** Defaults to `call_<n>`, numbered per server. */
  id?: string
  /** How the arguments string is split across chunks; defaults to 16-character pieces. */
  argumentChunks?: string[]
}

export type HttpErrorScript = {
  status: number
  message?: string
  /** OpenAI's `error.type`, e.g. `server_error`, `rate_limit_exceeded`; derived from the status by default. */
  type?: string
  code?: string | null
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. */
  headers?: Record<string, string>
}

export type ChatMessage = {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool'
  content: string | Array<{ type: string; text?: string }> | null
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>
  tool_call_id?: string
}

export type ChatCompletionBody = {
  model: string
  messages: ChatMessage[]
  stream?: boolean
  stream_options?: { include_usage?: boolean }
  temperature?: number
  max_tokens?: number
  max_completion_tokens?: number
  top_p?: number
  frequency_penalty?: number
  presence_penalty?: number
  stop?: string[]
  seed?: number
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters: unknown } }>
  tool_choice?: unknown
  [option: string]: unknown
}

/** A chat request, read the way reply functions usually need it. */
export type ChatTurn = {
  body: ChatCompletionBody
  messages: ChatMessage[]
  lastMessage: ChatMessage | undefined
  /** Text of the latest user message, '' when there is none. */
  lastUserText: string
  hasToolResult: boolean
  /** The model is being asked to continue after running tools: the next step of a multi-step turn. */
  endsWithToolResult: boolean
  toolResults: Array<{ toolCallId: string; content: string }>
  /** Names of the tools offered to the model. */
  toolNames: string[]
}

export function readChatTurn(body: ChatCompletionBody): ChatTurn {
  const messages = body.messages ?? []
  const lastUser = messages.findLast((message) => message.role === 'user')
  const toolResults = messages
    .filter((message) => message.role === 'tool')
    .map((message) => ({ toolCallId: message.tool_call_id ?? '', content: messageText(message) }))
  return {
    body,
    messages,
    lastMessage: messages.at(-1),
    lastUserText: lastUser ? messageText(lastUser) : '',
    hasToolResult: toolResults.length > 0,
    endsWithToolResult: messages.at(-1)?.role === 'tool',
    toolResults,
    toolNames: (body.tools ?? []).map((tool) => tool.function.name),
  }
}

/** The text of a message whether its content is a string or an array of parts. */
export function messageText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content
  return (message.content ?? []).map((part) => part.text ?? '').join('')
}

const DEFAULT_REPLY: ReplyScript = { text: ['Hello', ' from', ' the', ' test', ' model.'] }

export async function startLlmServer(options: { embeddingDimensions?: number } = {}): Promise<LlmServer> {
  const embeddingDimensions = options.embeddingDimensions ?? 8
  const requests: RecordedRequest[] = []
  let defaultReply: Reply = DEFAULT_REPLY
  let queued: Reply[] = []
  let embed = hashingEmbedding
  // Wire ids are counters, not random, so two runs of a test send the same bytes.
  let idCounter = 0
  const nextId = (prefix: string) => `${prefix}${++idCounter}`
  // Aborted on close so pending delays do not keep the process alive.
  const closing = new AbortController()
  // While stalling, embedding requests wait for `released` to abort; `answerFirst` are let through first.
  let embeddingStall: { answerFirst: number; released: AbortController } | undefined
  let stalled = 0
  const stopStalling = () => {
    embeddingStall?.released.abort()
    embeddingStall = undefined
  }

  const server = createServer((req, res) => {
    // A throwing reply function answers 500 with its message instead of crashing the test process.
    route(req, res).catch((error) => sendError(res, { status: 500, message: `llm-server: ${error instanceof Error ? error.message : String(error)}` }))
  })

  async function route(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const rawBody = await readBody(req)
    let body: any
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody)
    } catch {
      requests.push({ method: req.method ?? '', path, headers: req.headers, body: rawBody })
      return sendError(res, { status: 400, message: 'We could not parse the JSON body of your request.' })
    }
    requests.push({ method: req.method ?? '', path, headers: req.headers, body })

    if (req.method === 'POST' && path === '/v1/chat/completions') {
      if (!Array.isArray(body?.messages)) return sendError(res, { status: 400, message: "'messages' is a required property" })
      const reply = queued.shift() ?? defaultReply
      const script = typeof reply === 'function' ? await reply(readChatTurn(body)) : reply
      return answerChat(res, body, script, { nextId, signal: closing.signal })
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      if (embeddingStall && embeddingStall.answerFirst > 0) embeddingStall.answerFirst -= 1
      else if (embeddingStall) {
        stalled += 1
        await untilReleased(res, [embeddingStall.released.signal, closing.signal])
        stalled -= 1
        if (closing.signal.aborted) return
      }
      return answerEmbeddings(res, body, (text, dimensions) => embed(text, dimensions), embeddingDimensions)
    }
    sendError(res, { status: 404, message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error' })
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const chatRequests = () => requests.filter((request) => request.path === '/v1/chat/completions').map((request) => request.body as ChatCompletionBody)

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    replyWith(reply) { defaultReply = reply },
    queueReplies(...replies) { queued.push(...replies) },
    embedWith(embedder) { embed = embedder ?? hashingEmbedding },
    stallEmbeddings(stall, stallOptions = {}) {
      stopStalling()
      if (stall) embeddingStall = { answerFirst: stallOptions.answerFirst ?? 0, released: new AbortController() }
    },
    stalledEmbeddings: () => stalled,
    chatRequests,
    lastChatRequest() {
      const last = chatRequests().at(-1)
      if (!last) throw new Error('the LLM server has received no chat request')
      return last
    },
    reset() {
      requests.length = 0
      queued = []
      defaultReply = DEFAULT_REPLY
      embed = hashingEmbedding
      stopStalling()
    },
    async close() {
      closing.abort()
      server.closeAllConnections()
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
    },
  }
}

type ChatContext = { nextId: (prefix: string) => string; signal: AbortSignal }

async function answerChat(res: ServerResponse, body: ChatCompletionBody, script: ReplyScript, context: ChatContext) {
  await wait(script.delayMs, context.signal)
  // The client may have given up, or the server closed, during the delay.
  if (res.destroyed) return
  if (script.error) return sendError(res, script.error)

  const completionId = context.nextId('chatcmpl-')
  const created = Math.floor(Date.now() / 1000)
  const text = typeof script.text === 'string' ? [script.text] : (script.text ?? [])
  const toolCalls = (script.toolCalls ?? []).map((call) => ({
    ...call,
    id: call.id ?? context.nextId('call_'),
    json: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }))
  const finishReason = script.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop')
  const promptTokens = script.usage?.promptTokens ?? estimateTokens(body.messages?.map(messageText).join('\n') ?? '')
  const completionTokens = script.usage?.completionTokens ?? estimateTokens(text.join('') + toolCalls.map((call) => call.name + call.json).join(''))
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }
  const envelope = { id: completionId, created, model: body.model, system_fingerprint: 'fp_llm_server' }

  if (!body.stream) {
    if (script.interrupt) return script.interrupt.mode === 'stall' ? undefined : void res.destroy()
    const wireToolCalls = toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.json } }))
    const message = { role: 'assistant', content: text.length > 0 ? text.join('') : null, refusal: null, ...(wireToolCalls.length > 0 ? { tool_calls: wireToolCalls } : {}) }
    return sendJson(res, 200, { ...envelope, object: 'chat.completion', choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }], usage })
  }

  // OpenAI opens with the role (and an empty content for text replies), then
  // one delta per chunk; a tool call first names itself, then streams its arguments.
  const deltas: object[] = []
  if (text.length > 0) deltas.push({ role: 'assistant', content: '', refusal: null }, ...text.map((content) => ({ content })))
  toolCalls.forEach((call, index) => {
    const header = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }
    deltas.push(deltas.length === 0 ? { role: 'assistant', content: null, tool_calls: [header] } : { tool_calls: [header] })
    for (const fragment of call.argumentChunks ?? splitEvery(call.json, 16)) deltas.push({ tool_calls: [{ index, function: { arguments: fragment } }] })
  })
  if (deltas.length === 0) deltas.push({ role: 'assistant', content: '' })

  const includeUsage = body.stream_options?.include_usage === true
  const chunk = (choice: object) => ({ ...envelope, object: 'chat.completion.chunk', choices: [choice], ...(includeUsage ? { usage: null } : {}) })
  const events: object[] = [
    ...deltas.map((delta) => chunk({ index: 0, delta, logprobs: null, finish_reason: null })),
    chunk({ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }),
  ]
  if (includeUsage) events.push({ ...envelope, object: 'chat.completion.chunk', choices: [], usage })

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
  res.flushHeaders()
  for (const [sent, event] of events.entries()) {
    if (script.interrupt && sent === script.interrupt.afterChunks) return interruptStream(res, script.interrupt.mode)
    if (sent > 0) await wait(script.chunkDelayMs, context.signal)
    if (res.destroyed) return
    res.write(`data: ${JSON.stringify(event)}\n\n`)
  }
  if (script.interrupt && script.interrupt.afterChunks >= events.length) return interruptStream(res, script.interrupt.mode)
  res.end('data: [DONE]\n\n')
}

function interruptStream(res: ServerResponse, mode: InterruptMode) {
  if (mode === 'destroy') res.destroy()
  else if (mode === 'end') res.end()
  else if (mode === 'error-event') res.end(`data: ${JSON.stringify(openAiError({ status: 500, message: 'The server had an error while processing your request.' }))}\n\n`)
}

function answerEmbeddings(res: ServerResponse, body: any, embed: (text: string, dimensions: number) => number[], defaultDimensions: number) {
  const inputs: unknown[] = Array.isArray(body?.input) ? body.input : [body?.input]
  if (inputs.some((input) => typeof input !== 'string')) {
    return sendError(res, { status: 400, message: "'input' must be a string or an array of strings", type: 'invalid_request_error' })
  }
  const texts = inputs as string[]
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : defaultDimensions
  let vectors: number[][]
  try {
    vectors = texts.map((text) => embed(text, dimensions))
  } catch (error) {
    return sendError(res, { status: 500, message: error instanceof Error ? error.message : String(error) })
  }
  const tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0)
  sendJson(res, 200, {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  })
}

/**
 * Bag-of-words hashing: each word adds ±1 to a bucket, then the vector is
 * normalised, so texts sharing words have a high cosine similarity and the
 * same text always gets the same vector.
 */
export function hashingEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0)
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? ['']
  for (const word of words) {
    const hash = fnv1a(word)
    vector[hash % dimensions]! += hash & 0x80000000 ? -1 : 1
  }
  const length = Math.hypot(...vector) || 1
  return vector.map((value) => value / length)
}

function fnv1a(word: string): number {
  let hash = 0x811c9dc5
  for (const char of word) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193)
  return hash >>> 0
}

function openAiError(error: HttpErrorScript) {
  return { error: { message: error.message ?? `Scripted error ${error.status}`, type: error.type ?? errorType(error.status), param: null, code: error.code ?? null } }
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_exceeded'
  if (status === 401) return 'authentication_error'
  if (status < 500) return 'invalid_request_error'
  return 'server_error'
}

function sendError(res: ServerResponse, error: HttpErrorScript) {
  sendJson(res, error.status, openAiError(error), error.headers)
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed || res.headersSent) return
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of req) body += chunk
  return body
}

function wait(ms: number | undefined, signal: AbortSignal): Promise<void> {
  if (!ms || signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}

/** Resolves when a signal aborts or the client hangs up (so a killed client stops counting as stalled). */
function untilReleased(res: ServerResponse, signals: AbortSignal[]): Promise<void> {
  const signal = AbortSignal.any(signals)
  if (signal.aborted || res.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done)
      res.off('close', done)
      resolve()
    }
    signal.addEventListener('abort', done)
    res.on('close', done)
  })
}

function splitEvery(text: string, size: number): string[] {
  const pieces: string[] = []
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size))
  return pieces
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}
