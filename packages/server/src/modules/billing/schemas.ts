import { z } from '@hono/zod-openapi'
import { idParam, safeText, timestamp } from '../../platform/http/fields.ts'
import { TARIFFS } from './ledger.ts'

export const TariffSchema = z.enum(TARIFFS).openapi('Tariff', { description: 'The plan: it sets the rate limit (overview, "Rate limits").' })

export const BillingAccountSchema = z
  .object({
    tariff: TariffSchema,
    credits: z.number().int().openapi({ description: 'The paid balance in credits; below zero when a reply outran it.' }),
    bonus: z.number().int().openapi({ description: 'Promotional credits, spent before `credits`.' }),
    subscription_until: timestamp().nullable(),
  })
  .openapi('BillingAccount', { example: { tariff: 'starter', credits: 4200, bonus: 300, subscription_until: '2027-01-03T12:00:00.000Z' } })

export const BalanceSchema = z
  .object({ credits: z.number().int(), bonus: z.number().int() })
  .openapi('Balance', { example: { credits: 4200, bonus: 300 } })

export const TransactionSchema = z
  .object({
    id: z.string(),
    type: z.enum(['charge', 'topup', 'bonus', 'refund']),
    amount: z.number().int().openapi({ description: 'Credits, always positive; `type` says which way they went.' }),
    description: z.string(),
    created_at: timestamp(),
  })
  .openapi('Transaction', { example: { id: 'txn_01jdq3v5k7m9p2r4t6w8y0a2c4', type: 'topup', amount: 1000, description: 'Top-up (invoice inv_01jdq3v5k7m9p2r4t6w8y0a2c4)', created_at: '2026-12-04T12:00:00.000Z' } })

export const TransactionPageSchema = z
  .object({ data: z.array(TransactionSchema), total: z.number().int().min(0) })
  .openapi('TransactionPage', {
    example: { data: [{ id: 'txn_01jdq3v5k7m9p2r4t6w8y0a2c4', type: 'charge', amount: 3, description: 'Reply msg_01jdq3v5k7m9p2r4t6w8y0a2c4 (openai/gpt-4o-mini)', created_at: '2026-12-04T12:00:00.000Z' }], total: 1 },
  })

export const TransactionQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(20).openapi({ description: 'At most this many transactions, 1–1000 (default 20).' }),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0).openapi({ description: 'Skip this many (default 0).' }),
})

export const InvoiceSchema = z
  .object({
    id: z.string(),
    status: z.enum(['pending', 'paid', 'cancelled']),
    amount: z.number().int().openapi({ description: 'The price, in minor units of `currency` (cents).' }),
    payment_url: z.string().nullable(),
    created_at: timestamp(),
    currency: z.string().openapi({ description: 'Extension: ISO 4217, lower case.' }),
    credits: z.number().int().openapi({ description: 'Extension: the credits it buys.' }),
    offer_id: z.string().openapi({ description: 'Extension.' }),
    expires_at: timestamp().nullable().openapi({ description: 'Extension: unpaid by then, it is cancelled.' }),
    paid_at: timestamp().nullable().openapi({ description: 'Extension.' }),
  })
  .openapi('Invoice', {
    example: {
      id: 'inv_01jdq3v5k7m9p2r4t6w8y0a2c4', status: 'pending', amount: 1000, payment_url: 'https://checkout.example.test/c/pay/cs_test_a1', created_at: '2026-12-04T12:00:00.000Z',
      currency: 'usd', credits: 1000, offer_id: 'topup-1000', expires_at: '2026-12-05T12:00:00.000Z', paid_at: null,
    },
  })

export const CreateInvoiceBody = z
  .strictObject({
    offer_id: z.string().min(1).max(64).openapi({ example: 'topup-1000' }),
    credits: z.number().int().min(1).max(1_000_000_000).optional().openapi({ description: 'For a custom top-up offer: how many credits.' }),
  })
  .openapi('CreateInvoiceBody', { example: { offer_id: 'topup-1000' } })

