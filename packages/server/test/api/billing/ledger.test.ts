import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { asc, eq, sql } from 'drizzle-orm'
import { billingAccounts, ledgerAccounts, type Ledger, type TransactionType } from '../../../src/modules/billing/index.ts'
import { AppError } from '../../../src/platform/errors.ts'
import { createTestContext, type TestContext } from '../../support/harness.ts'
import { random } from '../../support/random.ts'

let ctx: TestContext
let ledger: Ledger

before(async () => {
  ctx = await createTestContext()
  ledger = ctx.services.ledger
})
after(() => ctx.close())

/** The ledger as plain numbers: what every account should hold. */
type Model = Record<'credits' | 'bonus' | 'system:topups' | 'system:bonuses' | 'system:usage', number>

function apply(model: Model, type: TransactionType, amount: number): void {
  if (type === 'topup') { model['system:topups'] -= amount; model.credits += amount }
  if (type === 'bonus') { model['system:bonuses'] -= amount; model.bonus += amount }
  if (type === 'refund') { model['system:usage'] -= amount; model.credits += amount }
  if (type === 'charge') {
    const fromBonus = Math.min(Math.max(model.bonus, 0), amount)
    model.bonus -= fromBonus
    model.credits -= amount - fromBonus
    model['system:usage'] += amount
  }
}

async function cached(organizationId: string): Promise<Model> {
  const rows = await ctx.database.db.select().from(ledgerAccounts).where(eq(ledgerAccounts.organizationId, organizationId)).orderBy(asc(ledgerAccounts.id))
  return Object.fromEntries(rows.map((row) => [row.kind, row.balance])) as Model
}

