import { APIPromise, type APIResult } from './core/api-promise.ts'
import { readEnv } from './core/env.ts'
import { WorkenError } from './core/errors.ts'
import { EventFeed, type EventFeedOptions } from './core/event-feed.ts'
import { AbstractPage, PagePromise, type PageClass } from './core/pagination.ts'
import { ReplyStream } from './core/stream.ts'
import { perform, type FinalRequestOptions, type Fetch, type RequestOptions, type TransportConfig } from './core/transport.ts'
import { callOperation, type CallOptions } from './call.ts'
import type { OperationId } from './generated/operations.ts'
import { Billing } from './resources/billing.ts'
import { Bots } from './resources/bots.ts'
import { Chats } from './resources/chats.ts'
import { Files } from './resources/files.ts'
import { Health } from './resources/health.ts'
import { Integrations } from './resources/integrations.ts'
import { Projects } from './resources/projects.ts'
import { Threads } from './resources/threads.ts'
import { VectorStores } from './resources/vector-stores.ts'
import { WebhookEndpoints } from './resources/webhook-endpoints.ts'
import type { StreamAccepted } from './types.ts'
import { Webhooks } from './webhooks.ts'

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080'
export const DEFAULT_TIMEOUT_MS = 60_000
export const DEFAULT_MAX_RETRIES = 2

export type ClientOptions = {
  /** A project API key, `sk-…`. Default: env `WORKEN_API_KEY`. */
  apiKey?: string | undefined
  /** Default: env `WORKEN_BASE_URL`, else `http://127.0.0.1:8080`. */
  baseURL?: string | undefined
  /** Milliseconds a request may take (for streams: until the response headers arrive). Default 60 000. */
  timeout?: number | undefined
  /** Retries of connection errors, 408, 409, 429 and 5xx. Default 2. */
  maxRetries?: number | undefined
  /** A fetch implementation (a proxy agent, a test double); default `globalThis.fetch`. */
  fetch?: Fetch | undefined
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string> | undefined
  /** The secret `client.webhooks.verify` uses when none is passed. Default: env `WORKEN_WEBHOOK_SECRET`. */
  webhookSecret?: string | undefined
}

type WithQuery = RequestOptions & { query?: Record<string, unknown> | undefined }
type WithBody = WithQuery & { body?: unknown }

/**
 * The Worken API client.
 *
 * @example
 * import { WorkenClient } from '@worken/sdk'
 *
 * const client = new WorkenClient({ apiKey: process.env.WORKEN_API_KEY })
 * for await (const bot of client.bots.list()) console.log(bot.name)
 */
export class WorkenClient {
  readonly baseURL: string
  readonly timeout: number
  readonly maxRetries: number
  readonly webhookSecret: string | undefined
  readonly #transport: TransportConfig

