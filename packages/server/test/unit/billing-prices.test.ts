import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { DEFAULT_PRICES, legsOf, parsePriceTable, priceOf, replyCost } from '../../src/modules/billing/index.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'

describe('reply prices', () => {
  const table = { 'openai/gpt-4o': { input: 3, output: 10 }, 'openai/*': { input: 1, output: 4 }, '*': { input: 2, output: 6 } }

  it('takes the most specific entry: the model, its provider, then *', () => {
    assert.deepEqual(priceOf(table, 'openai/gpt-4o'), { input: 3, output: 10 })
    assert.deepEqual(priceOf(table, 'openai/gpt-4o-mini'), { input: 1, output: 4 })
    assert.deepEqual(priceOf(table, 'anthropic/claude'), { input: 2, output: 6 })
    assert.deepEqual(priceOf({ 'local/*': { input: 1, output: 1 } }, 'openai/x'), { input: 0, output: 0 })
    assert.deepEqual(priceOf(DEFAULT_PRICES, 'local/echo'), { input: 1, output: 1 })
  })

  it('rounds up, charges a priced reply at least one credit, and a free model nothing', () => {
    assert.equal(replyCost(table, { model: 'openai/gpt-4o', inputTokens: 1000, outputTokens: 1000 }), 13)
    assert.equal(replyCost(table, { model: 'openai/gpt-4o', inputTokens: 1, outputTokens: 0 }), 1)
    assert.equal(replyCost(table, { model: 'openai/gpt-4o', inputTokens: 334, outputTokens: 0 }), 2) // 1.002 → 2
    assert.equal(replyCost(table, { model: 'openai/gpt-4o', inputTokens: null, outputTokens: null }), 1)
    assert.equal(replyCost({ 'x/*': { input: 0, output: 0 } }, { model: 'x/free', inputTokens: 5000, outputTokens: 5000 }), 0)
  })

  it('splits a charge: bonus first, then credits, never taking bonus below zero', () => {
    assert.deepEqual(legsOf('charge', 10, 4), [{ kind: 'bonus', amount: -4 }, { kind: 'credits', amount: -6 }, { kind: 'system:usage', amount: 10 }])
    assert.deepEqual(legsOf('charge', 3, 4), [{ kind: 'bonus', amount: -3 }, { kind: 'system:usage', amount: 3 }])
    assert.deepEqual(legsOf('charge', 3, -2), [{ kind: 'credits', amount: -3 }, { kind: 'system:usage', amount: 3 }])
    assert.deepEqual(legsOf('refund', 5, 0), [{ kind: 'system:usage', amount: -5 }, { kind: 'credits', amount: 5 }])
  })

  it('accepts only whole, non-negative prices from a file, and WORKEN_PRICES_FILE fails the start clearly', () => {
    assert.deepEqual(parsePriceTable({ '*': { input: 1, output: 2 } }), { table: { '*': { input: 1, output: 2 } } })
    for (const bad of [[], null, 'x', { '*': { input: 1.5, output: 2 } }, { '*': { input: -1, output: 2 } }, { '*': { input: 1 } }, { '*': { input: 1, output: 1, cached: 1 } }]) {
      assert.ok('problem' in parsePriceTable(bad), JSON.stringify(bad))
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-prices-'))
    try {
      const good = path.join(dir, 'good.json')
      fs.writeFileSync(good, JSON.stringify({ 'openai/*': { input: 3, output: 12 } }))
      const config = loadConfig({ WORKEN_PRICES_FILE: good, WORKEN_DEFAULT_TARIFF: 'free', WORKEN_BILLING_LOW_BALANCE: '50' }, { listens: false })
      assert.deepEqual({ defaultTariff: config.billing.defaultTariff, prices: config.billing.prices, lowBalanceThreshold: config.billing.lowBalanceThreshold }, { defaultTariff: 'free', prices: { 'openai/*': { input: 3, output: 12 } }, lowBalanceThreshold: 50 })
      const defaults = loadConfig({}, { listens: false }).billing
      assert.deepEqual({ defaultTariff: defaults.defaultTariff, prices: defaults.prices, lowBalanceThreshold: defaults.lowBalanceThreshold }, { defaultTariff: 'enterprise', prices: DEFAULT_PRICES, lowBalanceThreshold: 100 })
      const broken = path.join(dir, 'broken.json')
      fs.writeFileSync(broken, '{ not json')
      assert.throws(() => loadConfig({ WORKEN_PRICES_FILE: broken }, { listens: false }), (error: unknown) => error instanceof ConfigError && /WORKEN_PRICES_FILE: cannot read/.test(error.message))
      fs.writeFileSync(broken, JSON.stringify({ '*': { input: 0.5, output: 1 } }))
      assert.throws(() => loadConfig({ WORKEN_PRICES_FILE: broken }, { listens: false }), (error: unknown) => error instanceof ConfigError && /WORKEN_PRICES_FILE: "\*"/.test(error.message))
      assert.throws(() => loadConfig({ WORKEN_DEFAULT_TARIFF: 'gold' }, { listens: false }), /WORKEN_DEFAULT_TARIFF/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('payment settings', () => {
  it('Stripe needs both of its secrets, and a bad offers file stops the start naming the problem', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-offers-'))
    try {
      assert.throws(() => loadConfig({ WORKEN_BILLING_PROVIDER: 'stripe', WORKEN_STRIPE_SECRET_KEY: 'sk_test_abc' }, { listens: false }), /WORKEN_STRIPE_WEBHOOK_SECRET: required with WORKEN_BILLING_PROVIDER=stripe/)
      const stripe = loadConfig({ WORKEN_BILLING_PROVIDER: 'stripe', WORKEN_STRIPE_SECRET_KEY: 'sk_test_abc', WORKEN_STRIPE_WEBHOOK_SECRET: 'whsec_abc' }, { listens: false })
      assert.deepEqual(stripe.billing.payments, { provider: 'stripe', secretKey: 'sk_test_abc', webhookSecret: 'whsec_abc', apiUrl: 'https://api.stripe.com' })
      assert.equal(loadConfig({}, { listens: false }).billing.payments.provider, 'manual')
      const file = path.join(dir, 'offers.json')
      fs.writeFileSync(file, JSON.stringify({ currency: 'eur', offers: [{ id: 'plan', name: 'Plan', kind: 'subscription', price: 100, credits: 10 }] }))
      assert.throws(() => loadConfig({ WORKEN_BILLING_OFFERS_FILE: file }, { listens: false }), /WORKEN_BILLING_OFFERS_FILE .*a subscription needs tariff and period_days/)
      fs.writeFileSync(file, JSON.stringify({ currency: 'eur', offers: [{ id: 'small', name: 'Small', kind: 'topup', price: 500, credits: 400 }] }))
      assert.deepEqual(loadConfig({ WORKEN_BILLING_OFFERS_FILE: file }, { listens: false }).billing.offers.offers.map((offer) => offer.id), ['small'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
