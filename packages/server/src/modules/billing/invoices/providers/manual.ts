import type { CreatedPayment, PaymentNotice, PaymentProvider, PaymentRequest } from './provider.ts'

/**
 * For self-hosters who take payment their own way (a bank transfer, a card
 * terminal): an invoice waits until an admin marks it paid or cancels it on the
 * internal API. Its payment page, if any, is `WORKEN_BILLING_MANUAL_URL` with
 * `{invoice_id}` filled in (instructions of the operator's); nothing calls out.
 */
export class ManualProvider implements PaymentProvider {
  readonly name = 'manual'
  readonly notifies = false
  private readonly urlTemplate: string | undefined

  constructor(urlTemplate?: string) {
    this.urlTemplate = urlTemplate
  }

  async createPayment(request: PaymentRequest): Promise<CreatedPayment> {
    const paymentUrl = this.urlTemplate ? this.urlTemplate.replaceAll('{invoice_id}', encodeURIComponent(request.invoiceId)) : null
    return { reference: null, paymentUrl, expiresAt: null }
  }

  /** Nobody outside notifies a manual payment: an admin's decision on the internal API is the notice. */
  async readNotification(): Promise<PaymentNotice | null> {
    return null
  }
}
