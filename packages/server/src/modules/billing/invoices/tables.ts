import { sql } from 'drizzle-orm'
import { check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt } from '../../../platform/db/columns.ts'
import { organizations } from '../../projects/index.ts'

/**
 * What an organization was asked to pay, and what became of it. `status` moves
 * `pending` → `paid` | `cancelled` (and `cancelled` → `paid` when money arrives
 * after all); the top-up it buys is posted once, keyed by the invoice id.
 */
export const invoices = pgTable('invoices', {
  id: text('id').primaryKey(),
  organizationId: text('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
  /** The project whose key (or member) asked for it. */
  projectId: text('project_id'),
  offerId: text('offer_id').notNull(),
  status: text('status').notNull().default('pending'),
  /** Minor units of `currency`. */
  amount: integer('amount').notNull(),
  currency: text('currency').notNull(),
  credits: integer('credits').notNull(),
  /** For a subscription: the tariff it buys and for how long. */
  tariff: text('tariff'),
  periodDays: integer('period_days'),
  provider: text('provider').notNull(),
  providerReference: text('provider_reference'),
  paymentUrl: text('payment_url'),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  paidAt: timestamp('paid_at', { withTimezone: true, mode: 'date' }),
  cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }),
  /** Who or what moved it last: `payment:stripe`, `user:<id>`, `expiry`. */
  settledBy: text('settled_by'),
  createdBy: text('created_by'),
  createdAt: createdAt(),
}, (t) => [
  index('invoices_organization_idx').on(t.organizationId, t.createdAt),
  uniqueIndex('invoices_provider_reference_key').on(t.provider, t.providerReference),
  check('invoices_status_check', sql`${t.status} in ('pending', 'paid', 'cancelled')`),
])
