import * as oauth from 'oauth4webapi'
import type { VendorOAuth } from '../vendors/types.ts'

/*
 * The one file that knows oauth4webapi: a vendor's OAuth endpoints as the library's authorization
 * server metadata, the authorization code and refresh token grants, and what a failure means.
 */

/** How long one call to a vendor's token endpoint may take. */
const TOKEN_CALL_TIMEOUT_MS = 15_000
/** The vendor's own words are kept in a reason, but not at any length. */
const MAX_REASON_CHARS = 300

/** Where one integration's OAuth happens: the vendor's endpoints, filled from its `auth_data` and API URL. */
export type OAuthEndpoints = { authorizationUrl: string; tokenUrl: string; issuer: string }

export function endpointsOf(vendorOAuth: VendorOAuth, auth: Record<string, unknown>, apiUrl: string): OAuthEndpoints {
  const authorizationUrl = vendorOAuth.authorizationUrl(auth, apiUrl)
  return {
    authorizationUrl,
    tokenUrl: vendorOAuth.tokenUrl(auth, apiUrl),
    issuer: vendorOAuth.issuer?.(auth, apiUrl) ?? new URL(authorizationUrl).origin,
  }
}

/** The app registered at the vendor: `client_id`, and `client_secret` unless it is a public client (PKCE alone). */
export type ClientCredentials = { clientId: string; clientSecret: string | undefined }

/** `client_id` and `client_secret` of `auth_data` (the fields of vendors/fields.ts), when they are strings. */
export function clientCredentialsOf(auth: Record<string, unknown>): ClientCredentials | null {
  if (typeof auth.client_id !== 'string' || auth.client_id === '') return null
  return { clientId: auth.client_id, clientSecret: typeof auth.client_secret === 'string' && auth.client_secret !== '' ? auth.client_secret : undefined }
}

/** What one exchange with a vendor's token endpoint needs. */
export type TokenClient = {
  as: oauth.AuthorizationServer
  client: oauth.Client
  clientAuth: oauth.ClientAuth
  options: oauth.TokenEndpointRequestOptions
}

/**
 * The vendor as oauth4webapi's authorization server (no discovery: the vendor's endpoints are
 * known), the integration's app as its client. The secret goes in the form body
 * (`client_secret_post`), which every OAuth vendor here accepts; without one the client is public
 * and PKCE protects the code. Plain http is allowed only where the operator pointed the vendor's
 * API URL at it (WORKEN_<VENDOR>_API_URL: a local double, a proxy).
 */
export function tokenClient(endpoints: OAuthEndpoints, credentials: ClientCredentials, fetch: typeof globalThis.fetch, signal?: AbortSignal): TokenClient {
  const timeout = () => (signal ? AbortSignal.any([signal, AbortSignal.timeout(TOKEN_CALL_TIMEOUT_MS)]) : AbortSignal.timeout(TOKEN_CALL_TIMEOUT_MS))
  return {
    as: { issuer: endpoints.issuer, authorization_endpoint: endpoints.authorizationUrl, token_endpoint: endpoints.tokenUrl },
    client: { client_id: credentials.clientId },
    clientAuth: credentials.clientSecret === undefined ? oauth.None() : oauth.ClientSecretPost(credentials.clientSecret),
    options: {
      signal: timeout,
      [oauth.customFetch]: (url, init) => fetch(url, init),
      [oauth.allowInsecureRequests]: new URL(endpoints.tokenUrl).protocol === 'http:',
    },
  }
}

/** A fresh `state` and, for a PKCE vendor, a `code_verifier` with its S256 challenge. */
export async function authorizationSecrets(pkce: boolean): Promise<{ state: string; codeVerifier: string | null; codeChallenge: string | null }> {
  const state = oauth.generateRandomState()
  if (!pkce) return { state, codeVerifier: null, codeChallenge: null }
  const codeVerifier = oauth.generateRandomCodeVerifier()
  return { state, codeVerifier, codeChallenge: await oauth.calculatePKCECodeChallenge(codeVerifier) }
}

/**
 * The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3): the vendor's page with the
 * parameters set (a vendor's own query, like Google's `access_type=offline`, is kept).
 */
export function authorizationUrl(endpoints: OAuthEndpoints, request: { clientId: string; redirectUri: string; scopes: string[]; state: string; codeChallenge: string | null }): string {
  const url = new URL(endpoints.authorizationUrl)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', request.clientId)
  url.searchParams.set('redirect_uri', request.redirectUri)
  if (request.scopes.length > 0) url.searchParams.set('scope', request.scopes.join(' '))
  url.searchParams.set('state', request.state)
  if (request.codeChallenge !== null) {
    url.searchParams.set('code_challenge', request.codeChallenge)
    url.searchParams.set('code_challenge_method', 'S256')
  }
  return url.href
}

/**
 * The callback's parameters checked (the state, the issuer when the vendor names one, an error
 * answer), then the code exchanged at the token endpoint with the PKCE verifier.
 */
