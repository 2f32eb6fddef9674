import { createHmac } from 'node:crypto'

/** The spec's `x-worken-signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the secret as given. */
export function workenSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature: v1,<base64
 * HMAC-SHA256 of "<id>.<timestamp>.<body>">`. The key is the secret's bytes; a
 * `whsec_` secret is base64 after the prefix, as the Standard Webhooks
 * libraries read it, so their verifiers accept our signatures either way.
 */
export function standardSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}
