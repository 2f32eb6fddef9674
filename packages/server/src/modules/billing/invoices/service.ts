import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm'
import type { Database } from '../../../platform/db/client.ts'
import { newId } from '../../../platform/db/ids.ts'
import { AppError } from '../../../platform/errors.ts'
import type { Ledger, Tariff } from '../ledger.ts'
import type { Offer, OfferCatalog } from './offers.ts'
import type { PaymentProvider } from './providers/provider.ts'
import { invoices } from './tables.ts'

/** What the invoices need of the ledger: a top-up posted once per key, and the tariff moved. */
export type LedgerPort = Pick<Ledger, 'post' | 'account' | 'setTariff'>

export type InvoiceRow = typeof invoices.$inferSelect

/** The spec's `Invoice`, with the extensions listed in docs/billing.md. */
export type Invoice = {
  id: string
  status: 'pending' | 'paid' | 'cancelled'
  amount: number
  currency: string
  credits: number
  offer_id: string
  payment_url: string | null
  expires_at: string | null
  paid_at: string | null
  created_at: string
}

export function toInvoice(row: InvoiceRow): Invoice {
  return {
    id: row.id,
    status: row.status as Invoice['status'],
    amount: row.amount,
    currency: row.currency,
    credits: row.credits,
    offer_id: row.offerId,
    payment_url: row.paymentUrl,
    expires_at: row.expiresAt?.toISOString() ?? null,
    paid_at: row.paidAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  }
}

/** A pending invoice nobody paid within this long is cancelled (a provider's own expiry may come sooner). */
const DEFAULT_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000

export class InvoiceService {
  private readonly db: Database
  private readonly ledger: LedgerPort
  private readonly provider: PaymentProvider
  readonly catalog: OfferCatalog
  private readonly returnUrl: string | null

  constructor(db: Database, ledger: LedgerPort, provider: PaymentProvider, catalog: OfferCatalog, options: { returnUrl?: string | null } = {}) {
    this.db = db
    this.ledger = ledger
    this.provider = provider
    this.catalog = catalog
    this.returnUrl = options.returnUrl ?? null
  }

  offers(): Offer[] {
    return this.catalog.offers
  }

  /**
   * A pending invoice for an offer, and the provider's payment for it. The row is
   * written first, so a provider that fails leaves a cancelled invoice, never a
   * payment page for an invoice we do not know.
   */
  async create(organizationId: string, projectId: string | null, request: { offerId: string; credits?: number | undefined }, actor: string): Promise<Invoice> {
    const offer = this.catalog.offers.find((candidate) => candidate.id === request.offerId)
    if (!offer) throw AppError.validation([{ path: 'offer_id', message: `No offer '${request.offerId}'; GET /billing/offers lists them` }])
    let credits = offer.credits
    let amount = offer.price
    if (offer.custom) {
      const wanted = request.credits
      if (wanted === undefined) throw AppError.validation([{ path: 'credits', message: `Offer '${offer.id}' is a custom top-up: say how many credits (${offer.custom.min_credits} to ${offer.custom.max_credits})` }])
      if (wanted < offer.custom.min_credits || wanted > offer.custom.max_credits) {
        throw AppError.validation([{ path: 'credits', message: `Must be ${offer.custom.min_credits} to ${offer.custom.max_credits} for offer '${offer.id}'` }])
      }
      credits = wanted
      amount = wanted * offer.price
    } else if (request.credits !== undefined && request.credits !== offer.credits) {
      throw AppError.validation([{ path: 'credits', message: `Offer '${offer.id}' has a fixed size (${offer.credits} credits); use a custom top-up offer for another amount` }])
    }
    const id = newId('inv')
    await this.db.insert(invoices).values({
      id,
      organizationId,
      projectId,
      offerId: offer.id,
      amount,
      currency: this.catalog.currency,
      credits,
      tariff: offer.kind === 'subscription' ? (offer.tariff ?? null) : null,
      periodDays: offer.kind === 'subscription' ? (offer.period_days ?? null) : null,
      provider: this.provider.name,
      expiresAt: new Date(Date.now() + DEFAULT_EXPIRY_MS),
      createdBy: actor,
    })
    let payment
    try {
      payment = await this.provider.createPayment({ invoiceId: id, amount, currency: this.catalog.currency, description: offer.name, returnUrl: this.returnUrl })
    } catch (error) {
      await this.db.update(invoices).set({ status: 'cancelled', cancelledAt: new Date(), settledBy: `payment:${this.provider.name}` }).where(eq(invoices.id, id))
      throw error
    }
    const [row] = await this.db
      .update(invoices)
      .set({ providerReference: payment.reference, paymentUrl: payment.paymentUrl, ...(payment.expiresAt ? { expiresAt: payment.expiresAt } : {}) })
      .where(eq(invoices.id, id))
      .returning()
    return toInvoice(row!)
  }

