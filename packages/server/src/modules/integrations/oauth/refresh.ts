import { and, asc, inArray, isNotNull, lt, lte } from 'drizzle-orm'
import type { Logger } from 'pino'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import type { JobInfo, JobQueue } from '../../../platform/jobs/queue.ts'
import type { IntegrationRow, IntegrationService } from '../service.ts'
import { integrations } from '../tables.ts'
import type { IntegrationVendor } from '../vendors/types.ts'
import { classifyFailure, clientCredentialsOf, endpointsOf, refreshTokens, tokenClient, tokenFields, withTokens } from './client.ts'
import { oauthStates } from './tables.ts'

export const JOB_OAUTH_REFRESH = 'integration.oauth-refresh'

export type OAuthRefreshOptions = {
  /** How often every process looks for tokens due (default 60 s). */
  sweepMs?: number
  /** How long before its expiry a token is renewed (default 10 minutes). */
  leadMs?: number
  /** Whole seconds before the first retry of a renewal that failed in passing; doubled each time (default 30). */
  retryDelaySeconds?: number
}

type RefreshJob = { integrationId: string }

/** What one renewal did: for the logs and the tests. */
export type RefreshOutcome = 'renewed' | 'not_due' | 'refused' | 'superseded' | 'skipped'

/** Used and expired states are kept a day (so a late click is told "expired", not "unknown"), then removed. */
const STATE_RETENTION_MS = 24 * 60 * 60_000
/** Integrations queued per sweep; the rest are found by the next one. */
const SWEEP_BATCH = 500

/**
 * Renews OAuth access tokens before they expire. A sweep in every process (each minute) finds the
 * integrations whose `token_expires_at` is within the lead time, `active` or `disabled` (an `error`
 * one waits for the user), and queues one renewal job for each: the queue's `exclusive` policy
 * keeps one queued or running per integration across all processes, so a rotated refresh token is
 * never spent twice. The job uses the refresh token grant (oauth4webapi) and stores the new tokens
 * only if the credentials were not replaced meanwhile. The vendor's refusal (an OAuth error answer
 * of 400/401: `invalid_grant`, `invalid_client`, …) puts the integration in `error` with
 * `integration.auth_lost`; anything else (network, 5xx, timeouts) fails the job, which is retried
 * with backoff, and queued again by later sweeps until the token is renewed or refused.
 */
export class OAuthRefresher {
  private readonly db: Database
  private readonly integrations: IntegrationService
  private readonly jobs: JobQueue
  private readonly logger: Logger
  private readonly sweepMs: number
  readonly leadMs: number
  private readonly retryDelaySeconds: number
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<number> | undefined

  constructor(handle: DatabaseHandle, integrations: IntegrationService, jobs: JobQueue, logger: Logger, options: OAuthRefreshOptions = {}) {
    this.db = handle.db
    this.integrations = integrations
    this.jobs = jobs
    this.logger = logger.child({ component: 'oauth-refresh' })
    this.sweepMs = options.sweepMs ?? 60_000
    this.leadMs = options.leadMs ?? 10 * 60_000
    this.retryDelaySeconds = options.retryDelaySeconds ?? 30
  }

  /** Declares the renewal job; call before the queue starts. */
  register(): void {
    this.jobs.define<RefreshJob>(JOB_OAUTH_REFRESH, async ({ integrationId }, job) => {
      const outcome = await this.refresh(integrationId, job)
      if (outcome === 'renewed' || outcome === 'refused') this.logger.info({ integrationId, outcome }, 'OAuth token renewal')
    }, { retryLimit: 4, retryDelaySeconds: this.retryDelaySeconds, retryBackoff: true, policy: 'exclusive' })
  }

  /** Sweeps now, then every `sweepMs`. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'the OAuth refresh sweep failed')), this.sweepMs)
    this.timer.unref()
    await this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'the OAuth refresh sweep failed'))
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.sweeping?.catch(() => undefined)
  }

  /** Queues a renewal for every token due; removes states past their retention. Resolves to the number queued. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined
    })
    return this.sweeping
  }

  private async sweepOnce(): Promise<number> {
    await this.db.delete(oauthStates).where(lt(oauthStates.expiresAt, new Date(Date.now() - STATE_RETENTION_MS)))
    const due = await this.db
      .select({ id: integrations.id })
      .from(integrations)
      .where(and(isNotNull(integrations.tokenExpiresAt), lte(integrations.tokenExpiresAt, new Date(Date.now() + this.leadMs)), inArray(integrations.status, ['active', 'disabled'])))
      .orderBy(asc(integrations.tokenExpiresAt))
      .limit(SWEEP_BATCH)
    let queued = 0
    for (const { id } of due) {
      // Refused (null) while one is queued or running for this integration: that one will do.
      if ((await this.jobs.send<RefreshJob>(JOB_OAUTH_REFRESH, { integrationId: id }, { singletonKey: id })) !== null) queued++
    }
    return queued
  }

  /**
   * Renews one integration's token if it is due. Throws when the vendor could not be used (the job
   * is retried); a refusal is not thrown: it is recorded on the integration.
   */
  async refresh(integrationId: string, job?: Pick<JobInfo, 'signal'>): Promise<RefreshOutcome> {
    const row = await this.integrations.findForChannel(integrationId)
    if (!row || (row.status !== 'active' && row.status !== 'disabled')) return 'skipped'
    const vendor = row.vendor as IntegrationVendor
    const definition = this.integrations.vendors.definitions[vendor]
    if (!definition.oauth) return 'skipped'
    const auth = this.integrations.open(row)
    const expiresAt = typeof auth.expires_at === 'string' ? Date.parse(auth.expires_at) : Number.NaN
    const now = new Date()
    if (Number.isNaN(expiresAt) || expiresAt - now.getTime() > this.leadMs) return 'not_due'
    const refreshToken = typeof auth.refresh_token === 'string' && auth.refresh_token !== '' ? auth.refresh_token : undefined
    if (!refreshToken) {
      // Nothing to renew it with: the loss is said once the token has actually expired.
      if (expiresAt > now.getTime()) return 'not_due'
      return this.refused(row, `the access token expired and ${vendor} gave no refresh token: authorize again (POST /integrations/${row.id}/oauth/start)`)
    }
    const credentials = clientCredentialsOf(auth)
    if (!credentials) return this.refused(row, `the access token cannot be renewed without auth_data.client_id`)

    const client = tokenClient(endpointsOf(definition.oauth, auth, this.integrations.vendors.apiUrl(vendor)), credentials, this.integrations.vendors.fetch, job?.signal)
    let tokens
    try {
      tokens = await refreshTokens(client, refreshToken)
    } catch (error) {
      const failure = classifyFailure(error)
      if (failure.kind === 'refused') return this.refused(row, `${vendor} refused to renew the access token: ${failure.reason}`)
      throw new Error(`${vendor}'s token endpoint ${failure.reason}`, { cause: error })
    }
    const parsed = definition.auth.safeParse(withTokens(auth, tokenFields(tokens, now, refreshToken)))
    if (!parsed.success) throw new Error(`${vendor} issued tokens outside what Worken accepts: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`)
    return (await this.integrations.renewed(row, parsed.data)) ? 'renewed' : 'superseded'
  }

  /** The vendor's verdict, recorded unless the credentials were replaced since the renewal began (then the new ones stand). */
  private async refused(row: IntegrationRow, reason: string): Promise<RefreshOutcome> {
    const current = await this.integrations.findForChannel(row.id)
    if (!current || current.authCiphertext !== row.authCiphertext) return 'superseded'
    await this.integrations.credentialsRefused(current, reason)
    return 'refused'
  }
}
