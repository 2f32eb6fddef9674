import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { TotalPage } from '../src/index.ts'
import { echoChat, startWorken, type Worken } from './support/worken.ts'

let worken: Worken

before(async () => {
  worken = await startWorken()
})
after(() => worken?.stop())

test('client.billing: account, balance, offers, an invoice, and transactions paged across', async () => {
  const client = worken.client()
  const account = await client.billing.account.retrieve()
  assert.equal(account.tariff, 'enterprise')
  const offers = await client.billing.offers.list()
  assert.ok(offers.some((offer) => offer.id === 'topup-1000'))
  const { invoice, payment_url } = await client.billing.invoices.create({ offer_id: 'topup-1000' })
  assert.equal(invoice.status, 'pending')
  assert.equal(payment_url, null)
  assert.equal((await client.billing.invoices.retrieve(invoice.id)).id, invoice.id)
  assert.ok((await client.billing.invoices.list()).some((each) => each.id === invoice.id))
  // Three charged replies, then the transactions a page of one at a time.
  const { chatId } = await echoChat(client, 'Billed')
  for (const text of ['one', 'two', 'three']) {
    const stream = await client.chats.threads.stream(chatId, 'billed', { messages: [{ role: 'user', content: text }] })
    for await (const _ of stream);
  }
  const page = await client.billing.transactions.list({ limit: 1 })
  assert.ok(page instanceof TotalPage)
  assert.equal(page.data.length, 1)
  const all = []
  for await (const transaction of client.billing.transactions.list({ limit: 1 })) all.push(transaction)
  assert.equal(all.length, page.total)
  assert.ok(all.filter((transaction) => transaction.type === 'charge').length >= 3)
  const balance = await client.billing.balance.retrieve()
  assert.ok(balance.credits < 0, 'enterprise is not prepaid: the charges took credits below zero')
})
