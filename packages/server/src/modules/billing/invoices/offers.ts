import fs from 'node:fs'
import { z } from '@hono/zod-openapi'

import { TARIFFS } from '../ledger.ts'

const OfferConfig = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  /** `topup`: credits once; `subscription`: the tariff for `period_days`, with its credits. */
  kind: z.enum(['topup', 'subscription']),
  /** Price in minor units of the currency (cents, kopecks). For a custom top-up: per credit. */
  price: z.number().int().min(0),
  credits: z.number().int().min(0),
  tariff: z.enum(TARIFFS).optional(),
  period_days: z.number().int().min(1).max(3660).optional(),
  /** A top-up whose size the buyer picks (`credits` in `POST /billing/invoices`), priced `price` per credit. */
  custom: z.object({ min_credits: z.number().int().min(1), max_credits: z.number().int().min(1) }).optional(),
}).strict().superRefine((offer, ctx) => {
  if (offer.kind === 'subscription' && (!offer.tariff || !offer.period_days)) ctx.addIssue({ code: 'custom', message: 'a subscription needs tariff and period_days' })
  if (offer.kind === 'subscription' && offer.custom) ctx.addIssue({ code: 'custom', message: 'only a top-up can be custom' })
  if (offer.custom && offer.custom.min_credits > offer.custom.max_credits) ctx.addIssue({ code: 'custom', message: 'custom.min_credits is above custom.max_credits' })
})
export type Offer = z.infer<typeof OfferConfig>

const OffersFile = z.object({ currency: z.string().regex(/^[a-z]{3}$/), offers: z.array(OfferConfig).min(1) }).strict()
export type OfferCatalog = z.infer<typeof OffersFile>

/**
 * The offers when no file is configured: top-ups and the paid plans of the
 * overview's rate-limit table, in US cents. A deployment sets its own prices
 * with `WORKEN_BILLING_OFFERS_FILE` (the same JSON shape).
 */
export const DEFAULT_OFFERS: OfferCatalog = {
  currency: 'usd',
  offers: [
    { id: 'topup-1000', name: '1,000 credits', description: 'A one-time top-up.', kind: 'topup', price: 1000, credits: 1000 },
    { id: 'topup-10000', name: '10,000 credits', description: 'A one-time top-up, 10% off.', kind: 'topup', price: 9000, credits: 10000 },
    { id: 'topup-custom', name: 'Any amount', description: 'A one-time top-up of the credits you choose (100 to 1,000,000), 1 cent each.', kind: 'topup', price: 1, credits: 0, custom: { min_credits: 100, max_credits: 1_000_000 } },
    { id: 'starter-monthly', name: 'Starter', description: '300 requests a minute and 5,000 credits, for 30 days.', kind: 'subscription', price: 2900, credits: 5000, tariff: 'starter', period_days: 30 },
    { id: 'pro-monthly', name: 'Pro', description: '600 requests a minute and 20,000 credits, for 30 days.', kind: 'subscription', price: 9900, credits: 20000, tariff: 'pro', period_days: 30 },
  ],
}

export class OffersConfigError extends Error {}

/** Reads and checks an offers file; a bad file stops the start with a message naming the problem. */
export function loadOffers(file: string | undefined): OfferCatalog {
  if (!file) return DEFAULT_OFFERS
  let parsed: unknown
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (error) {
    throw new OffersConfigError(`WORKEN_BILLING_OFFERS_FILE (${file}) cannot be read as JSON: ${(error as Error).message}`)
  }
  const result = OffersFile.safeParse(parsed)
  if (!result.success) {
    throw new OffersConfigError(`WORKEN_BILLING_OFFERS_FILE (${file}): ${result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`)
  }
  const ids = new Set<string>()
  for (const offer of result.data.offers) {
    if (ids.has(offer.id)) throw new OffersConfigError(`WORKEN_BILLING_OFFERS_FILE (${file}): offer id '${offer.id}' appears twice`)
    ids.add(offer.id)
  }
  return result.data
}
