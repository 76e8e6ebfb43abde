import { TollgateError } from "@tollgate/shared";
import { entrySummary, eventUrls } from "../events.js";
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

/** The one refusal that proves a proof never settled: the server promises it will never settle it later. */
const neverSettledReason = "facilitator_unavailable";

/** Answers of a gateway in front of the server: the proof may have been taken and settled behind it. */
const gatewayStatuses = new Set([502, 503, 504]);

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
 * Handles the answer to a proof. A gateway's 502/503/504: pending (the next call re-sends the same proof). Any other
 * answer but a 402: the server took the proof: the entry is settled, the receipt kept, a redirect followed. A 402:
 * pending (retry the same proof later), consumed (it settled before, or a re-sent proof may have: never pay again
 * automatically) or refused (dead; its hold stops counting once it can no longer settle).
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
    const header = receiptFromHeaders({ headers: response.headers });
    if (gatewayStatuses.has(response.status) && header?.settle?.success !== true) {
      // A gateway answered: the server behind it may have settled. The entry stays pending (and on the budget), so
      // the next call sends this very proof again.
      emit({
        type: "payment.pending",
        ...eventUrls(entry.url, request.url),
        offer: summary,
        retryAfterSeconds: 1,
      });
      return { kind: "answered", response };
    }
    // Any other answer: the server took the proof. An error status may still have been charged (settlement before
    // the handler), so the hold keeps counting.
    await putEntryState({ ledger, now, entry, state: "settled" });
    emit({
      type: "payment.settled",
      ...eventUrls(entry.url, request.url),
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
    emit({
      type: "payment.pending",
      ...eventUrls(entry.url, request.url),
      offer: summary,
      retryAfterSeconds,
    });
    return { kind: "pending", retryAfterSeconds };
  }
  emit({
    type: "payment.refused",
    ...eventUrls(entry.url, request.url),
    offer: summary,
    status: response.status,
    reason,
  });
  // A re-sent proof may have settled when it was first sent, and a server checks expiry (and much else) before
  // it checks use: only its promise that the proof never settles makes a new payment safe.
  const mayHaveSettled = reused && entry.lane !== "token" && reason !== neverSettledReason;
  if (consumedReasons.has(reason) || entry.lane === "direct" || mayHaveSettled) {
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
