import type { NetworkRegistry } from "@tollgate/shared";
import type { Emit } from "./events.js";
import type { TokenStore } from "./lanes/token/tokenStore.js";
import type { PaymentLedger } from "./ledger/ledger.js";
import type { ProofBook } from "./ledger/proofLife.js";
import type { ReadLimits } from "./parse/readOffers.js";
import type { BudgetHolds } from "./policy/budgetHolds.js";
import type { FeeTracker } from "./policy/directFees.js";
import type { SpendingPolicy } from "./policy/policy.js";
import type { Receipt } from "./receipt/getReceipt.js";
import type { PayingWallet } from "./wallet.js";

/** Sends one request: the paying fetch's injected `fetch`, bound to a URL and its options. */
export type Send = (url: string, init: RequestInit) => Promise<Response>;

/** Waits `ms` milliseconds; rejects when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal | undefined) => Promise<void>;

/**
 * What every step of a payment shares, built once by `createPayingFetch` from its parameters: the wallets and the
 * owner's policy, the stores, the clock and the I/O. Each step takes only the part it uses (`Pick<…>`).
 */
export type PaymentContext = Readonly<{
  wallets: readonly PayingWallet[];
  policy: SpendingPolicy;
  /** `policy.maxPerRequest`, with its default applied. */
  maxPerRequest: bigint;
  registry: NetworkRegistry;
  ledger: PaymentLedger;
  tokens: TokenStore;
  /** The holds against `policy.budgets`, in this process or a shared `BudgetStore`. */
  budgets: BudgetHolds;
  /** The life of every proof and its budget hold, per logical request. */
  proofs: ProofBook;
  /** The fee (gas) limits of the direct lane, `policy.direct.fees`, in native units. */
  fees: FeeTracker;
  /** What was paid for each response the paying fetch returned. */
  receipts: WeakMap<Response, Receipt>;
  now: () => number;
  emit: Emit;
  send: Send;
  sleep: Sleep;
  /** How many times a `settlement_pending` proof is re-sent. */
  settlementRetries: number;
  /** Bounds on the bodies the paying fetch reads itself. */
  readLimits: ReadLimits;
}>;
