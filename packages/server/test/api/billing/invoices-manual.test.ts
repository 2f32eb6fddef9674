import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { createTestContext, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded

// The default provider: `manual`, with no payment page configured.
before(async () => {
  ctx = await createTestContext()
  owner = await ctx.seed()
})
after(() => ctx.close())

it('with the manual provider, an admin marks an invoice paid once; members cannot; cancelling a paid one changes nothing', async () => {
  const api = ctx.asKey(owner.key)
  const created = await api('POST', '/billing/invoices', { offer_id: 'topup-1000' })
  assert.equal(created.status, 200, created.text)
  assert.equal(created.body.payment_url, null)
  const invoiceId = created.body.invoice.id
  const before = (await api('GET', '/billing/balance')).body
  const memberId = await ctx.addMember(owner.organizationId, 'member')
  const member = ctx.asMember({ organizationId: owner.organizationId, projectId: owner.projectId, userId: memberId })
  assert.equal((await member('POST', `/billing/invoices/${invoiceId}/mark-paid`)).status, 403)
  assert.equal((await api('POST', `/billing/invoices/${invoiceId}/mark-paid`)).status, 404)
  const admin = ctx.asMember({ organizationId: owner.organizationId, projectId: owner.projectId, userId: owner.userId })
  const marks = await Promise.all([admin('POST', `/billing/invoices/${invoiceId}/mark-paid`), admin('POST', `/billing/invoices/${invoiceId}/mark-paid`)])
  for (const mark of marks) assert.equal(mark.body.status, 'paid')
  assert.equal((await api('GET', '/billing/balance')).body.credits - before.credits, 1000)
  assert.equal((await admin('POST', `/billing/invoices/${invoiceId}/cancel`)).body.status, 'paid')
  assert.equal((await ctx.asKey((await ctx.seed()).key)('POST', '/billing/webhooks/manual', {})).status, 404)
})
