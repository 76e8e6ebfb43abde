/**
 * `@tollgate/client`: `createPayingFetch`, a drop-in `fetch` that pays x402 402 responses within its owner's
 * policy and never pays twice. Wallets live in `@tollgate/client/evm` (viem) and `@tollgate/client/svm`
 * (@solana/web3.js); this entry point loads neither.
 * @packageDocumentation
 */
export type {
  EventUrls,
  OfferRejection,
  OfferSummary,
  PayingFetchEvent,
  PayingFetchEventType,
} from "./events.js";
export {
  createMemoryTokenStore,
  type PrepaidToken,
  type TokenStore,
} from "./lanes/token/tokenStore.js";
export {
  createMemoryLedger,
  type LedgerEntry,
  type LedgerEntryState,
  ledgerSlot,
  type PaymentLedger,
} from "./ledger/ledger.js";
export type { ReadLimits } from "./parse/readOffers.js";
export {
  type CreatePayingFetchParameters,
  createPayingFetch,
  type PayingFetch,
  type PayingFetchErrorCode,
  type Quote,
} from "./payingFetch.js";
export {
  type BudgetBucket,
  type BudgetReserveParameters,
  type BudgetReserveResult,
  type BudgetStore,
  budgetBuckets,
} from "./policy/budgetStore.js";
export type { Budget, BudgetWindow } from "./policy/budgets.js";
export { createMemoryBudgetStore } from "./policy/memoryBudgetStore.js";
export {
  type ConfirmParameters,
  type DirectFeeLimit,
  type DirectLanePolicy,
  defaultDirectLanePolicy,
  defaultMaxAuthorizationSeconds,
  defaultMaxPerRequest,
  type PolicyLists,
  type SpendingPolicy,
} from "./policy/policy.js";
export { type Receipt, receiptFromHeaders } from "./receipt/getReceipt.js";
export type {
  CreateExactPaymentParameters,
  ExactPayment,
  ExactProofParameters,
  ExactProofState,
  PayingWallet,
  PrepareDirectTransferParameters,
  PreparedDirectTransfer,
  SendDirectTransferParameters,
  SentDirectTransfer,
  WalletFamily,
} from "./wallet.js";
