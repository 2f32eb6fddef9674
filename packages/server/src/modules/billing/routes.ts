import { createRoute, z } from '@hono/zod-openapi'
import { Hono } from 'hono'
import { access } from '../../platform/http/access.ts'
import { totalHeader } from '../../platform/http/paging.ts'
import type { AppEnv } from '../../platform/http/context.ts'
import { createRouter, errorResponses, jsonBody, jsonContent, listContent } from '../../platform/http/router.ts'
import { AppError } from '../../platform/errors.ts'
import { toTransaction, type Ledger, type Tariff } from './ledger.ts'
import { ForgedNotification } from './invoices/providers/provider.ts'
import type { InvoiceService } from './invoices/service.ts'
import {
  BalanceSchema, BillingAccountSchema, CreatedInvoiceSchema, CreateInvoiceBody, GrantBody, InvoiceParams, InvoiceSchema,
  LedgerPageSchema, OfferSchema, SetTariffBody, TransactionPageSchema, TransactionQuery, TransactionSchema,
} from './schemas.ts'

const tags = ['Billing']

export type BillingRouteServices = { ledger: Ledger; invoices: InvoiceService }

const getAccount = createRoute({
  ...access('member'),
  method: 'get', path: '/billing/account', operationId: 'billing.account.get', tags, summary: 'Get the billing account',
  description: "The organization's account: its tariff, credits and bonus (docs/billing.md). Every project of the organization shares it.",
  responses: { 200: jsonContent(BillingAccountSchema, 'The account') },
})

const getBalance = createRoute({
  ...access('member'),
  method: 'get', path: '/billing/balance', operationId: 'billing.balance.get', tags, summary: 'Get the balance',
  responses: { 200: jsonContent(BalanceSchema, 'Credits and bonus now') },
})

const listTransactions = createRoute({
  ...access('member'),
  method: 'get', path: '/billing/transactions', operationId: 'billing.transactions.list', tags, summary: 'List transactions',
  description: 'Charges, top-ups, bonuses and refunds, newest first.',
  request: { query: TransactionQuery },
  responses: { 200: jsonContent(TransactionPageSchema, 'A page of transactions and how many there are'), ...errorResponses(422) },
})

const listInvoices = createRoute({
  ...access('member'),
  method: 'get', path: '/billing/invoices', operationId: 'billing.invoices.list', tags, summary: 'List invoices',
  description: 'Newest first. A pending invoice past its `expires_at` is shown (and stays) `cancelled`.',
  responses: { 200: listContent(InvoiceSchema, 'Every invoice of the organization') },
})

const createInvoice = createRoute({
  ...access('admin'),
  method: 'post', path: '/billing/invoices', operationId: 'billing.invoices.create', tags, summary: 'Top up: create an invoice',
  description: 'A pending invoice for an offer, and where to pay it. Paying it adds its credits once (and, for a plan, moves `tariff` and `subscription_until`), however many times the payment provider says so.',
  request: { body: jsonBody(CreateInvoiceBody) },
  responses: { 200: jsonContent(CreatedInvoiceSchema, 'The invoice and its payment page'), ...errorResponses(400, 403, 422, 502) },
})

const getInvoice = createRoute({
  ...access('member'),
  method: 'get', path: '/billing/invoices/{invoice_id}', operationId: 'billing.invoices.get', tags, summary: 'Get an invoice (extension)',
  request: { params: InvoiceParams },
  responses: { 200: jsonContent(InvoiceSchema, 'The invoice'), ...errorResponses(404) },
})

const listOffers = createRoute({
  ...access('member'),
  method: 'get', path: '/billing/offers', operationId: 'billing.offers.list', tags, summary: 'List offers',
  description: 'Subscription plans and one-time top-ups, as configured (`WORKEN_BILLING_OFFERS_FILE`).',
  responses: { 200: jsonContent(z.array(OfferSchema), 'The offers') },
})

export const billingRoutes = createRouter<BillingRouteServices>()
  .openapi(getAccount, async (c) => c.json(await c.get('services').ledger.account(c.get('principal').organizationId), 200))
  .openapi(getBalance, async (c) => c.json(await c.get('services').ledger.balance(c.get('principal').organizationId), 200))
  .openapi(listTransactions, async (c) => c.json(await c.get('services').ledger.transactions(c.get('principal').organizationId, c.req.valid('query')), 200))
  .openapi(listInvoices, async (c) => {
    const invoices = await c.get('services').invoices.list(c.get('principal').organizationId)
    return c.json(invoices, 200, totalHeader({ data: invoices, total: invoices.length }))
  })
  .openapi(createInvoice, async (c) => {
    const principal = c.get('principal')
    const body = c.req.valid('json')
    const invoice = await c.get('services').invoices.create(principal.organizationId, principal.projectId, { offerId: body.offer_id, credits: body.credits }, actorOf(principal))
    return c.json({ invoice, payment_url: invoice.payment_url }, 200)
  })
  .openapi(getInvoice, async (c) => c.json(await c.get('services').invoices.get(c.get('principal').organizationId, c.req.valid('param').invoice_id), 200))
  .openapi(listOffers, (c) => {
    const { currency, offers } = c.get('services').invoices.catalog
    return c.json(offers.map((offer) => ({
      id: offer.id, name: offer.name, price: offer.price, credits: offer.credits, description: offer.description, currency, kind: offer.kind,
      tariff: offer.tariff ?? null, period_days: offer.period_days ?? null, custom: offer.custom ?? null,
    })), 200)
  })

const adminTags = ['Billing administration']

const grantBonus = createRoute({
  ...access('admin'),
  method: 'post', path: '/billing/bonus', operationId: 'billing.bonus.create', tags: adminTags, summary: 'Grant bonus credits (internal API)',
  request: { body: jsonBody(GrantBody) },
  responses: { 200: jsonContent(TransactionSchema, 'The bonus transaction (the first one again on a replayed idempotency key)'), ...errorResponses(400, 403, 409, 422) },
})

