/**
 * When to retry and how long to wait, as openai-node does it: connection errors,
 * 408, 409, 429 and 5xx are retried unless the server says otherwise
 * (`x-should-retry`), after `retry-after-ms` / `Retry-After` when the server
 * gives one of at most a minute, else after an exponential backoff with jitter.
 */

const INITIAL_DELAY_MS = 500
const MAX_DELAY_MS = 8_000
/** A longer Retry-After is not waited out: the request fails (or backs off normally) instead. */
const MAX_RETRY_AFTER_MS = 60_000

export function isRetryableStatus(status: number, headers: Headers): boolean {
  const verdict = headers.get('x-should-retry')
  if (verdict === 'true') return true
  if (verdict === 'false') return false
  return status === 408 || status === 409 || status === 429 || status >= 500
}

/** The server's requested wait in milliseconds, when it gives a usable one. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined
  let wait: number | undefined
  const ms = headers.get('retry-after-ms')
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) wait = Number(ms)
  const after = headers.get('retry-after')
  if (wait === undefined && after !== null && after.trim() !== '') {
    const seconds = Number(after)
    wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now
  }
  if (wait === undefined || !Number.isFinite(wait) || wait < 0 || wait > MAX_RETRY_AFTER_MS) return undefined
  return wait
}

/** Backoff before retry number `retry` (1-based): 0.5 s, 1 s, 2 s … at most 8 s, less up to 25% jitter. */
export function backoffMs(retry: number, random = Math.random): number {
  const base = Math.min(INITIAL_DELAY_MS * 2 ** (retry - 1), MAX_DELAY_MS)
  return base * (1 - random() * 0.25)
}

export function retryDelayMs(retry: number, headers: Headers | undefined): number {
  return retryAfterMs(headers) ?? backoffMs(retry)
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
