import type { APIPromise } from '../core/api-promise.ts'
import { TotalPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { Balance, BillingAccount, CreatedInvoice, CreateInvoiceBody, Invoice, Offer, Transaction, TransactionListParams } from '../types.ts'
import { APIResource } from './resource.ts'

/** The organization's credits: its account, transactions, invoices and the offers to buy. */
export class Billing extends APIResource {
  readonly account = new BillingAccounts(this.client)
  readonly balance = new Balances(this.client)
  readonly transactions = new Transactions(this.client)
  readonly invoices = new Invoices(this.client)
  readonly offers = new Offers(this.client)
}

export class BillingAccounts extends APIResource {
  /** Tariff, credits, bonus and `subscription_until`. @example const { tariff, credits } = await client.billing.account.retrieve() */
  retrieve(options?: RequestOptions): APIPromise<BillingAccount> {
    return this.client.get(path`/billing/account`, options)
  }
}

export class Balances extends APIResource {
  /** @example const { credits, bonus } = await client.billing.balance.retrieve() */
  retrieve(options?: RequestOptions): APIPromise<Balance> {
    return this.client.get(path`/billing/balance`, options)
  }
}

export class Transactions extends APIResource {
  /** Newest first; the loop fetches further pages. @example for await (const txn of client.billing.transactions.list()) console.log(txn.type, txn.amount) */
  list(query: TransactionListParams = {}, options?: RequestOptions): PagePromise<TotalPage<Transaction>> {
    return this.client.getPage<TotalPage<Transaction>>(TotalPage, '/billing/transactions', { query, ...options })
  }
}

export class Invoices extends APIResource {
  /** @example for (const invoice of await client.billing.invoices.list()) console.log(invoice.status) */
  list(options?: RequestOptions): APIPromise<Invoice[]> {
    return this.client.get(path`/billing/invoices`, options)
  }

  /** A pending invoice and where to pay it. @example const { payment_url } = await client.billing.invoices.create({ offer_id: 'topup-1000' }) */
  create(body: CreateInvoiceBody, options?: RequestOptions): APIPromise<CreatedInvoice> {
    return this.client.post(path`/billing/invoices`, { body, ...options })
  }

  /** @example const invoice = await client.billing.invoices.retrieve('inv_123') */
  retrieve(invoiceId: string, options?: RequestOptions): APIPromise<Invoice> {
    return this.client.get(path`/billing/invoices/${invoiceId}`, options)
  }
}

export class Offers extends APIResource {
  /** @example const offers = await client.billing.offers.list() */
  list(options?: RequestOptions): APIPromise<Offer[]> {
    return this.client.get(path`/billing/offers`, options)
  }
}
