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
