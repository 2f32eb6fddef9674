import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { StripeProvider, stripeSignature } from '../../../src/modules/billing/index.ts'
import { createTestContext, type Seeded, type TestContext } from '../../support/harness.ts'
import { checkoutEvent, startFakeStripe, type FakeStripe } from '../../support/fake-stripe.ts'

const WEBHOOK_SECRET = 'whsec_test_worken'
let stripe: FakeStripe
let ctx: TestContext
let owner: Seeded
let other: Seeded

before(async () => {
  stripe = await startFakeStripe()
  ctx = await createTestContext({
    services: { billing: { provider: new StripeProvider({ secretKey: stripe.secretKey, webhookSecret: WEBHOOK_SECRET, apiUrl: stripe.url }), returnUrl: 'https://app.worken.test/billing' } },
  })
  owner = await ctx.seed()
  other = await ctx.seed()
})
after(async () => {
  await ctx.close()
  await stripe.close()
})

const api = () => ctx.asKey(owner.key)

/** Delivers a notification to the webhook route as Stripe would, signed unless told otherwise. */
function notify(body: string, signature = stripeSignature(WEBHOOK_SECRET, body)) {
  return ctx.publicApp.request('/billing/webhooks/stripe', { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body })
}

async function newInvoice(offerId = 'topup-1000', seeded = owner) {
  const created = await ctx.asKey(seeded.key)('POST', '/billing/invoices', { offer_id: offerId })
  assert.equal(created.status, 200, created.text)
  const session = stripe.requests.at(-1)!.form
  return { invoice: created.body.invoice, sessionId: `cs_test_${stripe.requests.length}`, session, body: created.body }
}

describe('offers and invoices', () => {
  it('lists the configured offers in the spec shape', async () => {
    const offers = await api()('GET', '/billing/offers')
    assert.equal(offers.status, 200)
    const topup = offers.body.find((offer: any) => offer.id === 'topup-1000')
    assert.deepEqual(Object.keys(topup).slice(0, 5), ['id', 'name', 'price', 'credits', 'description'])
    assert.ok(offers.body.some((offer: any) => offer.kind === 'subscription' && offer.tariff === 'pro'))
  })

  it('creates a pending invoice with a Checkout Session as its payment page', async () => {
    const { invoice, session, body } = await newInvoice()
    assert.equal(invoice.status, 'pending')
    assert.equal(invoice.amount, 1000)
    assert.equal(invoice.credits, 1000)
    assert.match(body.payment_url, /^http:\/\/127\.0\.0\.1:\d+\/c\/pay\/cs_test_\d+$/)
    assert.equal(invoice.payment_url, body.payment_url)
    assert.equal(session.get('mode'), 'payment')
    assert.equal(session.get('metadata[invoice_id]'), invoice.id)
    assert.equal(session.get('line_items[0][price_data][unit_amount]'), '1000')
    assert.equal(session.get('success_url'), 'https://app.worken.test/billing')
    assert.equal(stripe.requests.at(-1)!.idempotencyKey, `worken-invoice-${invoice.id}`)
    const listed = await api()('GET', '/billing/invoices')
    assert.ok(listed.body.some((each: any) => each.id === invoice.id))
  })

  it('refuses an unknown offer and a custom amount out of bounds, and prices a custom top-up', async () => {
    assert.equal((await api()('POST', '/billing/invoices', { offer_id: 'nope' })).status, 422)
    assert.equal((await api()('POST', '/billing/invoices', { offer_id: 'topup-custom', credits: 5 })).status, 422)
    assert.equal((await api()('POST', '/billing/invoices', { offer_id: 'topup-1000', credits: 7 })).status, 422)
    const custom = await api()('POST', '/billing/invoices', { offer_id: 'topup-custom', credits: 2500 })
    assert.equal(custom.status, 200, custom.text)
    assert.equal(custom.body.invoice.amount, 2500)
    assert.equal(custom.body.invoice.credits, 2500)
  })

  it('a provider that fails is a 502 and leaves a cancelled invoice, not a pending one', async () => {
    stripe.failNext(500, 'Something went wrong')
    const failed = await api()('POST', '/billing/invoices', { offer_id: 'topup-1000' })
    assert.equal(failed.status, 502)
    assert.equal(failed.body.code, 'vendor_unavailable')
    const listed = (await api()('GET', '/billing/invoices')).body
    assert.equal(listed[0].status, 'cancelled')
  })
})