export async function exchangeCode(client: TokenClient, parameters: URLSearchParams, state: string, redirectUri: string, codeVerifier: string | null): Promise<oauth.TokenEndpointResponse> {
  const callback = oauth.validateAuthResponse(client.as, client.client, parameters, state)
  const response = await oauth.authorizationCodeGrantRequest(client.as, client.client, client.clientAuth, callback, redirectUri, codeVerifier ?? oauth.nopkce, client.options)
  return oauth.processAuthorizationCodeResponse(client.as, client.client, response)
}

/** The refresh token grant (RFC 6749 §6). */
export async function refreshTokens(client: TokenClient, refreshToken: string): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.refreshTokenGrantRequest(client.as, client.client, client.clientAuth, refreshToken, client.options)
  return oauth.processRefreshTokenResponse(client.as, client.client, response)
}

/** The token fields of `auth_data` (vendors/fields.ts `oauthTokenFields`). */
export type TokenFields = { access_token: string; refresh_token?: string; expires_at?: string }

/**
 * A token response as `auth_data`'s token fields. `expires_at` from `expires_in` (absent: the token
 * has no known expiry); on a refresh that issued no new refresh token, the old one stays (RFC 6749 §6).
 */
export function tokenFields(tokens: oauth.TokenEndpointResponse, now: Date, previousRefreshToken?: string): TokenFields {
  const refreshToken = tokens.refresh_token ?? previousRefreshToken
  return {
    access_token: tokens.access_token,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(tokens.expires_in !== undefined && tokens.expires_in > 0 ? { expires_at: new Date(now.getTime() + tokens.expires_in * 1000).toISOString() } : {}),
  }
}

/** `auth_data` with the token fields replaced by these (an absent one is removed). */
export function withTokens(auth: Record<string, unknown>, tokens: TokenFields): Record<string, unknown> {
  const { access_token: _access, refresh_token: _refresh, expires_at: _expires, ...rest } = auth
  return { ...rest, ...tokens }
}

/**
 * What went wrong talking OAuth with a vendor. `refused`: the vendor's verdict on the grant or the
 * client (an OAuth error answer of 400/401: `invalid_grant`, `invalid_client`, …; an authorization
 * the user declined). `unavailable`: anything else (the network, a timeout, a 5xx, an answer
 * outside RFC 6749), which says nothing about the credentials.
 */
export class OAuthFailure extends Error {
  override name = 'OAuthFailure'
  readonly kind: 'refused' | 'unavailable'
  readonly reason: string
  constructor(kind: 'refused' | 'unavailable', reason: string, options?: { cause?: unknown }) {
    super(reason, options)
    this.kind = kind
    this.reason = reason
  }
}

/** OAuth error codes that are a passing state of the vendor, not a verdict (RFC 6749 §4.1.2.1, RFC 8628). */
const PASSING = new Set(['temporarily_unavailable', 'server_error', 'slow_down'])

export function classifyFailure(error: unknown): OAuthFailure {
  if (error instanceof OAuthFailure) return error
  if (error instanceof oauth.AuthorizationResponseError) {
    return new OAuthFailure(PASSING.has(error.error) ? 'unavailable' : 'refused', oauthReason(error.error, error.error_description), { cause: error })
  }
  if (error instanceof oauth.ResponseBodyError) {
    const verdict = (error.status === 400 || error.status === 401) && !PASSING.has(error.error)
    return new OAuthFailure(verdict ? 'refused' : 'unavailable', `${oauthReason(error.error, error.error_description)}, HTTP ${error.status}`, { cause: error })
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // 401 with a challenge: the client's authentication (its id or secret) was refused.
    const challenge = error.cause[0]
    const reason = challenge ? oauthReason(challenge.parameters.error ?? `${challenge.scheme} authentication refused`, challenge.parameters.error_description) : 'the client authentication was refused'
    return new OAuthFailure(error.status === 401 ? 'refused' : 'unavailable', `${reason}, HTTP ${error.status}`, { cause: error })
  }
  if (error instanceof oauth.OperationProcessingError) {
    // Some vendors (GitHub) answer an OAuth error with HTTP 200: a body with `error` and no token.
    const body = (error.cause as { body?: unknown } | undefined)?.body
    const bodyError = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).error : undefined
    if (typeof bodyError === 'string' && bodyError !== '') {
      const description = (body as Record<string, unknown>).error_description
      return new OAuthFailure(PASSING.has(bodyError) ? 'unavailable' : 'refused', oauthReason(bodyError, typeof description === 'string' ? description : undefined), { cause: error })
    }
    const status = error.cause instanceof Response ? ` (HTTP ${error.cause.status})` : ''
    return new OAuthFailure('unavailable', `answered outside OAuth 2.0: ${error.message}${status}`, { cause: error })
  }
  if (error instanceof oauth.UnsupportedOperationError) return new OAuthFailure('unavailable', `answered outside what Worken supports: ${error.message}`, { cause: error })
  const message = error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error)
  return new OAuthFailure('unavailable', `could not be reached: ${message}`, { cause: error })
}

function oauthReason(code: string, description: string | undefined): string {
  return clip(description ? `${description} (${code})` : code)
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat
}