export const CreatedInvoiceSchema = z
  .object({ invoice: InvoiceSchema, payment_url: z.string().nullable().openapi({ description: 'Where to pay; null with the `manual` provider when no payment page is configured.' }) })
  .openapi('CreatedInvoice', {
    example: {
      invoice: {
        id: 'inv_01jdq3v5k7m9p2r4t6w8y0a2c4', status: 'pending', amount: 1000, payment_url: 'https://checkout.example.test/c/pay/cs_test_a1', created_at: '2026-12-04T12:00:00.000Z',
        currency: 'usd', credits: 1000, offer_id: 'topup-1000', expires_at: '2026-12-05T12:00:00.000Z', paid_at: null,
      },
      payment_url: 'https://checkout.example.test/c/pay/cs_test_a1',
    },
  })

export const OfferSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    price: z.number().int().openapi({ description: 'Minor units of `currency`; for a custom top-up, per credit.' }),
    credits: z.number().int(),
    description: z.string(),
    currency: z.string().openapi({ description: 'Extension.' }),
    kind: z.enum(['topup', 'subscription']).openapi({ description: 'Extension.' }),
    tariff: z.enum(TARIFFS).nullable().openapi({ description: 'Extension: the plan a subscription buys.' }),
    period_days: z.number().int().nullable().openapi({ description: 'Extension: how long a subscription lasts.' }),
    custom: z.object({ min_credits: z.number().int(), max_credits: z.number().int() }).nullable().openapi({ description: 'Extension: a top-up whose size the buyer picks.' }),
  })
  .openapi('Offer', {
    example: { id: 'topup-1000', name: '1,000 credits', price: 1000, credits: 1000, description: 'A one-time top-up.', currency: 'usd', kind: 'topup', tariff: null, period_days: null, custom: null },
  })

export const InvoiceParams = z.object({ invoice_id: idParam('invoice_id', 'inv_01jdq3v5k7m9p2r4t6w8y0a2c4') })

const credits = z.number().int().min(1).max(1_000_000_000)
const reason = safeText().min(1).max(500)

export const GrantBody = z
  .strictObject({
    credits,
    description: reason.openapi({ example: 'Welcome bonus' }),
    idempotency_key: z.string().min(1).max(255).optional().openapi({ description: 'A replay with the same key grants nothing more.' }),
  })
  .openapi('GrantBody', { example: { credits: 500, description: 'Welcome bonus' } })

export const SetTariffBody = z
  .strictObject({
    tariff: TariffSchema,
    subscription_until: z.iso.datetime({ offset: true }).nullable().optional().openapi({ description: 'Until when; null or absent: without end.' }),
  })
  .openapi('SetTariffBody', { example: { tariff: 'pro', subscription_until: '2027-01-01T00:00:00.000Z' } })

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    type: z.enum(['charge', 'topup', 'bonus', 'refund']),
    amount: z.number().int(),
    description: z.string(),
    created_at: timestamp(),
    actor: z.string().nullable().openapi({ description: 'Who did it: `user:<id>`, `key:<id>`, `payment:<provider>`, `system` (replies).' }),
    idempotency_key: z.string(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .openapi('LedgerEntry', {
    example: { id: 'txn_01jdq3v5k7m9p2r4t6w8y0a2c4', type: 'bonus', amount: 500, description: 'Welcome bonus', created_at: '2026-12-04T12:00:00.000Z', actor: 'user:usr_01jdq3v5k7m9p2r4t6w8y0a2c4', idempotency_key: 'admin:welcome', metadata: {} },
  })

export const LedgerPageSchema = z
  .object({ data: z.array(LedgerEntrySchema), total: z.number().int().min(0) })
  .openapi('LedgerPage', {
    example: {
      data: [{ id: 'txn_01jdq3v5k7m9p2r4t6w8y0a2c4', type: 'bonus', amount: 500, description: 'Welcome bonus', created_at: '2026-12-04T12:00:00.000Z', actor: 'user:usr_01jdq3v5k7m9p2r4t6w8y0a2c4', idempotency_key: 'admin:welcome', metadata: {} }],
      total: 1,
    },
  })