describe('payment notifications', () => {
  it('a paid notification delivered three times, and an expiry after it, tops up once', async () => {
    const before = (await api()('GET', '/billing/balance')).body
    const { invoice, sessionId } = await newInvoice()
    const paid = checkoutEvent('checkout.session.completed', invoice.id, sessionId)
    const answers = await Promise.all([notify(paid), notify(paid), notify(paid)])
    for (const answer of answers) assert.equal(answer.status, 200)
    assert.equal((await notify(checkoutEvent('checkout.session.expired', invoice.id, sessionId, 'unpaid'))).status, 200)
    const after = (await api()('GET', '/billing/balance')).body
    assert.equal(after.credits - before.credits, 1000)
    assert.equal((await api()('GET', `/billing/invoices/${invoice.id}`)).body.status, 'paid')
    const topups = (await api()('GET', '/billing/transactions?limit=100')).body.data.filter((txn: any) => txn.type === 'topup' && txn.description.includes(invoice.id))
    assert.equal(topups.length, 1)
  })

  it('out of order: an expiry first, then the payment, still tops up once (money that arrived counts)', async () => {
    const before = (await api()('GET', '/billing/balance')).body
    const { invoice, sessionId } = await newInvoice()
    await notify(checkoutEvent('checkout.session.expired', invoice.id, sessionId, 'unpaid'))
    assert.equal((await api()('GET', `/billing/invoices/${invoice.id}`)).body.status, 'cancelled')
    await notify(checkoutEvent('checkout.session.completed', invoice.id, sessionId))
    await notify(checkoutEvent('checkout.session.completed', invoice.id, sessionId))
    assert.equal((await api()('GET', `/billing/invoices/${invoice.id}`)).body.status, 'paid')
    assert.equal((await api()('GET', '/billing/balance')).body.credits - before.credits, 1000)
  })

  it('refuses a forged or stale notification and changes nothing', async () => {
    const before = (await api()('GET', '/billing/balance')).body
    const { invoice, sessionId } = await newInvoice()
    const paid = checkoutEvent('checkout.session.completed', invoice.id, sessionId)
    for (const signature of [stripeSignature('whsec_wrong', paid), stripeSignature(WEBHOOK_SECRET, paid, Math.floor(Date.now() / 1000) - 3600), 't=1,v1=00', '']) {
      const answer = await notify(paid, signature)
      assert.equal(answer.status, 400, signature)
    }
    const tampered = paid.replace(invoice.id, 'inv_01m0000000000000000000000')
    assert.equal((await notify(tampered, stripeSignature(WEBHOOK_SECRET, paid))).status, 400)
    assert.equal((await api()('GET', `/billing/invoices/${invoice.id}`)).body.status, 'pending')
    assert.deepEqual((await api()('GET', '/billing/balance')).body, before)
  })

  it('a delayed payment method completes unpaid, then pays on async_payment_succeeded', async () => {
    const { invoice, sessionId } = await newInvoice()
    await notify(checkoutEvent('checkout.session.completed', invoice.id, sessionId, 'unpaid'))
    assert.equal((await api()('GET', `/billing/invoices/${invoice.id}`)).body.status, 'pending')
    await notify(checkoutEvent('checkout.session.async_payment_succeeded', invoice.id, sessionId))
    assert.equal((await api()('GET', `/billing/invoices/${invoice.id}`)).body.status, 'paid')
  })

  it('a subscription moves the tariff and subscription_until, and a renewal extends it', async () => {
    const first = await newInvoice('pro-monthly')
    await notify(checkoutEvent('checkout.session.completed', first.invoice.id, first.sessionId))
    const account = (await api()('GET', '/billing/account')).body
    assert.equal(account.tariff, 'pro')
    const until = new Date(account.subscription_until).getTime()
    assert.ok(Math.abs(until - (Date.now() + 30 * 86_400_000)) < 60_000)
    const renewal = await newInvoice('pro-monthly')
    await notify(checkoutEvent('checkout.session.completed', renewal.invoice.id, renewal.sessionId))
    const renewed = new Date((await api()('GET', '/billing/account')).body.subscription_until).getTime()
    assert.ok(Math.abs(renewed - (until + 30 * 86_400_000)) < 60_000)
  })

  it("keeps an organization's invoices from another", async () => {
    const { invoice } = await newInvoice()
    assert.equal((await ctx.asKey(other.key)('GET', `/billing/invoices/${invoice.id}`)).status, 404)
    assert.ok(!(await ctx.asKey(other.key)('GET', '/billing/invoices')).body.some((each: any) => each.id === invoice.id))
  })
})

describe('administration on the internal API', () => {
  it('grants bonus and refunds with the actor recorded, replay-safe; members and the public API cannot', async () => {
    const admin = ctx.asMember({ organizationId: owner.organizationId, projectId: owner.projectId, userId: owner.userId })
    const before = (await api()('GET', '/billing/balance')).body
    const bonus = await admin('POST', '/billing/bonus', { credits: 300, description: 'Welcome bonus', idempotency_key: 'welcome' })
    assert.equal(bonus.status, 200, bonus.text)
    assert.equal(bonus.body.type, 'bonus')
    const replay = await admin('POST', '/billing/bonus', { credits: 300, description: 'Welcome bonus', idempotency_key: 'welcome' })
    assert.equal(replay.body.id, bonus.body.id)
    assert.equal((await api()('GET', '/billing/balance')).body.bonus - before.bonus, 300)
    const refund = await admin('POST', '/billing/refunds', { credits: 50, description: 'Goodwill' })
    assert.equal(refund.body.type, 'refund')
    const ledger = await admin('GET', '/billing/ledger?limit=100')
    assert.equal(ledger.status, 200, ledger.text)
    const granted = ledger.body.data.find((entry: any) => entry.id === bonus.body.id)
    assert.equal(granted.actor, `user:${owner.userId}`)
    assert.equal(granted.idempotency_key, 'admin:welcome')
    assert.ok(ledger.body.data.some((entry: any) => entry.type === 'topup' && entry.actor === 'payment:stripe'))
    assert.equal((await api()('GET', '/billing/ledger')).status, 404)
    const memberId = await ctx.addMember(owner.organizationId, 'member')
    const member = ctx.asMember({ organizationId: owner.organizationId, projectId: owner.projectId, userId: memberId })
    assert.equal((await member('POST', '/billing/bonus', { credits: 1, description: 'x' })).status, 403)
    assert.equal((await api()('POST', '/billing/bonus', { credits: 1, description: 'x' })).status, 404)
  })

  it('changes the tariff', async () => {
    const admin = ctx.asMember({ organizationId: other.organizationId, projectId: other.projectId, userId: other.userId })
    const changed = await admin('POST', '/billing/tariff', { tariff: 'starter', subscription_until: null })
    assert.equal(changed.status, 200, changed.text)
    assert.equal(changed.body.tariff, 'starter')
    assert.equal((await ctx.asKey(other.key)('GET', '/billing/account')).body.tariff, 'starter')
  })
})
