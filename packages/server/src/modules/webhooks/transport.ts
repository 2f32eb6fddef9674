import dns from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { isPublicAddress } from './address.ts'

/** Resolves a host name to its addresses (all families). Injected in tests. */
export type Resolver = (hostname: string) => Promise<string[]>

export const systemResolver: Resolver = async (hostname) => (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address)

export type TransportOptions = {
  /** Lets webhooks reach loopback/private addresses and use plain http (self-hosted and test setups). */
  allowPrivate: boolean
  timeoutMs: number
  resolve: Resolver
}

export type AttemptResult =
  | { ok: true; status: number; body: string; latencyMs: number; retryAfter: string | null }
  | { ok: false; status: number | null; body: string | null; latencyMs: number; retryAfter: string | null; error: string }

/** Why a URL may not receive webhooks, or null; the same rules at registration and at delivery. */
export function urlProblem(url: URL, allowPrivate: boolean): string | null {
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) return allowPrivate ? 'must be an http(s) URL' : 'must be an https URL'
  if (url.username || url.password) return 'must not contain credentials'
  const host = bareHost(url.hostname)
  if (isIP(host) && !allowPrivate && !isPublicAddress(host)) return `points to a non-public address (${host})`
  return null
}

/** The addresses a host resolves to, refused when any of them is not public (unless allowed). */
export async function checkedAddresses(hostname: string, options: Pick<TransportOptions, 'allowPrivate' | 'resolve'>): Promise<string[]> {
  const host = bareHost(hostname)
  const addresses = isIP(host) ? [host] : await options.resolve(host)
  if (addresses.length === 0) throw new TransportError(`${host} does not resolve`)
  if (!options.allowPrivate) {
    const refused = addresses.find((address) => !isPublicAddress(address))
    // Which address it is stays unsaid: the message reaches the tenant (422, delivery log), and naming
    // it would make registration an oracle for the deployment's DNS.
    if (refused) throw new TransportError(`${host} resolves to a non-public address; refused`)
  }
  return addresses
}

class TransportError extends Error {}

const MAX_BODY_KEPT = 1024

/**
 * Keep-alive pools: consecutive deliveries to one endpoint reuse a connection.
 * A pooled socket is connected to an address that was checked when it was opened;
 * a new socket goes through the checking `lookup` of the request that opens it.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 30_000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 30_000 }),
}

/**
 * POSTs one webhook. The host is resolved and checked here, at delivery time,
 * and the connection goes to the address that was checked (no second lookup a
 * rebinding DNS could answer differently). Redirects are not followed; the
 * response body is read up to 1 KB for the delivery log.
 */
export async function postWebhook(target: string, body: string, headers: Record<string, string>, options: TransportOptions): Promise<AttemptResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return { ok: false, status: null, body: null, latencyMs: 0, retryAfter: null, error: 'the endpoint URL is not valid' }
  }
  const problem = urlProblem(url, options.allowPrivate)
  if (problem) return { ok: false, status: null, body: null, latencyMs: 0, retryAfter: null, error: `the URL ${problem}` }
  let addresses: string[]
  try {
    addresses = await checkedAddresses(url.hostname, options)
  } catch (error) {
    return { ok: false, status: null, body: null, latencyMs: elapsed(), retryAfter: null, error: (error as Error).message }
  }
  const address = addresses[0]!
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    const family = isIP(address)
    if ((lookupOptions as { all?: boolean }).all) (callback as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address, family }])
    else callback(null, address, family)
  }
  const client = url.protocol === 'https:' ? https : http
  return new Promise<AttemptResult>((resolve) => {
    let settled = false
    const finish = (result: AttemptResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
    }
    const request = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup,
      agent: agents[url.protocol as 'http:' | 'https:'],
    }, (response) => {
      const chunks: Buffer[] = []
      let kept = 0
      response.on('data', (chunk: Buffer) => {
        if (kept < MAX_BODY_KEPT) {
          chunks.push(chunk)
          kept += chunk.length
        }
      })
      const done = () => {
        const status = response.statusCode ?? 0
        const text = Buffer.concat(chunks).subarray(0, MAX_BODY_KEPT).toString('utf8')
        const retryAfter = typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : null
        if (status >= 200 && status < 300) finish({ ok: true, status, body: text, latencyMs: elapsed(), retryAfter })
        else finish({ ok: false, status, body: text, latencyMs: elapsed(), retryAfter, error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}` })
      }
      response.on('end', done)
      response.on('error', () => done())
    })
    const timer = setTimeout(() => {
      request.destroy()
      finish({ ok: false, status: null, body: null, latencyMs: elapsed(), retryAfter: null, error: `no answer within ${options.timeoutMs} ms` })
    }, options.timeoutMs)
    request.on('error', (error) => finish({ ok: false, status: null, body: null, latencyMs: elapsed(), retryAfter: null, error: connectionError(error, address, url.hostname) }))
    request.end(body)
  })
}

/**
 * A connection error for the delivery log, which the tenant reads: Node names the
 * address it connected to (`connect ECONNREFUSED 10.1.2.3:443`), which is the
 * address the host name resolved to. The host name the tenant gave stands in for it.
 */
function connectionError(error: NodeJS.ErrnoException, address: string, hostname: string): string {
  const message = error.message || error.code || 'the connection failed'
  return message.split(address).join(hostname)
}

/** `[::1]` → `::1`: URL keeps the brackets of an IPv6 host. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}
