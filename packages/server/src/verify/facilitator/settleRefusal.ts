import type { SettleResponse } from "@tollgate/shared";

/** Reasons that say the outcome of a settlement is not known yet, whatever else the answer carries. */
const pendingReasons: ReadonlySet<string> = new Set(["settlement_pending", "duplicate_settlement"]);

/**
 * Whether a reason says that a sent transaction failed on chain, so no money moved: it ends in
 * `transaction_failed`, names a revert, or is x402 v1's `invalid_transaction_state`.
 */
function isDefinitiveFailure(reason: string): boolean {
  return (
    reason === "transaction_failed" ||
    reason.endsWith("_transaction_failed") ||
    reason.includes("reverted") ||
    reason === "invalid_transaction_state"
  );
}

/**
 * Whether a refused `/settle` answer leaves it open that money moved, so only the chain can tell: a pending or
 * duplicate settlement, an `unexpected_*` error, a timeout, or any refusal that names a sent transaction (such as x402 v1's
 * `settle_exact_svm_transaction_confirmation_timed_out`) unless its reason says that transaction failed.
 * A refusal without a transaction and without such a reason is definitive: nothing was sent.
 *
 * @example
 * ```ts
 * isSettleOutcomeUnknown({ success: false, errorReason: "unexpected_settle_error", transaction: "", network: "" }); // true
 * isSettleOutcomeUnknown({ success: false, errorReason: "invalid_payload", transaction: "", network: "" }); // false
 * ```
 */
export function isSettleOutcomeUnknown(answer: SettleResponse): boolean {
  const reason = answer.errorReason ?? "";
  if (pendingReasons.has(reason) || reason.startsWith("unexpected_")) return true;
  // A timed-out settlement was sent, whether or not the answer names its transaction.
  if (/timed_out|timeout/.test(reason)) return true;
  return Boolean(answer.transaction) && !isDefinitiveFailure(reason);
}