describe('the ledger', () => {
  it('keeps cached balances = sum of entries = an in-memory model over thousands of random transfers with replays', async () => {
    const seed = Number(process.env.LEDGER_SEED ?? Date.now() % 1_000_000)
    const next = random(seed)
    const { organizationId } = await ctx.seed()
    const model: Model = { credits: 0, bonus: 0, 'system:topups': 0, 'system:bonuses': 0, 'system:usage': 0 }
    const used: Array<{ key: string; type: TransactionType; amount: number }> = []
    const types: TransactionType[] = ['charge', 'charge', 'topup', 'bonus', 'refund']
    const steps = Number(process.env.LEDGER_STEPS ?? 1500)
    let replays = 0
    let conflicts = 0
    for (let step = 0; step < steps; step++) {
      const roll = next()
      const at = `seed ${seed}, step ${step}`
      if (used.length > 0 && roll < 0.15) {
        const first = used[Math.floor(next() * used.length)]!
        const result = await ledger.post({ organizationId, type: first.type, amount: first.amount, description: 'replay', idempotencyKey: first.key })
        assert.equal(result.replayed, true, at)
        assert.equal(result.transaction.amount, first.amount, at)
        replays++
      } else if (used.length > 0 && roll < 0.18) {
        const first = used[Math.floor(next() * used.length)]!
        await assert.rejects(ledger.post({ organizationId, type: first.type, amount: first.amount + 1, description: 'reuse', idempotencyKey: first.key }), (error: unknown) => error instanceof AppError && error.code === 'conflict', at)
        conflicts++
      } else {
        const type = types[Math.floor(next() * types.length)]!
        // Mostly small amounts, sometimes large ones, so balances cross zero both ways.
        const amount = next() < 0.1 ? 1 + Math.floor(next() * 5000) : 1 + Math.floor(next() * 50)
        const key = `k${step}`
        const result = await ledger.post({ organizationId, type, amount, description: `${type} ${step}`, idempotencyKey: key, actor: 'system' })
        assert.equal(result.replayed, false, at)
        apply(model, type, amount)
        used.push({ key, type, amount })
        assert.deepEqual(result.balance, { credits: model.credits, bonus: model.bonus }, at)
      }
      assert.deepEqual(await cached(organizationId), model, at)
      if (step % 100 === 99) assert.deepEqual(await ledger.check(organizationId), [], at)
    }
    assert.deepEqual(await ledger.check(organizationId), [])
    assert.deepEqual(await ledger.balance(organizationId), { credits: model.credits, bonus: model.bonus })
    assert.equal(Object.values(model).reduce((sum, value) => sum + value, 0), 0, 'double entry: the accounts sum to zero')
    const { total } = await ledger.transactions(organizationId, { limit: 1, offset: 0 })
    assert.equal(total, used.length)
    assert.ok(replays > 100 && conflicts > 10, `replays ${replays}, conflicts ${conflicts}`)
    // Each entry continues its account's chain: its balance_before is the previous entry's balance_after.
    const broken = await ctx.database.db.execute(sql`
      select count(*)::int as n from (
        select e.balance_before, lag(e.balance_after, 1, 0::bigint) over (partition by e.account_id order by e.id) as previous
        from ledger_entries e join ledger_accounts a on a.id = e.account_id where a.organization_id = ${organizationId}
      ) chain where balance_before <> previous`)
    assert.equal((broken as unknown as { rows: Array<{ n: number }> }).rows[0]!.n, 0)
  })

  it('spends bonus before credits, and lets credits go below zero', async () => {
    const { organizationId } = await ctx.seed()
    await ledger.post({ organizationId, type: 'bonus', amount: 5, description: 'welcome', idempotencyKey: 'b1' })
    await ledger.post({ organizationId, type: 'topup', amount: 10, description: 'invoice', idempotencyKey: 't1' })
    const charged = await ledger.post({ organizationId, type: 'charge', amount: 7, description: 'reply', idempotencyKey: 'c1' })
    assert.deepEqual(charged.balance, { credits: 8, bonus: 0 })
    const below = await ledger.post({ organizationId, type: 'charge', amount: 20, description: 'reply', idempotencyKey: 'c2' })
    assert.deepEqual(below.balance, { credits: -12, bonus: 0 })
    const page = await ledger.transactions(organizationId, { limit: 2, offset: 0 })
    assert.equal(page.total, 4)
    assert.deepEqual(page.data.map((t) => [t.type, t.amount]), [['charge', 20], ['charge', 7]])
    assert.match(page.data[0]!.id, /^txn_/)
    assert.deepEqual(await ledger.check(organizationId), [])
  })

  it('refuses amounts that are not positive integers and unknown types', async () => {
    const { organizationId } = await ctx.seed()
    for (const amount of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      await assert.rejects(ledger.post({ organizationId, type: 'topup', amount, description: 'x', idempotencyKey: `bad-${amount}` }), (error: unknown) => error instanceof AppError && error.code === 'invalid_request')
    }
    await assert.rejects(ledger.post({ organizationId, type: 'gift' as TransactionType, amount: 1, description: 'x', idempotencyKey: 'bad-type' }), (error: unknown) => error instanceof AppError && error.code === 'invalid_request')
    assert.deepEqual(await ledger.balance(organizationId), { credits: 0, bonus: 0 })
  })

  it('takes no credit twice and loses no update under 50 concurrent charges and 20 concurrent replays', async () => {
    const { organizationId } = await ctx.seed()
    await ledger.post({ organizationId, type: 'topup', amount: 1000, description: 'start', idempotencyKey: 'start' })
    const charges = Array.from({ length: 50 }, (_, index) => ledger.post({ organizationId, type: 'charge', amount: 3, description: 'reply', idempotencyKey: `reply-${index}` }))
    const replays = Array.from({ length: 20 }, () => ledger.post({ organizationId, type: 'charge', amount: 3, description: 'reply', idempotencyKey: 'reply-same' }))
    const results = await Promise.all([...charges, ...replays])
    assert.equal(results.filter((result) => !result.replayed).length, 51)
    assert.equal(new Set(results.slice(50).map((result) => result.transaction.id)).size, 1)
    assert.deepEqual(await ledger.balance(organizationId), { credits: 1000 - 51 * 3, bonus: 0 })
    assert.deepEqual(await ledger.check(organizationId), [])
  })

  it('gives a new organization the default tariff and the spec\'s account shape', async () => {
    const { organizationId } = await ctx.seed()
    assert.equal(await ledger.tariffOf(organizationId), 'enterprise')
    assert.deepEqual(await ledger.account(organizationId), { tariff: 'enterprise', credits: 0, bonus: 0, subscription_until: null })
    await ledger.setTariff(organizationId, 'pro', new Date('2027-01-01T00:00:00.000Z'), 'user:usr_1')
    assert.deepEqual(await ledger.account(organizationId), { tariff: 'pro', credits: 0, bonus: 0, subscription_until: '2027-01-01T00:00:00.000Z' })
    await ledger.ensureAccount(organizationId)
    assert.equal(await ledger.tariffOf(organizationId), 'pro')
    const [row] = await ctx.database.db.select().from(billingAccounts).where(eq(billingAccounts.organizationId, organizationId))
    assert.equal(row!.tariffSetBy, 'user:usr_1')
    await assert.rejects(ledger.setTariff(organizationId, 'gold' as 'pro', null, 'user:usr_1'), (error: unknown) => error instanceof AppError && error.code === 'invalid_request')
  })
})
