import { and, asc, count, desc, eq, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import { newId } from '../../platform/db/ids.ts'
import { AppError } from '../../platform/errors.ts'
import { billingAccounts, ledgerAccounts, ledgerTransactions } from './tables.ts'

// The plans are the platform's (rate limits read them before any module): one list for both.
import { TARIFFS, type Tariff } from '../../platform/http/plan-limits.ts'
export { TARIFFS, type Tariff }

export const TRANSACTION_TYPES = ['charge', 'topup', 'bonus', 'refund'] as const
export type TransactionType = (typeof TRANSACTION_TYPES)[number]

/** The kinds of an organization's ledger accounts: its two balances, then the other sides of its transfers. */
export const ACCOUNT_KINDS = ['credits', 'bonus', 'system:topups', 'system:bonuses', 'system:usage'] as const
export type AccountKind = (typeof ACCOUNT_KINDS)[number]

export type LedgerTransaction = typeof ledgerTransactions.$inferSelect

/** The spec's `Transaction`. */
export type Transaction = { id: string; type: TransactionType; amount: number; description: string; created_at: string }
/** The spec's `BillingAccount`. */
export type BillingAccount = { tariff: Tariff; credits: number; bonus: number; subscription_until: string | null }
export type Balance = { credits: number; bonus: number }

export type PostInput = {
  organizationId: string
  type: TransactionType
  /** Credits, a positive integer. */
  amount: number
  description: string
  /** A replay with the same key (in this organization) returns the first transaction and changes nothing. */
  idempotencyKey: string
  /** Who did it: `user:<id>`, `system`, `payment:<provider>`. */
  actor?: string | null
  metadata?: Record<string, unknown>
}

export type Posted = {
  transaction: LedgerTransaction
  replayed: boolean
  /** Balances after the transfer (now, for a replay). */
  balance: Balance
  /** Set when this transfer took the balance below the low-balance threshold (once until it is back above). */
  lowBalance?: { threshold: number }
}

/** A difference between the cached balances and the entries; empty when the ledger holds. */
export type LedgerProblem =
  | { kind: 'balance'; accountId: number; organizationId: string; accountKind: string; cached: number; entries: number }
  | { kind: 'unbalanced_transaction'; transactionId: string; sum: number }

export type LedgerOptions = {
  /** The tariff of a new organization (`WORKEN_DEFAULT_TARIFF`). */
  defaultTariff?: Tariff
  /** `billing.balance.low` fires when a charge takes credits + bonus below this (`WORKEN_BILLING_LOW_BALANCE`). */
  lowBalanceThreshold?: number
}

type LockedAccount = { id: number; kind: string; balance: number; tariff: string; notified: boolean }

/** Which accounts a transfer moves between (debit first) for each type; a charge is split in `legs`. */
const ROUTES: Record<Exclude<TransactionType, 'charge'>, { from: AccountKind; to: AccountKind }> = {
  topup: { from: 'system:topups', to: 'credits' },
  bonus: { from: 'system:bonuses', to: 'bonus' },
  refund: { from: 'system:usage', to: 'credits' },
}

/**
 * The credits ledger: append-only, double-entry, in integers. Every transfer
 * locks the organization's account rows (in id order, so two transfers never
 * wait on each other crosswise), writes one transaction and its entries (summing
 * to zero, each with the balance before and after) and moves the cached
 * balances with them. Works inside a caller's transaction when given one, so a
 * charge commits exactly with the reply it pays for.
 *
 * @example
 *   const ledger = new Ledger(database, { defaultTariff: 'free' })
 *   await ledger.post({ organizationId, type: 'topup', amount: 1000, description: 'Invoice inv_1', idempotencyKey: 'invoice:inv_1', actor: 'payment:manual' })
 *   await ledger.balance(organizationId) // { credits: 1000, bonus: 0 }
 */
export class Ledger {
  private readonly database: DatabaseHandle
  readonly defaultTariff: Tariff
  readonly lowBalanceThreshold: number

  constructor(database: DatabaseHandle, options: LedgerOptions = {}) {
    this.database = database
    this.defaultTariff = options.defaultTariff ?? 'enterprise'
    this.lowBalanceThreshold = options.lowBalanceThreshold ?? 100
  }

  private run<T>(tx: Database | undefined, work: (tx: Database) => Promise<T>): Promise<T> {
    return tx ? work(tx) : this.database.db.transaction((inner) => work(inner))
  }

  /**
   * Creates the organization's billing account (with the default tariff) and its
   * ledger accounts; does nothing for those that exist.
   *
   * @example
   *   await ledger.ensureAccount('org_…')
   */
  async ensureAccount(organizationId: string, tx?: Database): Promise<void> {
    const db = tx ?? this.database.db
    await db.insert(billingAccounts).values({ organizationId, tariff: this.defaultTariff }).onConflictDoNothing()
    await db.insert(ledgerAccounts).values(ACCOUNT_KINDS.map((kind) => ({ organizationId, kind }))).onConflictDoNothing()
  }

  /** Locks every account of the organization, in id order, creating them first when missing. */
  private async lockAccounts(tx: Database, organizationId: string): Promise<Map<string, LockedAccount>> {
    const select = () => tx
      .select({ id: ledgerAccounts.id, kind: ledgerAccounts.kind, balance: ledgerAccounts.balance, tariff: billingAccounts.tariff, notified: billingAccounts.lowBalanceNotified })
      .from(ledgerAccounts)
      .innerJoin(billingAccounts, eq(billingAccounts.organizationId, ledgerAccounts.organizationId))
      .where(eq(ledgerAccounts.organizationId, organizationId))
      .orderBy(asc(ledgerAccounts.id))
      .for('update', { of: ledgerAccounts })
    let rows = await select()
    if (rows.length < ACCOUNT_KINDS.length) {
      await this.ensureAccount(organizationId, tx)
      rows = await select()
    }
    return new Map(rows.map((row) => [row.kind, row]))
  }

  /**
   * Records a transfer, once per idempotency key: `topup` (system:topups →
   * credits), `bonus` (system:bonuses → bonus), `charge` (bonus first, then
   * credits, which may go below zero → system:usage), `refund` (system:usage →
   * credits). A replay returns the first transaction with `replayed: true`; the
   * same key with another type or amount is a `conflict`.
   *
   * @example
   *   const { transaction, replayed } = await ledger.post({ organizationId, type: 'charge', amount: 3, description: 'Reply msg_1', idempotencyKey: 'msg_1' }, tx)
   */
  async post(input: PostInput, tx?: Database): Promise<Posted> {
    validate(input)
    return this.run(tx, async (db) => {
      const accounts = await this.lockAccounts(db, input.organizationId)
      const balanceOf = (kind: AccountKind) => accounts.get(kind)!.balance
      const legs = legsOf(input.type, input.amount, balanceOf('bonus'))
      // The key's first use inserts; a replay inserts nothing and finds the first (the accounts'
      // lock, taken above, orders it after that first one's commit).
      const [transaction] = await db
        .insert(ledgerTransactions)
        .values({
          id: newId('txn'),
          organizationId: input.organizationId,
          type: input.type,
          amount: input.amount,
          description: input.description,
          idempotencyKey: input.idempotencyKey,
          actor: input.actor ?? null,
          metadata: input.metadata ?? {},
        })
        .onConflictDoNothing({ target: [ledgerTransactions.organizationId, ledgerTransactions.idempotencyKey] })
        .returning()
      if (!transaction) {
        const [existing] = await db
          .select()
          .from(ledgerTransactions)
          .where(and(eq(ledgerTransactions.organizationId, input.organizationId), eq(ledgerTransactions.idempotencyKey, input.idempotencyKey)))
        if (existing!.type !== input.type || existing!.amount !== input.amount) {
          throw AppError.conflict(`Idempotency key '${input.idempotencyKey}' was used for a ${existing!.type} of ${existing!.amount}`)
        }
        return { transaction: existing!, replayed: true, balance: { credits: balanceOf('credits'), bonus: balanceOf('bonus') } }
      }

      const moves = legs.map((leg) => ({ account: accounts.get(leg.kind)!, amount: leg.amount }))
      // One statement moves every balance and writes the entries; the rows are already ours.
      const deltas = sql.join(moves.map((move) => sql`(${move.account.id}::bigint, ${move.amount}::bigint)`), sql`, `)
      const entries = sql.join(moves.map((move) => sql`(${transaction.id}, ${move.account.id}::bigint, ${move.amount}::bigint, ${move.account.balance}::bigint, ${move.account.balance + move.amount}::bigint)`), sql`, `)
      await db.execute(sql`with moved as (
          update ledger_accounts as a set balance = a.balance + v.delta, version = a.version + 1
          from (values ${deltas}) as v(id, delta) where a.id = v.id
          returning a.id
        )
        insert into ledger_entries (transaction_id, account_id, amount, balance_before, balance_after)
        values ${entries}`)
      for (const move of moves) move.account.balance += move.amount

      const before = totalOf(legs, -1) + balanceOf('credits') + balanceOf('bonus')
      const after = balanceOf('credits') + balanceOf('bonus')
      const lowBalance = await this.lowBalanceAfter(db, input.organizationId, accounts.get('credits')!, before, after)
      return { transaction: transaction!, replayed: false, balance: { credits: balanceOf('credits'), bonus: balanceOf('bonus') }, ...(lowBalance ? { lowBalance } : {}) }
    })
  }

  /**
   * Arms and re-arms the low-balance notice: a fall below the threshold sets it
   * (once: the flag is checked under the accounts' lock), a rise back to it or
   * above clears it. Enterprise organizations are not prepaid and get no notice.
   */
  private async lowBalanceAfter(db: Database, organizationId: string, row: LockedAccount, before: number, after: number): Promise<{ threshold: number } | undefined> {
    const threshold = this.lowBalanceThreshold
    if (after < before && after < threshold && !row.notified && row.tariff !== 'enterprise') {
      await db.update(billingAccounts).set({ lowBalanceNotified: true, updatedAt: sql`now()` }).where(eq(billingAccounts.organizationId, organizationId))
      row.notified = true
      return { threshold }
    }
    if (after > before && after >= threshold && row.notified) {
      await db.update(billingAccounts).set({ lowBalanceNotified: false, updatedAt: sql`now()` }).where(eq(billingAccounts.organizationId, organizationId))
      row.notified = false
    }
    return undefined
  }

  /**
   * The organization's balances (zero before its first transfer).
   *
   * @example
   *   const { credits, bonus } = await ledger.balance(organizationId)
   */
  async balance(organizationId: string, tx?: Database): Promise<Balance> {
    const rows = await (tx ?? this.database.db)
      .select({ kind: ledgerAccounts.kind, balance: ledgerAccounts.balance })
      .from(ledgerAccounts)
      .where(and(eq(ledgerAccounts.organizationId, organizationId), sql`${ledgerAccounts.kind} in ('credits', 'bonus')`))
    const of = (kind: string) => rows.find((row) => row.kind === kind)?.balance ?? 0
    return { credits: of('credits'), bonus: of('bonus') }
  }

  /**
   * The spec's `BillingAccount`; creates the account on first use.
   *
   * @example
   *   await ledger.account(organizationId) // { tariff: 'enterprise', credits: 0, bonus: 0, subscription_until: null }
   */
  async account(organizationId: string, tx?: Database): Promise<BillingAccount> {
    await this.ensureAccount(organizationId, tx)
    const [row] = await (tx ?? this.database.db).select().from(billingAccounts).where(eq(billingAccounts.organizationId, organizationId))
    const balance = await this.balance(organizationId, tx)
    return { tariff: row!.tariff as Tariff, ...balance, subscription_until: row!.subscriptionUntil?.toISOString() ?? null }
  }

  /**
   * The organization's transactions, newest first, in the spec's shape.
   *
   * @example
   *   const { data, total } = await ledger.transactions(organizationId, { limit: 20, offset: 0 })
   */
  async transactions(organizationId: string, page: { limit: number; offset: number }): Promise<{ data: Transaction[]; total: number }> {
    const db = this.database.db
    const where = eq(ledgerTransactions.organizationId, organizationId)
    const [rows, [counted]] = await Promise.all([
      db.select().from(ledgerTransactions).where(where).orderBy(desc(ledgerTransactions.createdAt), desc(ledgerTransactions.id)).limit(page.limit).offset(page.offset),
      db.select({ total: count() }).from(ledgerTransactions).where(where),
    ])
    return { data: rows.map(toTransaction), total: counted?.total ?? 0 }
  }

  /**
   * The transactions as an administrator reads them: the spec's fields and who did each
   * (`actor`), its metadata (the reply or invoice it came from) and its idempotency key.
   *
   * @example
   *   const { data } = await ledger.history(organizationId, { limit: 50, offset: 0 })
   */
  async history(organizationId: string, page: { limit: number; offset: number }): Promise<{ data: Array<Transaction & { actor: string | null; idempotency_key: string; metadata: Record<string, unknown> }>; total: number }> {
    const db = this.database.db
    const where = eq(ledgerTransactions.organizationId, organizationId)
    const [rows, [counted]] = await Promise.all([
      db.select().from(ledgerTransactions).where(where).orderBy(desc(ledgerTransactions.createdAt), desc(ledgerTransactions.id)).limit(page.limit).offset(page.offset),
      db.select({ total: count() }).from(ledgerTransactions).where(where),
    ])
    return { data: rows.map((row) => ({ ...toTransaction(row), actor: row.actor, idempotency_key: row.idempotencyKey, metadata: row.metadata })), total: counted?.total ?? 0 }
  }

  /**
   * Moves the organization to a tariff (a subscription, an administrator),
   * recording who did it (`tariff_set_by`).
   *
   * @example
   *   await ledger.setTariff(organizationId, 'pro', new Date('2027-01-01T00:00:00Z'), 'payment:manual')
   */
  async setTariff(organizationId: string, tariff: Tariff, subscriptionUntil: Date | null, actor: string | null, tx?: Database): Promise<void> {
    if (!TARIFFS.includes(tariff)) throw AppError.validation([{ path: 'tariff', message: `must be one of ${TARIFFS.join(', ')}` }])
    const db = tx ?? this.database.db
    await this.ensureAccount(organizationId, tx)
    await db.update(billingAccounts).set({ tariff, subscriptionUntil, tariffSetBy: actor, updatedAt: sql`now()` }).where(eq(billingAccounts.organizationId, organizationId))
  }

  /**
   * The organization's tariff; the default one before its account exists.
   *
   * @example
   *   if (await ledger.tariffOf(organizationId) === 'free') { … }
   */
  async tariffOf(organizationId: string, tx?: Database): Promise<Tariff> {
    const [row] = await (tx ?? this.database.db).select({ tariff: billingAccounts.tariff }).from(billingAccounts).where(eq(billingAccounts.organizationId, organizationId))
    return (row?.tariff as Tariff | undefined) ?? this.defaultTariff
  }

  /**
   * Checks the ledger's invariants (every cached balance equals the sum of its
   * entries; every transaction's entries sum to zero) for one organization or
   * all; answers what differs.
   *
   * @example
   *   assert.deepEqual(await ledger.check(), [])
   */
  async check(organizationId?: string): Promise<LedgerProblem[]> {
    const db = this.database.db
    const scope = organizationId === undefined ? sql`true` : sql`a.organization_id = ${organizationId}`
    const balances = (await db.execute(sql`
      select a.id, a.organization_id, a.kind, a.balance::text as cached, coalesce(sum(e.amount), 0)::text as entries
      from ledger_accounts a left join ledger_entries e on e.account_id = a.id
      where ${scope}
      group by a.id
      having a.balance <> coalesce(sum(e.amount), 0)`)) as unknown as { rows: Array<{ id: string | number; organization_id: string; kind: string; cached: string; entries: string }> }
    const txScope = organizationId === undefined ? sql`true` : sql`t.organization_id = ${organizationId}`
    const unbalanced = (await db.execute(sql`
      select t.id, coalesce(sum(e.amount), 0)::text as sum
      from ledger_transactions t left join ledger_entries e on e.transaction_id = t.id
      where ${txScope}
      group by t.id
      having coalesce(sum(e.amount), 0) <> 0 or count(e.id) = 0`)) as unknown as { rows: Array<{ id: string; sum: string }> }
    return [
      ...balances.rows.map((row): LedgerProblem => ({ kind: 'balance', accountId: Number(row.id), organizationId: row.organization_id, accountKind: row.kind, cached: Number(row.cached), entries: Number(row.entries) })),
      ...unbalanced.rows.map((row): LedgerProblem => ({ kind: 'unbalanced_transaction', transactionId: row.id, sum: Number(row.sum) })),
    ]
  }
}

/** The signed amounts a transfer puts on each account; they sum to zero. */
export function legsOf(type: TransactionType, amount: number, bonusBalance: number): Array<{ kind: AccountKind; amount: number }> {
  if (type !== 'charge') {
    const route = ROUTES[type]
    return [{ kind: route.from, amount: -amount }, { kind: route.to, amount }]
  }
  // Granted credits are spent before bought ones (as Lago's wallets do); bought credits may go below zero.
  const fromBonus = Math.min(Math.max(bonusBalance, 0), amount)
  const fromCredits = amount - fromBonus
  return [
    ...(fromBonus > 0 ? [{ kind: 'bonus' as const, amount: -fromBonus }] : []),
    ...(fromCredits > 0 ? [{ kind: 'credits' as const, amount: -fromCredits }] : []),
    { kind: 'system:usage', amount },
  ]
}

/** The change a transfer makes to credits + bonus, times `sign`. */
function totalOf(legs: Array<{ kind: AccountKind; amount: number }>, sign: number): number {
  return sign * legs.filter((leg) => leg.kind === 'credits' || leg.kind === 'bonus').reduce((sum, leg) => sum + leg.amount, 0)
}

function validate(input: PostInput): void {
  const problems = []
  if (!TRANSACTION_TYPES.includes(input.type)) problems.push({ path: 'type', message: `must be one of ${TRANSACTION_TYPES.join(', ')}` })
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) problems.push({ path: 'amount', message: 'must be a positive integer (credits)' })
  if (typeof input.idempotencyKey !== 'string' || input.idempotencyKey.length === 0 || input.idempotencyKey.length > 255) problems.push({ path: 'idempotency_key', message: 'must be 1 to 255 characters' })
  if (typeof input.description !== 'string') problems.push({ path: 'description', message: 'must be a string' })
  if (problems.length > 0) throw AppError.validation(problems)
}

export function toTransaction(row: LedgerTransaction): Transaction {
  return { id: row.id, type: row.type as TransactionType, amount: row.amount, description: row.description, created_at: row.createdAt.toISOString() }
}
