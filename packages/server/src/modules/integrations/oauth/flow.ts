import { createHash } from 'node:crypto'
import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../../platform/db/client.ts'
import { AppError } from '../../../platform/errors.ts'
import { toIntegration, type Integration, type IntegrationService } from '../service.ts'
import type { IntegrationVendor } from '../vendors/types.ts'
import { authorizationSecrets, authorizationUrl, classifyFailure, clientCredentialsOf, endpointsOf, exchangeCode, tokenClient, tokenFields, withTokens } from './client.ts'
import { oauthStates } from './tables.ts'

/** How long the user has to authorize at the vendor after `oauth/start`. */
export const STATE_TTL_MS = 10 * 60_000

/** The path of the callback on the public listener; the redirect URI is the public URL and this. */
export const CALLBACK_PATH = '/oauth/callback'

export type OAuthFlowOptions = {
  /** WORKEN_PUBLIC_URL, without a trailing slash: where the vendor sends the user back. Unset: OAuth cannot start. */
  publicUrl: string | undefined
  stateTtlMs?: number
}

/** How the callback ended, for its page: the integration now connected, or why not (with the HTTP status to answer). */
export type CallbackOutcome =
  | { ok: true; integration: Integration }
  | { ok: false; status: 400 | 404 | 502; title: string; detail: string; integrationId?: string }

/** A state as stored: SHA-256 of the value the vendor carries, so the table alone completes nothing. */
export function hashState(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('base64url')
}

/** The secret store's context for a state's PKCE verifier: the ciphertext opens for this state only. */
const verifierContext = (stateHash: string) => `oauth-code-verifier:${stateHash}`

/**
 * The OAuth authorization code flow of the vendors that connect through it (`oauth` in their
 * definition): `start` sends the user to the vendor with a state and (S256) PKCE kept here,
 * expiring and single use; `callback` takes the state once, exchanges the code at the vendor's
 * token endpoint (oauth4webapi) and stores the tokens encrypted in the integration's `auth_data`.
 */
export class OAuthFlow {
  private readonly db: Database
  private readonly integrations: IntegrationService
  private readonly publicUrl: string | undefined
  private readonly stateTtlMs: number

