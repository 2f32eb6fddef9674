import { createHmac, timingSafeEqual } from 'node:crypto'
import { AppError } from '../../../../platform/errors.ts'
import { ForgedNotification, type CreatedPayment, type PaymentNotice, type PaymentProvider, type PaymentRequest } from './provider.ts'

export type StripeOptions = {
  /** `sk_live_…` / `sk_test_…`. */
  secretKey: string
  /** The endpoint's signing secret, `whsec_…`. */
  webhookSecret: string
  /** `https://api.stripe.com` (tests point it at a local double). */
  apiUrl: string
  /** Seconds a notification's signed timestamp may differ from now: Stripe's libraries use 300. */
  toleranceSeconds?: number
  fetch?: typeof fetch
}

/** How long a Checkout Session stays payable; Stripe allows 30 minutes to 24 hours. */
const SESSION_SECONDS = 24 * 60 * 60

/**
 * Stripe Checkout: an invoice is a Checkout Session in `payment` mode (its `url`
 * is the payment page); `checkout.session.completed` with `payment_status: paid`
 * (or `checkout.session.async_payment_succeeded`) pays it, `checkout.session.expired`
 * and `checkout.session.async_payment_failed` cancel it. Notifications are checked
 * against the `Stripe-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" with the endpoint secret>`, within a tolerance.
 */
export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe'
  readonly notifies = true
  private readonly options: StripeOptions

  constructor(options: StripeOptions) {
    this.options = options
  }

  async createPayment(request: PaymentRequest): Promise<CreatedPayment> {
    const form = new URLSearchParams({
      mode: 'payment',
      client_reference_id: request.invoiceId,
      'metadata[invoice_id]': request.invoiceId,
      'line_items[0][quantity]': '1',
      'line_items[0][price_data][currency]': request.currency,
      'line_items[0][price_data][unit_amount]': String(request.amount),
      'line_items[0][price_data][product_data][name]': request.description,
      expires_at: String(Math.floor(Date.now() / 1000) + SESSION_SECONDS),
    })
    if (request.returnUrl) {
      form.set('success_url', request.returnUrl)
      form.set('cancel_url', request.returnUrl)
    }
    let response: Response
    try {
      response = await (this.options.fetch ?? fetch)(`${this.options.apiUrl.replace(/\/+$/, '')}/v1/checkout/sessions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.secretKey}`,
          'content-type': 'application/x-www-form-urlencoded',
          // Stripe's own idempotency: a retried invoice opens the same session.
          'idempotency-key': `worken-invoice-${request.invoiceId}`,
        },
        body: form,
        signal: AbortSignal.timeout(15_000),
      })
    } catch {
      throw new AppError('vendor_unavailable', 'Stripe could not be reached; the invoice was not created')
    }
    const body = (await response.json().catch(() => null)) as { id?: unknown; url?: unknown; expires_at?: unknown; error?: { message?: unknown } } | null
    if (!response.ok || typeof body?.id !== 'string' || typeof body.url !== 'string') {
      const reason = typeof body?.error?.message === 'string' ? `: ${body.error.message}` : ''
      throw new AppError('vendor_unavailable', `Stripe refused the payment (HTTP ${response.status})${reason}`)
    }
    return { reference: body.id, paymentUrl: body.url, expiresAt: typeof body.expires_at === 'number' ? new Date(body.expires_at * 1000) : null }
  }

  async readNotification({ headers, body }: { headers: Headers; body: string }): Promise<PaymentNotice | null> {
    this.verify(headers.get('stripe-signature'), body)
    let event: { id?: unknown; type?: unknown; data?: { object?: { client_reference_id?: unknown; metadata?: { invoice_id?: unknown }; payment_status?: unknown } } }
    try {
      event = JSON.parse(body)
    } catch {
      throw new ForgedNotification('the body is not JSON')
    }
    const session = event.data?.object
    const invoiceId = session?.metadata?.invoice_id ?? session?.client_reference_id
    if (typeof event.id !== 'string' || typeof event.type !== 'string' || typeof invoiceId !== 'string') return null
    switch (event.type) {
      case 'checkout.session.completed':
        // Delayed methods (bank debits) complete unpaid; async_payment_succeeded follows.
        return session?.payment_status === 'paid' || session?.payment_status === 'no_payment_required' ? { invoiceId, outcome: 'paid', eventId: event.id } : null
      case 'checkout.session.async_payment_succeeded':
        return { invoiceId, outcome: 'paid', eventId: event.id }
      case 'checkout.session.expired':
      case 'checkout.session.async_payment_failed':
        return { invoiceId, outcome: 'cancelled', eventId: event.id }
      default:
        return null
    }
  }

  private verify(header: string | null, body: string): void {
    if (!header) throw new ForgedNotification('no Stripe-Signature header')
    const parts = header.split(',').map((part) => part.trim().split('=') as [string, string | undefined])
    const timestamp = Number(parts.find(([key]) => key === 't')?.[1])
    const signatures = parts.filter(([key, value]) => key === 'v1' && value).map(([, value]) => value!)
    if (!Number.isInteger(timestamp) || signatures.length === 0) throw new ForgedNotification('a malformed Stripe-Signature header')
    if (Math.abs(Date.now() / 1000 - timestamp) > (this.options.toleranceSeconds ?? 300)) throw new ForgedNotification('the signed timestamp is outside the tolerance')
    const expected = createHmac('sha256', this.options.webhookSecret).update(`${timestamp}.${body}`).digest()
    const matches = signatures.some((signature) => {
      const given = Buffer.from(signature, 'hex')
      return given.length === expected.length && timingSafeEqual(given, expected)
    })
    if (!matches) throw new ForgedNotification('no signature matches')
  }
}

/** A `Stripe-Signature` value for a body, as Stripe computes it (for tests and local doubles). */
export function stripeSignature(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}