  readonly bots: Bots
  readonly chats: Chats
  readonly threads: Threads
  readonly webhookEndpoints: WebhookEndpoints
  readonly integrations: Integrations
  readonly files: Files
  readonly vectorStores: VectorStores
  readonly projects: Projects
  readonly billing: Billing
  readonly health: Health
  /** Verifies webhook signatures (the same functions as `@worken/sdk/webhooks`). */
  readonly webhooks: Webhooks

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? readEnv('WORKEN_API_KEY')
    if (!apiKey) {
      throw new WorkenError(
        "No API key: pass one as new WorkenClient({ apiKey: 'sk-…' }) or set the WORKEN_API_KEY environment variable (create keys with POST /projects/{id}/api-keys).",
      )
    }
    const baseURL = (options.baseURL ?? readEnv('WORKEN_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '')
    if (!isHttpUrl(baseURL)) throw new WorkenError(`baseURL must be an http(s) URL, got '${baseURL}'`)
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES
    if (!Number.isInteger(timeout) || timeout <= 0) throw new WorkenError(`timeout must be a positive integer of milliseconds, got ${timeout}`)
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new WorkenError(`maxRetries must be a non-negative integer, got ${maxRetries}`)
    const fetch = options.fetch ?? (globalThis.fetch as Fetch | undefined)
    if (typeof fetch !== 'function') throw new WorkenError('No fetch implementation: this runtime has no global fetch; pass one as new WorkenClient({ fetch })')
    this.baseURL = baseURL
    this.timeout = timeout
    this.maxRetries = maxRetries
    this.webhookSecret = options.webhookSecret ?? readEnv('WORKEN_WEBHOOK_SECRET')
    this.#transport = { baseURL, apiKey, timeout, maxRetries, fetch, defaultHeaders: { ...options.defaultHeaders } }

    this.bots = new Bots(this)
    this.chats = new Chats(this)
    this.threads = new Threads(this)
    this.webhookEndpoints = new WebhookEndpoints(this)
    this.integrations = new Integrations(this)
    this.files = new Files(this)
    this.vectorStores = new VectorStores(this)
    this.projects = new Projects(this)
    this.billing = new Billing(this)
    this.health = new Health(this)
    this.webhooks = new Webhooks(this.webhookSecret)
  }

  /**
   * Any request, with the client's auth, retries, idempotency keys and errors;
   * resolves to the parsed JSON body (text for other content types, null when empty).
   *
   * @example
   * const bots = await client.request<Bot[]>({ method: 'GET', path: '/bots', query: { limit: 10 } })
   */
  request<T = unknown>(options: FinalRequestOptions): APIPromise<T> {
    return new APIPromise(this.#json<T>(options))
  }

  get<T>(path: string, options: WithQuery = {}): APIPromise<T> {
    return this.request<T>({ ...options, method: 'GET', path })
  }

  post<T>(path: string, options: WithBody = {}): APIPromise<T> {
    return this.request<T>({ ...options, method: 'POST', path })
  }

  put<T>(path: string, options: WithBody = {}): APIPromise<T> {
    return this.request<T>({ ...options, method: 'PUT', path })
  }

  patch<T>(path: string, options: WithBody = {}): APIPromise<T> {
    return this.request<T>({ ...options, method: 'PATCH', path })
  }

  delete<T>(path: string, options: WithQuery = {}): APIPromise<T> {
    return this.request<T>({ ...options, method: 'DELETE', path })
  }

  /** A GET list as a page that iterates every item of every page. */
  getPage<P extends AbstractPage<any>>(Class: PageClass<P>, path: string, options: WithQuery = {}): PagePromise<P> {
    return new PagePromise(this.#fetcher, Class, { ...options, method: 'GET', path })
  }

  /**
   * Sends a request whose answer is a reply stream (`text/event-stream`), or a
   * 202 JSON body when no reply streams; retries apply until the headers arrive.
   */
  async replyStream(path: string, options: WithBody = {}): Promise<ReplyStream> {
    const performed = await perform(this.#transport, { ...options, method: 'POST', path }, 'stream', 'text/event-stream')
    const type = performed.response.headers.get('content-type') ?? ''
    if (type.includes('text/event-stream')) return new ReplyStream(performed, null)
    let accepted: StreamAccepted
    try {
      accepted = (await performed.response.json()) as StreamAccepted
    } finally {
      performed.release()
    }
    return new ReplyStream(performed, accepted)
  }

  /** A reconnecting event feed on an events path (`/threads/events…`). */
  eventFeed(path: string, options: EventFeedOptions = {}): EventFeed {
    return new EventFeed((request) => perform(this.#transport, request, 'stream', 'text/event-stream'), path, options)
  }

  /**
   * A GET whose body is left unread: the caller streams or buffers it
   * (`arrayBuffer()`, `text()`, `body`); the request's `signal` still aborts the read.
   */
  async download(path: string, options: WithQuery = {}): Promise<Response> {
    const { response } = await perform(this.#transport, { ...options, method: 'GET', path }, 'stream', '*/*')
    return response
  }

  /**
   * Calls an operation by its operationId (see `OPERATIONS`), with the same
   * auth, retries and errors as the typed methods. Resolves to the parsed JSON
   * body; for lists to a page (async-iterable over all items; `JSON.stringify`
   * prints the server's body); for reply streams to a `ReplyStream`; for the
   * event feeds to an `EventFeed`; for downloads to the `Response`.
   *
   * @example
   * const bot = await client.call('bots.get', { params: { bot_id: 'bot_123' } })
   * const page = await client.call('bots.list', { query: { limit: 10 } })
   */
  call(operationId: OperationId, options: CallOptions = {}): Promise<unknown> {
    return callOperation(this, operationId, options)
  }

  readonly #fetcher = (options: FinalRequestOptions): Promise<APIResult<unknown>> => this.#json(options)

  async #json<T>(options: FinalRequestOptions): Promise<APIResult<T>> {
    const { response, data } = await perform(this.#transport, options, 'body')
    return { data: data as T, response }
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}
