import type { z } from 'zod'
import { CredentialsRefused, VendorUnavailable, type VendorContext } from './types.ts'

/** The answer of a vendor, read whole: its status, headers, text and (when the text is JSON) the parsed body. */
export type VendorAnswer = { status: number; headers: Headers; text: string; json: unknown }

/** How long one call to a vendor may take when the caller gave no signal of its own. */
const CALL_TIMEOUT_MS = 15_000
/** A profile answer is a few kilobytes; a longer one is not what the vendor documents. */
const MAX_ANSWER_BYTES = 1024 * 1024
/** The vendor's own words are kept in a reason, but not at any length. */
const MAX_REASON_CHARS = 300

/**
 * One HTTP call to a vendor. Whatever prevents an answer (the network, a timeout, a body cut off
 * or too long) is `VendorUnavailable`: not a verdict on the credentials. Redirects are not
 * followed: no vendor documents one for these calls, and a credential must not follow it elsewhere.
 */
export async function callVendor(context: VendorContext, vendor: string, url: string, init: RequestInit = {}): Promise<VendorAnswer> {
  const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS)
  const signal = context.signal ? AbortSignal.any([context.signal, timeout]) : timeout
  let response: Response
  try {
    response = await context.fetch(url, { ...init, redirect: 'manual', signal })
  } catch (error) {
    throw new VendorUnavailable(`${vendor} could not be reached: ${describe(error)}`, { cause: error })
  }
  let text: string
  try {
    text = await readCapped(response)
  } catch (error) {
    throw new VendorUnavailable(`${vendor}'s answer could not be read: ${describe(error)}`, { cause: error })
  }
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.byteLength
    if (size > MAX_ANSWER_BYTES) {
      await response.body.cancel().catch(() => {})
      throw new Error(`longer than ${MAX_ANSWER_BYTES} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ''
    return `${error.message}${cause}`
  }
  return String(error)
}

/**
 * Asks the vendor who the credentials belong to. `refusal` reads the vendor's documented refusal
 * from the answer (its reason, or undefined when the answer is not one); any other answer that is
 * not a 2xx in the documented `shape` is `VendorUnavailable`.
 */
export async function fetchIdentity<T>(
  context: VendorContext,
  request: {
    vendor: string
    url: string
    init?: RequestInit
    refusal: (answer: VendorAnswer) => string | undefined
    shape: z.ZodType<T>
  },
): Promise<T> {
  const answer = await callVendor(context, request.vendor, request.url, request.init)
  return readIdentity(answer, request)
}

/** The identity in an answer already received (see fetchIdentity). */
export function readIdentity<T>(answer: VendorAnswer, request: { vendor: string; refusal: (answer: VendorAnswer) => string | undefined; shape: z.ZodType<T> }): T {
  const reason = request.refusal(answer)
  if (reason !== undefined) throw refused(request.vendor, reason)
  if (answer.status < 200 || answer.status > 299) throw new VendorUnavailable(`${request.vendor} answered HTTP ${answer.status}${excerpt(answer)}`)
  const parsed = request.shape.safeParse(answer.json)
  if (!parsed.success) throw new VendorUnavailable(`${request.vendor} answered HTTP ${answer.status} in a shape its documentation does not describe`)
  return parsed.data
}

/** The vendor's refusal, in its own words (clipped). */
export function refused(vendor: string, reason: string): CredentialsRefused {
  return new CredentialsRefused(`${vendor} refused the credentials: ${clip(reason) || 'no reason given'}`)
}

/** An OAuth vendor's integration before the OAuth callback stored a token. */
export function notAuthorizedYet(): CredentialsRefused {
  return new CredentialsRefused('not authorized yet: start OAuth')
}

function excerpt(answer: VendorAnswer): string {
  const text = answer.text.trim()
  return text ? `: ${clip(text)}` : ''
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat
}

/** The first of `keys` (dotted paths) that holds a non-empty string in a JSON body. */
export function textAt(json: unknown, ...keys: string[]): string | undefined {
  for (const key of keys) {
    let value: unknown = json
    for (const part of key.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined
    if (typeof value === 'string' && value.trim()) return value.trim()
    if (typeof value === 'number') return String(value)
  }
  return undefined
}

/** The reason of an RFC 6749/6750 error body, else the HTTP status. */
export function oauthReason(answer: VendorAnswer): string {
  // RFC 6749 `error_description`, vendors' `{ error: { message } }` and `message`, RFC 7807 `detail`/`title`,
  // IBM API Connect gateways' `moreInformation`/`httpMessage`, then the bare OAuth `error` code.
  return textAt(answer.json, 'error_description', 'error.message', 'message', 'detail', 'moreInformation', 'title', 'httpMessage', 'error') ?? `HTTP ${answer.status}`
}

/**
 * A URL the vendor serves outside its API root (an OAuth page or token endpoint). With the default
 * API URL it is the vendor's own; with a replaced one (`WORKEN_<VENDOR>_API_URL`: a local double, a
 * proxy), it is the same path and query under that URL, so that one double serves every endpoint.
 */
export function besideApi(apiUrl: string, defaultApiUrl: string, vendorUrl: string): string {
  if (apiUrl === defaultApiUrl) return vendorUrl
  const url = new URL(vendorUrl)
  return `${apiUrl}${url.pathname}${url.search}`
}

/**
 * An API URL whose host depends on the account (`https://{subdomain}.amocrm.ru`,
 * `https://{domain}`), filled in. A replaced API URL without the placeholder is used as it is.
 */
export function fillApiUrl(apiUrl: string, values: Record<string, string>): string {
  return apiUrl.replace(/\{(\w+)\}/g, (placeholder, name: string) => (values[name] !== undefined ? values[name] : placeholder))
}
