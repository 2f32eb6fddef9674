/**
 * When each attempt happens, counted from the previous failure: at once, then
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts over about 27.5
 * hours, each delay ±10% jitter so a receiver that comes back is not hit by
 * every queued delivery in the same second.
 */
export const ATTEMPT_DELAYS_MS = [0, 5_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 10 * 3600_000] as const

export const MAX_ATTEMPTS = ATTEMPT_DELAYS_MS.length

/** An endpoint whose every attempt has failed for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600_000

/** The longest `Retry-After` we wait for. */
export const MAX_RETRY_AFTER_MS = 24 * 3600_000

/**
 * The delay before the next attempt after `attemptsMade` attempts failed, or
 * null when none is left. `retryAfterMs` (from a 429/503) is honoured when longer.
 */
export function nextAttemptDelay(attemptsMade: number, random: () => number = Math.random, retryAfterMs: number | null = null): number | null {
  if (attemptsMade >= MAX_ATTEMPTS) return null
  const base = ATTEMPT_DELAYS_MS[attemptsMade]!
  const jittered = Math.round(base * (0.9 + 0.2 * random()))
  return retryAfterMs === null ? jittered : Math.max(jittered, retryAfterMs)
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; capped; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (!value) return null
  const trimmed = value.trim()
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now.getTime()
  if (!Number.isFinite(ms)) return null
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS)
}
