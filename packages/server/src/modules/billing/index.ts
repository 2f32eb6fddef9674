/** The billing module: the credits ledger, prices, and charging for replies. */
export { billingAccounts, ledgerAccounts, ledgerTransactions, ledgerEntries } from './tables.ts'
export {
  Ledger,
  TARIFFS,
  TRANSACTION_TYPES,
  ACCOUNT_KINDS,
  toTransaction,
  legsOf,
  type Tariff,
  type TransactionType,
  type AccountKind,
  type LedgerTransaction,
  type Transaction,
  type BillingAccount,
  type Balance,
  type PostInput,
  type Posted,
  type LedgerProblem,
  type LedgerOptions,
} from './ledger.ts'
export { DEFAULT_PRICES, priceOf, replyCost, parsePriceTable, type Price, type PriceTable } from './pricing.ts'
export { ReplyCharges, BALANCE_LOW_EVENT, CREDITS_EXHAUSTED_EVENT, type StoredReply } from './charging.ts'
export { billingRoutes, billingAdminRoutes, paymentWebhookRoutes, type BillingRouteServices } from './routes.ts'
export { invoices } from './invoices/tables.ts'
export { InvoiceService, type Invoice } from './invoices/service.ts'
export { DEFAULT_OFFERS, loadOffers, OffersConfigError, type Offer, type OfferCatalog } from './invoices/offers.ts'
export { StripeProvider, stripeSignature, type StripeOptions } from './invoices/providers/stripe.ts'
export { ManualProvider } from './invoices/providers/manual.ts'
export { ForgedNotification, type PaymentProvider } from './invoices/providers/provider.ts'
