import { amocrm } from './amocrm.ts'
import { avito } from './avito.ts'
import { bitrix } from './bitrix.ts'
import { github } from './github.ts'
import { google } from './google.ts'
import { max } from './max.ts'
import { ok } from './ok.ts'
import { sber } from './sber.ts'
import { telegram } from './telegram.ts'
import { INTEGRATION_VENDORS, type IntegrationVendor, type VendorDefinition } from './types.ts'
import { vk } from './vk.ts'
import { whatsapp } from './whatsapp.ts'
import { yandex } from './yandex.ts'
import { worken } from './worken.ts'

export { avitoAccessToken } from './avito.ts'
export { newWidgetId } from './worken.ts'
export * from './types.ts'

/**
 * The 13 vendors of the spec's `IntegrationVendor` (docs/integrations.md). Validate `auth_data` with
 * `VENDORS[vendor].auth` and `settings` with `VENDORS[vendor].settings` (strict: a 422 names the
 * field); call `profile()` with `auth_data` as the schema outputs it (parse what is stored first) and
 * `{ apiUrl: vendorApiUrl(vendor, env), fetch }`. Bitrix24's `domain` is a host the user chooses:
 * give `profile()` a `fetch` that refuses private addresses, as webhook deliveries do.
 *
 * OAuth vendors (`oauth` set): `authorizationUrl()` may already carry query parameters of the
 * vendor's (Google's `access_type=offline`): add `response_type`, `client_id`, `redirect_uri`,
 * `scope`, `state` and the PKCE challenge with `URL.searchParams.set`, never by concatenation.
 */
export const VENDORS: Record<IntegrationVendor, VendorDefinition> = {
  telegram,
  whatsapp,
  vk,
  ok,
  max,
  github,
  google,
  yandex,
  amocrm,
  bitrix,
  avito,
  sber,
  worken,
}

/** The variable that replaces a vendor's API URL: `WORKEN_TELEGRAM_API_URL`, … */
export function apiUrlVariable(vendor: IntegrationVendor): string {
  return `WORKEN_${vendor.toUpperCase()}_API_URL`
}

/** Every `WORKEN_<VENDOR>_API_URL`, in the spec's order of vendors. */
export const API_URL_VARIABLES = INTEGRATION_VENDORS.map(apiUrlVariable)

/**
 * The API URL of a vendor: `WORKEN_<VENDOR>_API_URL` when set (an empty value counts as unset),
 * without trailing slashes, else the vendor's default. The value must be an http(s) URL without
 * credentials, query or fragment; amoCRM's and Bitrix24's may hold the `{subdomain}`/`{domain}`
 * placeholder their defaults have (filled from `auth_data`). A bad value throws an error naming the variable (check every
 * vendor at start-up to fail early).
 */
export function vendorApiUrl(vendor: IntegrationVendor, env: Record<string, string | undefined>): string {
  const name = apiUrlVariable(vendor)
  const value = env[name]?.trim()
  if (!value) return VENDORS[vendor].defaultApiUrl
  const apiUrl = value.replace(/\/+$/, '')
  // The placeholder of the vendor's default (amoCRM's {subdomain}, Bitrix24's {domain}) may stay; no other.
  const placeholders = new Set(VENDORS[vendor].defaultApiUrl.match(/\{\w+\}/g) ?? [])
  const filled = apiUrl.replace(/\{\w+\}/g, (placeholder) => (placeholders.has(placeholder) ? 'placeholder' : placeholder))
  let url: URL | undefined
  try {
    url = /[{}]/.test(filled) ? undefined : new URL(filled)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    const allowed = placeholders.size ? ` (${[...placeholders].join(', ')} may stand for the account's part)` : ''
    throw new Error(`${name} must be an http(s) URL without credentials, query or fragment${allowed}; got ${JSON.stringify(value)}`)
  }
  return apiUrl
}