const refund = createRoute({
  ...access('admin'),
  method: 'post', path: '/billing/refunds', operationId: 'billing.refunds.create', tags: adminTags, summary: 'Refund credits (internal API)',
  request: { body: jsonBody(GrantBody) },
  responses: { 200: jsonContent(TransactionSchema, 'The refund transaction'), ...errorResponses(400, 403, 409, 422) },
})

const setTariff = createRoute({
  ...access('admin'),
  method: 'post', path: '/billing/tariff', operationId: 'billing.tariff.update', tags: adminTags, summary: 'Change the tariff (internal API)',
  request: { body: jsonBody(SetTariffBody) },
  responses: { 200: jsonContent(BillingAccountSchema, 'The account after the change'), ...errorResponses(400, 403, 422) },
})

const listLedger = createRoute({
  ...access('admin'),
  method: 'get', path: '/billing/ledger', operationId: 'billing.ledger.list', tags: adminTags, summary: "List the organization's ledger (internal API)",
  description: 'Every transaction, newest first, with who did it (`actor`), its idempotency key and metadata.',
  request: { query: TransactionQuery },
  responses: { 200: jsonContent(LedgerPageSchema, 'A page of the ledger'), ...errorResponses(403, 422) },
})

const markPaid = createRoute({
  ...access('admin'),
  method: 'post', path: '/billing/invoices/{invoice_id}/mark-paid', operationId: 'billing.invoices.markPaid', tags: adminTags, summary: 'Mark an invoice paid (internal API)',
  description: 'For the `manual` provider (or a payment confirmed outside the provider): the invoice is paid and its credits granted, once.',
  request: { params: InvoiceParams },
  responses: { 200: jsonContent(InvoiceSchema, 'The invoice'), ...errorResponses(403, 404) },
})

const cancelInvoice = createRoute({
  ...access('admin'),
  method: 'post', path: '/billing/invoices/{invoice_id}/cancel', operationId: 'billing.invoices.cancel', tags: adminTags, summary: 'Cancel a pending invoice (internal API)',
  request: { params: InvoiceParams },
  responses: { 200: jsonContent(InvoiceSchema, 'The invoice (a paid one stays paid)'), ...errorResponses(403, 404) },
})

/** Billing administration: the internal API only, so a project key can never grant itself credits. */
export const billingAdminRoutes = createRouter<BillingRouteServices>()
  .openapi(grantBonus, async (c) => c.json(await grant(c.get('services').ledger, c.get('principal'), 'bonus', c.req.valid('json')), 200))
  .openapi(refund, async (c) => c.json(await grant(c.get('services').ledger, c.get('principal'), 'refund', c.req.valid('json')), 200))
  .openapi(setTariff, async (c) => {
    const principal = c.get('principal')
    const body = c.req.valid('json')
    const ledger = c.get('services').ledger
    await ledger.setTariff(principal.organizationId, body.tariff, body.subscription_until ? new Date(body.subscription_until) : null, actorOf(principal))
    return c.json(await ledger.account(principal.organizationId), 200)
  })
  .openapi(listLedger, async (c) => c.json(await c.get('services').ledger.history(c.get('principal').organizationId, c.req.valid('query')), 200))
  .openapi(markPaid, async (c) => {
    const principal = c.get('principal')
    return c.json((await c.get('services').invoices.markPaid(c.req.valid('param').invoice_id, actorOf(principal), principal.organizationId)).invoice, 200)
  })
  .openapi(cancelInvoice, async (c) => {
    const principal = c.get('principal')
    return c.json((await c.get('services').invoices.cancel(c.req.valid('param').invoice_id, actorOf(principal), principal.organizationId)).invoice, 200)
  })

/**
 * `POST /billing/webhooks/:provider`: the payment provider's notifications. No API key:
 * the provider's signature is the credential, so it is mounted before the key check,
 * and kept out of the OpenAPI document (it is for the provider, not for API clients).
 */
export const paymentWebhookRoutes = new Hono<AppEnv<BillingRouteServices>>().post('/billing/webhooks/:provider', async (c) => {
  const invoices = c.get('services').invoices
  const provider = invoices.paymentProvider
  if (c.req.param('provider') !== provider.name || !provider.notifies) throw AppError.notFound('Payment provider', c.req.param('provider'))
  const body = await c.req.text()
  let notice
  try {
    notice = await provider.readNotification({ headers: c.req.raw.headers, body })
  } catch (error) {
    if (!(error instanceof ForgedNotification)) throw error
    c.get('logger').warn({ requestId: c.get('requestId'), reason: error.message }, 'a payment notification failed its signature check')
    throw new AppError('malformed_request', `The notification's signature does not verify: ${error.message}`)
  }
  if (notice) await invoices.settle(notice)
  return c.json({ received: true }, 200)
})

function actorOf(principal: { apiKeyId: string | null; userId: string | null }): string {
  return principal.userId ? `user:${principal.userId}` : `key:${principal.apiKeyId}`
}

async function grant(ledger: Ledger, principal: { organizationId: string; apiKeyId: string | null; userId: string | null }, type: 'bonus' | 'refund', body: z.infer<typeof GrantBody>) {
  const { transaction } = await ledger.post({
    organizationId: principal.organizationId,
    type,
    amount: body.credits,
    description: body.description,
    // Without a key of the caller's, each request is its own grant.
    idempotencyKey: body.idempotency_key ? `admin:${body.idempotency_key}` : `admin:${crypto.randomUUID()}`,
    actor: actorOf(principal),
  })
  return toTransaction(transaction)
}
