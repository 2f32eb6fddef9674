import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, WorkenError } from './errors.ts'
import { idempotencyKey } from './ids.ts'
import { queryString } from './path.ts'
import { backoffMs, isRetryableStatus, retryDelayMs, sleep } from './retry.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD'

export type Fetch = (input: string, init: RequestInit) => Promise<Response>

/** Per-request options every method takes as its last argument. */
export type RequestOptions = {
  /** Extra headers; `null` removes one the SDK would send. */
  headers?: Record<string, string | null | undefined>
  signal?: AbortSignal
  /** Milliseconds until the response (for streams: its headers) must have arrived. */
  timeout?: number
  maxRetries?: number
  /** The `Idempotency-Key` of a POST; by default `worken-retry-<uuid>`, the same across its retries. */
  idempotencyKey?: string
}

/** A request as `client.request()` takes it. */
export type FinalRequestOptions = RequestOptions & {
  method: HttpMethod
  /** The path after the base URL, with its parameters already escaped (`/bots/bot_1`). */
  path: string
  query?: Record<string, unknown>
  /** A plain value is sent as JSON; `FormData`, `Blob`, bytes, a string or a `ReadableStream` as they are. */
  body?: unknown
}

export type TransportConfig = {
  baseURL: string
  apiKey: string
  timeout: number
  maxRetries: number
  fetch: Fetch
  defaultHeaders: Record<string, string>
}

/** What the caller will do with a successful response: read it whole (JSON, text) or take its body as it streams. */
export type ReadMode = 'body' | 'stream'

export type Performed = {
  response: Response
  /** The parsed body in `body` mode; undefined in `stream` mode. */
  data: unknown
  /** Aborts the request; in `stream` mode it stays live for the consumer. */
  controller: AbortController
  /** Stops following the caller's signal; streams call it when they end. */
  release(): void
}

const TIMEOUT = Symbol('timeout')

/**
 * Sends a request with retries. Each attempt has its own AbortController (the
 * caller's signal aborts it, and so does the timeout); the timeout runs until
 * the body has been read, or for streams until the headers have arrived.
 */
export async function perform(config: TransportConfig, options: FinalRequestOptions, mode: ReadMode, accept = 'application/json'): Promise<Performed> {
  const maxRetries = validCount(options.maxRetries ?? config.maxRetries, 'maxRetries')
  const timeout = validCount(options.timeout ?? config.timeout, 'timeout')
  const url = config.baseURL + options.path + queryString(options.query)
  const encoded = encodeBody(options.body)
  const headers = requestHeaders(config, options, encoded.contentType, accept)
  const userSignal = options.signal

  for (let attempt = 0; ; attempt++) {
    const retriesLeft = encoded.replayable ? maxRetries - attempt : 0
    if (userSignal?.aborted) throw new APIUserAbortError(undefined, { cause: userSignal.reason })
    const controller = new AbortController()
    const followUser = () => controller.abort(userSignal?.reason)
    userSignal?.addEventListener('abort', followUser, { once: true })
    const release = () => userSignal?.removeEventListener('abort', followUser)
    const timer = setTimeout(() => controller.abort(TIMEOUT), timeout)
    let keepLinked = false
    try {
      let response: Response
      try {
        response = await config.fetch.call(undefined, url, {
          method: options.method,
          headers,
          body: encoded.body,
          signal: controller.signal,
          ...(encoded.streaming ? { duplex: 'half' } : {}),
        } as RequestInit)
      } catch (error) {
        throw failure(error, controller, timeout)
      }
      if (!response.ok) {
        if (retriesLeft > 0 && isRetryableStatus(response.status, response.headers)) {
          await discard(response)
          clearTimeout(timer)
          await wait(retryDelayMs(attempt + 1, response.headers), userSignal)
          continue
        }
        throw await statusError(response, controller, timeout)
      }
      if (mode === 'stream') {
        keepLinked = true
        return { response, data: undefined, controller, release }
      }
      let data: unknown
      try {
        data = await readBody(response)
      } catch (error) {
        if (error instanceof WorkenError) throw error
        throw failure(error, controller, timeout)
      }
      return { response, data, controller, release }
    } catch (error) {
      if (error instanceof APIConnectionError && retriesLeft > 0) {
        clearTimeout(timer)
        await wait(backoffMs(attempt + 1), userSignal)
        continue
      }
      throw error
    } finally {
      clearTimeout(timer)
      if (!keepLinked) release()
    }
  }
}

/** The error for a failed fetch or body read: the caller's abort, the timeout, or the connection. */
export function failure(error: unknown, controller: AbortController, timeout: number): WorkenError {
  if (controller.signal.aborted) {
    if (controller.signal.reason === TIMEOUT) return new APIConnectionTimeoutError(`Request timed out after ${timeout} ms.`, { cause: error })
    return new APIUserAbortError(undefined, { cause: error })
  }
  if (error instanceof WorkenError) return error
  return new APIConnectionError(connectionMessage(error), { cause: error })
}

function connectionMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
  return `Connection error: ${detail}`
}

async function statusError(response: Response, controller: AbortController, timeout: number): Promise<APIError> {
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    const cause = failure(error, controller, timeout)
    if (cause instanceof APIUserAbortError) throw cause
    text = ''
  }
  return APIError.generate(response.status, parseJson(text) ?? text, undefined, response.headers)
}

async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, signal)
  } catch (error) {
    throw new APIUserAbortError(undefined, { cause: error })
  }
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined)
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text()
  if (response.status === 204 || text === '') return null
  const type = response.headers.get('content-type') ?? ''
  if (!/[/+]json\b/i.test(type)) return text
  const parsed = parseJson(text)
  if (parsed === undefined) throw new WorkenError(`The server answered ${response.status} with malformed JSON: ${text.slice(0, 200)}`)
  return parsed
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

type EncodedBody = { body: RequestInit['body']; contentType: string | undefined; replayable: boolean; streaming: boolean }

function encodeBody(body: unknown): EncodedBody {
  if (body === undefined) return { body: undefined, contentType: undefined, replayable: true, streaming: false }
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    // Read once by the first attempt: it cannot be sent again.
    return { body, contentType: undefined, replayable: false, streaming: true }
  }
  if (
    typeof body === 'string' ||
    body instanceof FormData ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  ) {
    return { body: body as RequestInit['body'], contentType: undefined, replayable: true, streaming: false }
  }
  return { body: JSON.stringify(body), contentType: 'application/json', replayable: true, streaming: false }
}

function requestHeaders(config: TransportConfig, options: FinalRequestOptions, contentType: string | undefined, accept: string): Headers {
  const headers = new Headers({ accept })
  headers.set('authorization', `Bearer ${config.apiKey}`)
  if (contentType) headers.set('content-type', contentType)
  if (options.method === 'POST') headers.set('idempotency-key', options.idempotencyKey ?? idempotencyKey())
  for (const source of [config.defaultHeaders, options.headers ?? {}]) {
    for (const [name, value] of Object.entries(source)) {
      if (value === null) headers.delete(name)
      else if (value !== undefined) headers.set(name, value)
    }
  }
  return headers
}

function validCount(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new WorkenError(`${name} must be a non-negative integer, got ${value}`)
  return value
}