  constructor(handle: DatabaseHandle, integrations: IntegrationService, options: OAuthFlowOptions) {
    this.db = handle.db
    this.integrations = integrations
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '')
    this.stateTtlMs = options.stateTtlMs ?? STATE_TTL_MS
  }

  /** `POST /integrations/:id/oauth/start`: the vendor's authorization URL to send the user to. */
  async start(projectId: string, id: string): Promise<{ url: string }> {
    const row = await this.integrations.requireRow(projectId, id)
    const vendor = row.vendor as IntegrationVendor
    const vendorOAuth = this.integrations.vendors.definitions[vendor].oauth
    if (!vendorOAuth) {
      throw new AppError('invalid_request', `${vendor} does not connect through OAuth: its credentials are given in auth_data (docs/integrations.md lists them)`)
    }
    if (!this.publicUrl) {
      throw new AppError(
        'invalid_request',
        `OAuth needs WORKEN_PUBLIC_URL: the vendor sends the user back to <public URL>${CALLBACK_PATH}, so the server must know the address it is reached at. Set it (and register that redirect URI with the app at ${vendor}), then restart.`,
      )
    }
    const auth = this.integrations.open(row)
    const credentials = clientCredentialsOf(auth)
    if (!credentials) {
      throw AppError.validation([{ path: 'auth_data.client_id', message: `is required to start OAuth (the OAuth client id of the app registered at ${vendor}); set it with POST /integrations/${id}` }])
    }
    const endpoints = endpointsOf(vendorOAuth, auth, this.integrations.vendors.apiUrl(vendor))
    const redirectUri = `${this.publicUrl}${CALLBACK_PATH}`
    const secrets = await authorizationSecrets(vendorOAuth.pkce)
    const stateHash = hashState(secrets.state)
    await this.db.insert(oauthStates).values({
      stateHash,
      projectId,
      integrationId: row.id,
      codeVerifierCiphertext: secrets.codeVerifier === null ? null : this.integrations.secretBox.encrypt(secrets.codeVerifier, verifierContext(stateHash)),
      redirectUri,
      expiresAt: new Date(Date.now() + this.stateTtlMs),
    })
    const url = authorizationUrl(endpoints, { clientId: credentials.clientId, redirectUri, scopes: vendorOAuth.scopes, state: secrets.state, codeChallenge: secrets.codeChallenge })
    return { url }
  }

  /**
   * `GET /oauth/callback`: the vendor sent the user back. The state is taken once (atomically:
   * two requests with one state cannot both pass), then the code is exchanged for tokens, which are
   * stored with the integration's other credentials; the integration becomes `active`. A vendor's
   * refusal or an unreachable token endpoint leaves the stored credentials as they were.
   */
  async callback(parameters: URLSearchParams): Promise<CallbackOutcome> {
    const state = parameters.get('state')
    if (!state) return fail(400, 'This link is incomplete', 'The address has no state parameter. Start the connection again from Worken.')
    const stateHash = hashState(state)
    const [taken] = await this.db
      .update(oauthStates)
      .set({ usedAt: sql`now()` })
      .where(and(eq(oauthStates.stateHash, stateHash), isNull(oauthStates.usedAt), gt(oauthStates.expiresAt, sql`now()`)))
      .returning()
    if (!taken) {
      const [known] = await this.db.select({ usedAt: oauthStates.usedAt }).from(oauthStates).where(eq(oauthStates.stateHash, stateHash))
      if (!known) return fail(400, 'This link is not valid', 'Worken did not start this authorization. Start the connection again from Worken.')
      if (known.usedAt) return fail(400, 'This link was already used', 'Each authorization link works once. Start the connection again from Worken.')
      return fail(400, 'This link has expired', `Authorization must be completed within ${Math.round(this.stateTtlMs / 60_000)} minutes. Start the connection again from Worken.`)
    }
    const integrationId = taken.integrationId
    const row = await this.integrations.findForChannel(integrationId)
    if (!row || row.projectId !== taken.projectId) return fail(404, 'The integration is gone', 'The integration was deleted while it was being authorized.', integrationId)
    const vendor = row.vendor as IntegrationVendor
    const definition = this.integrations.vendors.definitions[vendor]
    if (!definition.oauth) return fail(400, 'Not an OAuth integration', `${vendor} does not connect through OAuth.`, integrationId)
    const auth = this.integrations.open(row)
    const credentials = clientCredentialsOf(auth)
    if (!credentials) return fail(400, 'The integration has no client id', 'Its auth_data.client_id was removed while it was being authorized. Set it, then start again.', integrationId)

    const client = tokenClient(endpointsOf(definition.oauth, auth, this.integrations.vendors.apiUrl(vendor)), credentials, this.integrations.vendors.fetch)
    const codeVerifier = taken.codeVerifierCiphertext === null ? null : this.integrations.secretBox.decrypt(taken.codeVerifierCiphertext, verifierContext(stateHash))
    const now = new Date()
    let tokens
    try {
      tokens = await exchangeCode(client, parameters, state, taken.redirectUri, codeVerifier)
    } catch (error) {
      const failure = classifyFailure(error)
      return failure.kind === 'refused'
        ? fail(400, `${vendor} did not authorize Worken`, `${vendor} answered: ${failure.reason}. Nothing was changed; start the connection again to retry.`, integrationId)
        : fail(502, `${vendor} could not complete the connection`, `${vendor} ${failure.reason}. Nothing was changed; start the connection again to retry.`, integrationId)
    }
    const parsed = definition.auth.safeParse(withTokens(auth, tokenFields(tokens, now)))
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
      return fail(502, `${vendor}'s tokens cannot be stored`, `${vendor} issued tokens outside what Worken accepts (${problems}). Nothing was changed.`, integrationId)
    }
    const connected = await this.integrations.authorized(row.projectId, row.id, parsed.data)
    return { ok: true, integration: toIntegration(connected) }
  }
}

function fail(status: 400 | 404 | 502, title: string, detail: string, integrationId?: string): CallbackOutcome {
  return { ok: false, status, title, detail, ...(integrationId ? { integrationId } : {}) }
}
