import type { z } from 'zod'

/** The spec's `IntegrationVendor`. */
export const INTEGRATION_VENDORS = ['telegram', 'whatsapp', 'vk', 'ok', 'max', 'github', 'google', 'yandex', 'amocrm', 'bitrix', 'avito', 'sber', 'worken'] as const
export type IntegrationVendor = (typeof INTEGRATION_VENDORS)[number]

/**
 * What a vendor is to Worken (docs/integrations.md): a live messaging `channel` (its users talk to
 * a bot), a `crm` (leads and contacts), or a connected `account` (an identity whose API tools use).
 */
export type VendorKind = 'channel' | 'crm' | 'account'

/** The spec's `IntegrationProfile`: the identity the stored credentials authenticate. */
export type IntegrationProfile = { id: string; name: string; username?: string; avatar_url?: string }

/** How a vendor adapter reaches its vendor: the API root (`WORKEN_<VENDOR>_API_URL`, for tests a local double) and fetch. */
export type VendorContext = {
  /** The vendor's API base URL, without a trailing slash. */
  apiUrl: string
  fetch: typeof globalThis.fetch
  signal?: AbortSignal
}

/**
 * The vendor refused the credentials (an invalid or revoked token, a wrong secret): the integration
 * goes to status `error` with `reason`, and the project hears `integration.auth_lost`. Any other
 * failure (the vendor unreachable, a 5xx) is not a verdict on the credentials and must not be this.
 */
export class CredentialsRefused extends Error {
  override name = 'CredentialsRefused'
  readonly reason: string
  constructor(reason: string) {
    super(reason)
    this.reason = reason
  }
}

/** The vendor answered, but not as documented, or could not be reached: a 502-class failure, not the caller's. */
export class VendorUnavailable extends Error {
  override name = 'VendorUnavailable'
}

/** OAuth 2 endpoints of a vendor that connects through OAuth (amoCRM, Bitrix24, Google, …). */
export type VendorOAuth = {
  /** Where the user authorizes; may depend on `auth_data` (amoCRM and Bitrix24 live on the customer's own subdomain). */
  authorizationUrl(auth: Record<string, unknown>, apiUrl: string): string
  tokenUrl(auth: Record<string, unknown>, apiUrl: string): string
  scopes: string[]
  /** PKCE (S256) is used unless the vendor refuses it. */
  pkce: boolean
  /**
   * The issuer the vendor's ID tokens and RFC 9207 `iss` callback parameter name (OpenID Connect
   * vendors); the authorization URL's origin when not given (Google's `https://accounts.google.com`).
   */
  issuer?(auth: Record<string, unknown>, apiUrl: string): string
}

/**
 * One vendor, as the Integrations API sees it. Credentials (`auth`) are validated at create and
 * update, stored encrypted, never returned; `settings` are the vendor's own options.
 */
export type VendorDefinition<Auth extends Record<string, unknown> = Record<string, unknown>, Settings extends Record<string, unknown> = Record<string, unknown>> = {
  vendor: IntegrationVendor
  kind: VendorKind
  /** The API root used when `WORKEN_<VENDOR>_API_URL` is not set. */
  defaultApiUrl: string
  /** `auth_data` as created or updated: strict, each field named in a 422 when wrong. */
  auth: z.ZodType<Auth>
  settings: z.ZodType<Settings>
  oauth?: VendorOAuth
  /** Calls the vendor with the credentials: the identity, or `CredentialsRefused`. */
  profile(auth: Auth, context: VendorContext): Promise<IntegrationProfile>
}
