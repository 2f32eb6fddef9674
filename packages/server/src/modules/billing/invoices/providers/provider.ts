/**
 * A payment provider: how an invoice becomes a page where someone pays, and how
 * the provider's word that they did (or that the payment is off) is told apart
 * from a forgery. One adapter per acquirer; the invoices service knows only this.
 */
export interface PaymentProvider {
  readonly name: string
  /** Whether it sends notifications to `POST /billing/webhooks/<name>` (a manual provider does not). */
  readonly notifies: boolean
  /** Opens a payment for an invoice; idempotent per invoice id (a retry opens no second payment). */
  createPayment(request: PaymentRequest): Promise<CreatedPayment>
  /**
   * Reads a notification the provider sent to `POST /billing/webhooks/<name>`.
   * Throws `ForgedNotification` when it is not provably from the provider; answers
   * null for notifications about something else (events we do not act on).
   */
  readNotification(notification: { headers: Headers; body: string }): Promise<PaymentNotice | null>
}

export type PaymentRequest = {
  invoiceId: string
  /** Minor units of `currency` (cents, kopecks). */
  amount: number
  currency: string
  description: string
  /** Where the payer returns after paying or giving up. */
  returnUrl: string | null
}

export type CreatedPayment = {
  /** The provider's id of the payment, for matching its notifications. */
  reference: string | null
  paymentUrl: string | null
  expiresAt: Date | null
}

/** What a notification says happened to an invoice's payment. */
export type PaymentNotice = {
  invoiceId: string
  outcome: 'paid' | 'cancelled'
  /** The provider's event id, for the log. */
  eventId: string
}

export class ForgedNotification extends Error {}
