import { checkedAddresses, type Resolver } from '../webhooks/index.ts'
import { VendorUnavailable } from './vendors/types.ts'

/**
 * The fetch vendor adapters call their vendors with. Some vendors live at an address the tenant
 * gives (a Bitrix24 portal's `domain`), so a tenant could aim the server at its own network (SSRF):
 * every host is resolved and refused when it is not public, by the same judgement as webhook URLs
 * (webhooks/address.ts), unless it is one the operator configured (`WORKEN_<VENDOR>_API_URL`, which
 * may well be a local proxy or a test double) or private targets are allowed
 * (`WORKEN_WEBHOOKS_ALLOW_PRIVATE`). Redirects are not followed (a public host could redirect inward).
 *
 * What this leaves open: the check resolves the name, then fetch resolves it again, so a DNS server
 * the tenant controls could answer differently the second time (rebinding). Webhook deliveries pin
 * the checked address; vendor calls do not yet (docs/integrations.md).
 */
export function vendorFetch(options: { trustedHosts: ReadonlySet<string>; allowPrivate: boolean; resolve: Resolver; fetch?: typeof globalThis.fetch }): typeof globalThis.fetch {
  const inner = options.fetch ?? globalThis.fetch
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (!options.trustedHosts.has(url.host)) {
      try {
        await checkedAddresses(url.hostname, { allowPrivate: options.allowPrivate, resolve: options.resolve })
      } catch (error) {
        throw new VendorUnavailable(error instanceof Error ? error.message : String(error))
      }
    }
    return inner(input, { ...init, redirect: 'manual' })
  }
}