  /** The organization's invoices, newest first; pending ones past their expiry are cancelled on the way. */
  async list(organizationId: string): Promise<Invoice[]> {
    await this.expire(organizationId)
    const rows = await this.db.select().from(invoices).where(eq(invoices.organizationId, organizationId)).orderBy(desc(invoices.createdAt), desc(invoices.id))
    return rows.map(toInvoice)
  }

  async get(organizationId: string, invoiceId: string): Promise<Invoice> {
    await this.expire(organizationId)
    const [row] = await this.db.select().from(invoices).where(and(eq(invoices.organizationId, organizationId), eq(invoices.id, invoiceId)))
    if (!row) throw AppError.notFound('Invoice', invoiceId)
    return toInvoice(row)
  }

  /**
   * Money arrived: the invoice is paid and its credits (and, for a plan, its tariff)
   * granted, in one transaction. Idempotent however often and in whatever order the
   * news arrives: only a pending or cancelled invoice moves to paid (money that comes
   * after an expiry still counts), and the top-up is posted under the invoice's key.
   */
  async markPaid(invoiceId: string, actor: string, organizationId?: string): Promise<{ invoice: Invoice; changed: boolean }> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(invoices)
        .set({ status: 'paid', paidAt: new Date(), cancelledAt: null, settledBy: actor })
        .where(and(eq(invoices.id, invoiceId), inArray(invoices.status, ['pending', 'cancelled']), ...(organizationId ? [eq(invoices.organizationId, organizationId)] : [])))
        .returning()
      if (!row) return { invoice: await this.current(tx, invoiceId, organizationId), changed: false }
      await this.ledger.post({
        organizationId: row.organizationId,
        type: 'topup',
        amount: row.credits,
        description: row.tariff ? `Plan ${row.tariff} for ${row.periodDays} days (invoice ${row.id})` : `Top-up (invoice ${row.id})`,
        idempotencyKey: `invoice:${row.id}`,
        actor,
        metadata: { invoice_id: row.id, offer_id: row.offerId },
      }, tx)
      if (row.tariff && row.periodDays) {
        // A renewal extends the running subscription rather than restarting it.
        const account = await this.ledger.account(row.organizationId, tx)
        const running = account.subscription_until && account.tariff === row.tariff ? new Date(account.subscription_until) : null
        const from = running && running.getTime() > Date.now() ? running : new Date()
        await this.ledger.setTariff(row.organizationId, row.tariff as Tariff, new Date(from.getTime() + row.periodDays * 24 * 60 * 60 * 1000), actor, tx)
      }
      return { invoice: toInvoice(row), changed: true }
    })
  }

  /** The payment is off (expired, failed, withdrawn): only a pending invoice is cancelled; a paid one stays paid. */
  async cancel(invoiceId: string, actor: string, organizationId?: string): Promise<{ invoice: Invoice; changed: boolean }> {
    const [row] = await this.db
      .update(invoices)
      .set({ status: 'cancelled', cancelledAt: new Date(), settledBy: actor })
      .where(and(eq(invoices.id, invoiceId), eq(invoices.status, 'pending'), ...(organizationId ? [eq(invoices.organizationId, organizationId)] : [])))
      .returning()
    if (row) return { invoice: toInvoice(row), changed: true }
    return { invoice: await this.current(this.db, invoiceId, organizationId), changed: false }
  }

  /** A provider's notification, already read and verified by the provider. Unknown invoices are ignored. */
  async settle(notice: { invoiceId: string; outcome: 'paid' | 'cancelled' }): Promise<void> {
    const [row] = await this.db.select({ id: invoices.id, provider: invoices.provider }).from(invoices).where(eq(invoices.id, notice.invoiceId))
    if (!row || row.provider !== this.provider.name) return
    const actor = `payment:${this.provider.name}`
    if (notice.outcome === 'paid') await this.markPaid(row.id, actor)
    else await this.cancel(row.id, actor)
  }

  get paymentProvider(): PaymentProvider {
    return this.provider
  }

  private async current(db: Database, invoiceId: string, organizationId?: string): Promise<Invoice> {
    const [row] = await db.select().from(invoices).where(and(eq(invoices.id, invoiceId), ...(organizationId ? [eq(invoices.organizationId, organizationId)] : [])))
    if (!row) throw AppError.notFound('Invoice', invoiceId)
    return toInvoice(row)
  }

  private async expire(organizationId: string): Promise<void> {
    await this.db
      .update(invoices)
      .set({ status: 'cancelled', cancelledAt: sql`now()`, settledBy: 'expiry' })
      .where(and(eq(invoices.organizationId, organizationId), eq(invoices.status, 'pending'), lt(invoices.expiresAt, sql`now()`)))
  }
}
