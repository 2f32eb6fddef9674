import { sql } from 'drizzle-orm'
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { createdAt } from '../../platform/db/columns.ts'
import { organizations } from '../projects/index.ts'

/** The organization's plan and where its low-balance notice stands; its money is in `ledger_accounts`. */
export const billingAccounts = pgTable('billing_accounts', {
  organizationId: text('organization_id').primaryKey().references(() => organizations.id, { onDelete: 'cascade' }),
  tariff: text('tariff').notNull(),
  subscriptionUntil: timestamp('subscription_until', { withTimezone: true, mode: 'date' }),
  /** Who set the tariff last (`user:<id>`, `payment:<provider>`, `system`); null: the default given at creation. */
  tariffSetBy: text('tariff_set_by'),
  /** Set when `billing.balance.low` was sent; cleared when the balance is back at or above the threshold. */
  lowBalanceNotified: boolean('low_balance_notified').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
}, (t) => [check('billing_accounts_tariff_check', sql`${t.tariff} in ('free', 'starter', 'pro', 'enterprise')`)])

/**
 * One balance: an organization's `credits` or `bonus`, or one of its system
 * accounts (`system:topups`, `system:bonuses`, `system:usage`), the other side
 * of every transfer. System accounts are per organization, so charges of two
 * organizations never wait on one shared row, and an organization's accounts
 * alone sum to zero.
 */
export const ledgerAccounts = pgTable('ledger_accounts', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  organizationId: text('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
  kind: text('kind').notNull(),
  /** The sum of the account's entries, kept with them under the row's lock. */
  balance: bigint('balance', { mode: 'number' }).notNull().default(0),
  version: integer('version').notNull().default(0),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('ledger_accounts_organization_kind_key').on(t.organizationId, t.kind),
  check('ledger_accounts_kind_check', sql`${t.kind} in ('credits', 'bonus', 'system:topups', 'system:bonuses', 'system:usage')`),
])

/** A transfer: what happened and why, once per idempotency key. Never updated or deleted by code. */
export const ledgerTransactions = pgTable('ledger_transactions', {
  id: text('id').primaryKey(),
  organizationId: text('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  amount: bigint('amount', { mode: 'number' }).notNull(),
  description: text('description').notNull(),
  idempotencyKey: text('idempotency_key').notNull(),
  /** Who did it: `user:<id>`, `system`, `payment:<provider>`. */
  actor: text('actor'),
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('ledger_transactions_idempotency_key').on(t.organizationId, t.idempotencyKey),
  index('ledger_transactions_organization_idx').on(t.organizationId, t.createdAt),
  check('ledger_transactions_type_check', sql`${t.type} in ('charge', 'topup', 'bonus', 'refund')`),
  check('ledger_transactions_amount_check', sql`${t.amount} > 0`),
])

/** One side of a transfer: a signed amount on one account, with the balance it found and left. */
export const ledgerEntries = pgTable('ledger_entries', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  transactionId: text('transaction_id').notNull().references(() => ledgerTransactions.id, { onDelete: 'cascade' }),
  accountId: bigint('account_id', { mode: 'number' }).notNull().references(() => ledgerAccounts.id, { onDelete: 'cascade' }),
  amount: bigint('amount', { mode: 'number' }).notNull(),
  balanceBefore: bigint('balance_before', { mode: 'number' }).notNull(),
  balanceAfter: bigint('balance_after', { mode: 'number' }).notNull(),
  createdAt: createdAt(),
}, (t) => [
  index('ledger_entries_account_idx').on(t.accountId),
  index('ledger_entries_transaction_idx').on(t.transactionId),
  check('ledger_entries_amount_check', sql`${t.amount} <> 0 and ${t.balanceAfter} = ${t.balanceBefore} + ${t.amount}`),
])
