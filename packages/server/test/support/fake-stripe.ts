import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A local double of the part of Stripe's API that Worken calls: `POST
 * /v1/checkout/sessions` (form-encoded, bearer secret key, `Idempotency-Key`),
 * answering a Checkout Session as Stripe documents it. It remembers sessions by
 * idempotency key, as Stripe does, so a retried create returns the same session.
 */
export type FakeStripe = {
  url: string
  secretKey: string
  /** The form fields of each create request, in order. */
  requests: Array<{ form: URLSearchParams; idempotencyKey: string | undefined }>
  /** Answer the next create with this HTTP error (Stripe's error body). */
  failNext(status: number, message: string): void
  close(): Promise<void>
}

export async function startFakeStripe(secretKey = 'sk_test_worken'): Promise<FakeStripe> {
  const requests: FakeStripe['requests'] = []
  const byKey = new Map<string, unknown>()
  let failure: { status: number; message: string } | undefined
  let counter = 0
  const server: Server = createServer(async (request, response) => {
    const body = await read(request)
    const send = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(value))
    }
    if (request.method !== 'POST' || request.url !== '/v1/checkout/sessions') return send(404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL' } })
    if (request.headers.authorization !== `Bearer ${secretKey}`) return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } })
    const form = new URLSearchParams(body)
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined
    requests.push({ form, idempotencyKey })
    if (failure) {
      const { status, message } = failure
      failure = undefined
      return send(status, { error: { type: 'api_error', message } })
    }
    if (idempotencyKey && byKey.has(idempotencyKey)) return send(200, byKey.get(idempotencyKey))
    counter += 1
    const id = `cs_test_${counter}`
    const session = {
      id,
      object: 'checkout.session',
      mode: form.get('mode'),
      status: 'open',
      payment_status: 'unpaid',
      client_reference_id: form.get('client_reference_id'),
      metadata: { invoice_id: form.get('metadata[invoice_id]') },
      amount_total: Number(form.get('line_items[0][price_data][unit_amount]')),
      currency: form.get('line_items[0][price_data][currency]'),
      expires_at: Number(form.get('expires_at')),
      url: `${fake.url}/c/pay/${id}`,
    }
    if (idempotencyKey) byKey.set(idempotencyKey, session)
    send(200, session)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const fake: FakeStripe = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secretKey,
    requests,
    failNext(status, message) {
      failure = { status, message }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
  return fake
}

/** A Checkout Session event as Stripe delivers it to a webhook endpoint. */
export function checkoutEvent(type: string, invoiceId: string, sessionId: string, paymentStatus = 'paid'): string {
  return JSON.stringify({
    id: `evt_${Math.random().toString(36).slice(2)}`,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: sessionId, object: 'checkout.session', client_reference_id: invoiceId, metadata: { invoice_id: invoiceId }, payment_status: paymentStatus } },
  })
}

async function read(request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) body += chunk
  return body
}
