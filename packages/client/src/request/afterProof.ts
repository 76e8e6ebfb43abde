import { TollgateError } from "@tollgate/shared";
import { entrySummary } from "../events.js";
import { keepTokens } from "../lanes/token/keepTokens.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { putEntryState } from "../ledger/putEntryState.js";
import { type PaymentRequiredResponse, readOffers, refusalReason } from "../parse/readOffers.js";
import type { PaymentContext } from "../paymentContext.js";
import type { Hold } from "../policy/budgets.js";
import { receiptFromHeaders } from "../receipt/getReceipt.js";
import { paidReceipt } from "../receipt/paidReceipt.js";
import type { BufferedRequest } from "./bufferRequest.js";
import { followAfterPayment } from "./followAfterPayment.js";

/** Refusal reasons saying the proof was already used: it settled earlier, so paying again would pay twice. */
const consumedReasons = new Set([
  "invalid_exact_evm_nonce_already_used",
  "invalid_transaction_state",
  "duplicate_settlement",
  "replayed_payment",
  "payment_already_used",
]);

const settlementPendingReason = "settlement_pending";

/** A refused proof: the server's reason, and its 402 (with the offers to pay anew). */
export type Refusal = Readonly<{ reading: PaymentRequiredResponse; reason: string }>;

/** What became of a proof: answered (paid, or served without charge), refused (dead), or pending (send it again). */
export type ProofOutcome =
  | { kind: "answered"; response: Response }
  | ({ kind: "refused" } & Refusal)
  | { kind: "pending"; retryAfterSeconds: number };

/** Parameters of `afterProof`. */
export type AfterProofParameters = Readonly<{
  context: Pick<PaymentContext, "ledger" | "tokens" | "budgets" | "receipts" | "now" | "emit" | "send">;
  request: BufferedRequest;
  /** The proof that was sent. */
  entry: LedgerEntry;
  /** The server's answer to it. */
  response: Response;
  /** What the proof holds against the budgets (none for a token or a proof of an earlier attempt). */
  hold: Hold | undefined;
  /** Whether the proof was recorded by an earlier attempt, or re-sent after `settlement_pending`. */
  reused: boolean;
}>;

/**
 * Handles the answer to a proof. Not a 402: the payment went through (or the server answered without charging): the
 * entry is settled, the receipt kept, a redirect followed. A 402: pending (retry the same proof later), consumed (it
 * settled before; never pay again) or refused (dead; its hold stops counting once it can no longer settle).
 *
 * @throws `CLIENT__PAYMENT_REFUSED` (the proof was consumed, or a direct transfer refused)
 */
export async function afterProof(parameters: AfterProofParameters): Promise<ProofOutcome> {
  const { context, request, entry, response, hold, reused } = parameters;
  const { ledger, tokens, budgets, receipts, now, emit, send } = context;
  const summary = entrySummary(entry);
  const spent = entry.lane === "token" ? entry.proof.value : undefined;
  await keepTokens({ tokens, now, url: entry.url, response, spent });
  if (response.status !== 402) {
    await putEntryState({ ledger, now, entry, state: "settled" });
    const header = receiptFromHeaders({ headers: response.headers });
    if (hold !== undefined && !response.ok && header?.settle?.success !== true && entry.validBefore) {
      // Answered with an error and not charged: the proof stops counting once it can no longer settle.
      budgets.release(hold, entry.validBefore * 1000);
    }
    emit({
      type: "payment.settled",
      url: request.url,
      offer: summary,
      status: response.status,
      ...(header?.transaction ? { transaction: header.transaction } : {}),
    });
    const final = await followAfterPayment({ send, request, response });
    receipts.set(final, paidReceipt({ entry, header, reused }));
    return { kind: "answered", response: final };
  }
  const reading = await readOffers(response);
  const reason = refusalReason(reading);
  if (reason === settlementPendingReason) {
    const retryAfterSeconds = reading.retryAfterSeconds ?? 1;
    emit({ type: "payment.pending", url: request.url, offer: summary, retryAfterSeconds });
    return { kind: "pending", retryAfterSeconds };
  }
  emit({ type: "payment.refused", url: request.url, offer: summary, status: response.status, reason });
  if (consumedReasons.has(reason) || entry.lane === "direct") {
    // A direct transfer is on chain whatever the server says, and a used proof settled earlier (its answer was
    // lost): paying again would pay twice.
    await putEntryState({ ledger, now, entry, state: "consumed" });
    throw new TollgateError("CLIENT__PAYMENT_REFUSED", {
      context: { url: request.url, reason, status: response.status },
    });
  }
  await putEntryState({ ledger, now, entry, state: "refused" });
  if (entry.lane === "token") await tokens.delete(new URL(entry.url).origin);
  // A refused proof stays on the budget until it can no longer settle (a server that lies keeps it at most that long).
  if (hold !== undefined) {
    budgets.release(hold, entry.validBefore !== undefined ? entry.validBefore * 1000 : now());
  }
  return { kind: "refused", reading, reason };
}
