import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Database } from '../db/client.ts'
import { rateLimits } from './rate-limit-table.ts'

export const TARIFFS = ['free', 'starter', 'pro', 'enterprise'] as const

/** A billing account's plan (the spec's `BillingAccount.tariff`). */
export type Tariff = (typeof TARIFFS)[number]

/** Requests per window by plan, from the overview's table; `null` is unlimited. */
export const PLAN_LIMITS: Readonly<Record<Tariff, number | null>> = { free: 60, starter: 300, pro: 600, enterprise: null }

/** The plan of an organization; the billing module provides it. */
export type TariffOf = (organizationId: string) => Promise<Tariff>

/** What one counted request learned: the plan's limit, what is left of it, and when the window ends. */
export type RateLimitDecision =
  | { limited: false }
  | { limited: true; tariff: Tariff; allowed: boolean; limit: number; remaining: number; resetMs: number }

export type PlanRateLimiterOptions = {
  tariffOf: TariffOf
  /**
   * Where the counters live. `database`: the `rate_limits` table, shared by every process on
   * that database (Postgres); `memory`: this process only (the embedded PGlite, one process).
   */
  store: { kind: 'database'; db: Database } | { kind: 'memory' }
  /** The window's length; 60 (per minute, as the plans say) unless a test wants it short. */
  windowSeconds?: number
  /** How long an organization's plan is reused before it is asked again. */
  tariffCacheMs?: number
  now?: () => number
}

/** Far above any plan: the library only counts, and the plan's limit is compared here (see `consume`). */
const COUNT_ONLY = 2 ** 31 - 1
/** Past this many cached organizations the cache starts over, rather than growing without bound. */
const MAX_CACHED_ORGANIZATIONS = 10_000

/**
 * The plan rate limits: a fixed window per project (`windowSeconds`, starting at its first counted
 * request), counted by `rate-limiter-flexible`. One counter per project whatever its plan, so a plan
 * changed mid-window keeps the requests already counted and applies the new limit at once. On the
 * database store a request costs one upsert; the plan is cached per organization, so it costs no
 * round trip of its own within `tariffCacheMs`. If the database store fails, the library falls back
 * to an in-process counter (its "insurance" limiter) rather than refusing or waving everyone through.
 *
 * @example
 * const limits = new PlanRateLimiter({ tariffOf: async () => 'free', store: { kind: 'memory' } })
 * const decision = await limits.consume({ organizationId: 'org_1', projectId: 'prj_1' })
 * if (decision.limited && !decision.allowed) console.log(`retry in ${decision.resetMs} ms`)
 */
export class PlanRateLimiter {
  readonly windowSeconds: number
  readonly #counter: RateLimiterAbstract
  readonly #tariffOf: TariffOf
  readonly #tariffCacheMs: number
  readonly #now: () => number
  readonly #tariffs = new Map<string, { tariff: Promise<Tariff>; until: number }>()

  constructor(options: PlanRateLimiterOptions) {
    this.windowSeconds = options.windowSeconds ?? 60
    this.#tariffOf = options.tariffOf
    this.#tariffCacheMs = options.tariffCacheMs ?? 30_000
    this.#now = options.now ?? Date.now
    const counting = { points: COUNT_ONLY, duration: this.windowSeconds, keyPrefix: 'plan' }
    this.#counter = options.store.kind === 'database'
      ? new RateLimiterDrizzle({ ...counting, schema: rateLimits, storeClient: options.store.db, insuranceLimiter: new RateLimiterMemory(counting) })
      : new RateLimiterMemory(counting)
  }

  /** The organization's plan, asked at most once per `tariffCacheMs`; a failed lookup is not kept. */
  tariff(organizationId: string): Promise<Tariff> {
    const now = this.#now()
    const cached = this.#tariffs.get(organizationId)
    if (cached && cached.until > now) return cached.tariff
    if (this.#tariffs.size >= MAX_CACHED_ORGANIZATIONS) this.#tariffs.clear()
    const tariff = this.#tariffOf(organizationId)
    this.#tariffs.set(organizationId, { tariff, until: now + this.#tariffCacheMs })
    tariff.catch(() => this.#tariffs.delete(organizationId))
    return tariff
  }

  /** Counts one request of the project against its organization's plan; an unlimited plan is not counted at all. */
  async consume(caller: { organizationId: string; projectId: string }): Promise<RateLimitDecision> {
    const tariff = await this.tariff(caller.organizationId)
    const limit = PLAN_LIMITS[tariff]
    if (limit === null) return { limited: false }
    let counted: RateLimiterRes
    try {
      counted = await this.#counter.consume(caller.projectId)
    } catch (rejection) {
      // The library rejects with a result past its own points (never, at COUNT_ONLY) or with the store's error.
      if (rejection instanceof RateLimiterRes) counted = rejection
      else throw rejection
    }
    return {
      limited: true,
      tariff,
      allowed: counted.consumedPoints <= limit,
      limit,
      remaining: Math.max(limit - counted.consumedPoints, 0),
      resetMs: Math.max(counted.msBeforeNext, 0),
    }
  }
}
