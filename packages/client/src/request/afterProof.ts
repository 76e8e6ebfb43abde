import { TollgateError } from "@tollgate/shared";
import { entrySummary, eventUrls } from "../events.js";
import { keepTokens } from "../lanes/token/keepTokens.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { ledgerLock } from "../ledger/ledgerLock.js";
import { putEntryState } from "../ledger/putEntryState.js";
import { type PaymentRequiredResponse, readOffers, refusalReason } from "../parse/readOffers.js";
import type { PaymentContext } from "../paymentContext.js";
import { receiptFromHeaders } from "../receipt/getReceipt.js";
import { paidReceipt } from "../receipt/paidReceipt.js";
import { aborted } from "./aborted.js";
import type { BufferedRequest } from "./bufferRequest.js";
import { followAfterPayment } from "./followAfterPayment.js";
import { whenBodyBreaks } from "./whenBodyBreaks.js";

/**
 * Puts a proof whose answer broke on its way back to pending (under the request's ledger lock). When another proof of
 * the same request is pending in the request's own place (a concurrent copy paid and broke too), this one is kept
 * beside it under its claim rather than replacing it: no proof whose outcome was not received is forgotten.
 */
async function putPendingAgain(
  parameters: Readonly<{ ledger: PaymentContext["ledger"]; now: () => number; entry: LedgerEntry }>,
): Promise<void> {
  const { ledger, now, entry } = parameters;
  const { slot: _slot, ...own } = entry;
  const current = await ledger.get(entry.key);
  const taken = current !== undefined && current.state === "pending" && current.claim !== entry.claim;
  await putEntryState({ ledger, now, entry: taken ? { ...own, slot: entry.claim } : own, state: "pending" });
}

/** Refusal reasons saying the proof was already used: it settled earlier, so paying again would pay twice. */
const consumedReasons = new Set([
  "invalid_exact_evm_nonce_already_used",
  "invalid_transaction_state",
  "duplicate_settlement",
  "replayed_payment",
  "payment_already_used",
]);

const settlementPendingReason = "settlement_pending";

/**
 * The refusal in which the server promises it never sent the proof to `/settle` and never will. Only the server
 * vouches for it, so the proof stays doubtful; it only allows a re-sent proof to be replaced.
 */
const neverSettledReason = "facilitator_unavailable";

/**
 * Whether an answer to a proof is not a final answer to it, so may hide its outcome: a 5xx (a gateway's 502/503/504,
 * or a server that failed after settling), 408 (timed out), 425 (too early) and 429 (rate limited: "come back
 * later", maybe after settling). Without a successful receipt the proof stays pending, and the retry re-sends it.
 */
function unclearStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

/** A refused proof: the server's reason, and its 402 (with the offers to pay anew). */
export type Refusal = Readonly<{ reading: PaymentRequiredResponse; reason: string; serverMessage?: string }>;

/**
 * What became of a proof: answered (paid, served without charge, or an unclear 5xx that leaves it pending), refused
 * (doubtful until provably dead), or pending (send it again).
 */
export type ProofOutcome =
  | { kind: "answered"; response: Response }
  | ({ kind: "refused" } & Refusal)
  | { kind: "pending"; retryAfterSeconds: number };

/** Parameters of `afterProof`. */
export type AfterProofParameters = Readonly<{
  context: Pick<
    PaymentContext,
    "ledger" | "tokens" | "proofs" | "receipts" | "now" | "emit" | "send" | "readLimits"
  >;
  request: BufferedRequest;
  /** The proof that was sent. */
  entry: LedgerEntry;
  /** The server's answer to it. */
  response: Response;
  /** Whether the proof was recorded by an earlier attempt, or re-sent after `settlement_pending`. */
  reused: boolean;
}>;

/**
 * Handles the answer to a proof. A proof whose outcome was not fully received stays pending, whatever the key (the
 * next call re-sends the very same proof): a 408, 425, 429 or 5xx without a successful receipt (not a final answer to
 * the proof), a paid redirect that could not be followed, a body that broke on its way (the proof goes back to
 * pending before the reader sees the failure). A 2xx, a 3xx (followed) and any other 4xx are the server taking the
 * proof and answering: settled, the receipt kept, and the request over (the same request again is a new purchase).
 * An answer of 400 or more whose receipt says the money moved (a paid 402 included) bought nothing usable: consumed,
 * so the same request re-sends this proof for an hour rather than paying again. A 402 without one: pending
 * (`settlement_pending`: retry the same proof later), consumed (it settled before, or a re-sent proof may have: never
 * pay again automatically) or refused (doubtful: it counts against its request and the budgets until provably dead).
 *
 * @throws `CLIENT__PAYMENT_REFUSED` (the proof was consumed, or a direct transfer refused),
 *   `CLIENT__SETTLEMENT_PENDING` (a paid redirect could not be followed: the proof stays pending),
 *   `CLIENT__ABORTED`, `TypeError` for a paid redirect under `redirect: "error"`, as `fetch` does
 */
export async function afterProof(parameters: AfterProofParameters): Promise<ProofOutcome> {
  const { context, request, entry, response, reused } = parameters;
  const { ledger, tokens, proofs, receipts, now, emit, send } = context;
  const summary = entrySummary(entry);
  const spent = entry.lane === "token" ? entry.proof.value : undefined;
  await keepTokens({ tokens, now, url: entry.url, response, spent });
  const header = receiptFromHeaders({ headers: response.headers });
  const paid = header?.settle?.success === true;
  if (response.status !== 402 || paid) {
    if (unclearStatus(response.status) && !paid) {
      // A gateway, or a server that failed after it may have settled: the entry stays pending (and on the budget),
      // so the next call sends this very proof again.
      emit({
        type: "payment.pending",
        ...eventUrls(entry.url, request.url),
        offer: summary,
        retryAfterSeconds: 1,
      });
      return { kind: "answered", response };
    }
    emit({
      type: "payment.settled",
      ...eventUrls(entry.url, request.url),
      offer: summary,
      status: response.status,
      ...(header?.transaction ? { transaction: header.transaction } : {}),
    });
    // A paid answer the caller cannot use (a 402, or any error, with a successful receipt): the money moved but the
    // request got nothing. The entry is kept as consumed, so the caller's retry of the same request re-sends this
    // proof (the server replays its answer, or says it was used) and the proof keeps counting against the request.
    const paidUnusable = paid && response.status >= 400;
    const markSettled = async () => {
      // An error status may still have been charged (settlement before the handler): the hold keeps counting.
      await putEntryState({ ledger, now, entry, state: paidUnusable ? "consumed" : "settled" });
      if (paidUnusable) proofs.spent(entry);
      else proofs.served(entry);
    };
    let final: Response;
    try {
      final = await followAfterPayment({ send, request, response });
    } catch (cause) {
      if (request.rest.redirect === "error") {
        // The caller refuses redirects: the 3xx was the whole answer, received in full.
        await markSettled();
        throw cause;
      }
      // The paid answer was a redirect whose target could not be reached (or read): the outcome is not received,
      // so the proof stays pending and the retry re-sends it (the server replays its answer).
      throw (
        aborted(request, "redirect") ??
        new TollgateError("CLIENT__SETTLEMENT_PENDING", {
          context: { url: request.url, retryAfterSeconds: 1 },
          cause,
        })
      );
    }
    if (final !== response && unclearStatus(final.status)) {
      emit({
        type: "payment.pending",
        ...eventUrls(entry.url, request.url),
        offer: summary,
        retryAfterSeconds: 1,
      });
      return { kind: "answered", response: final };
    }
    await markSettled();
    // A body cut on its way: the outcome was not fully received, so the proof is pending again (whatever the key).
    const watched = whenBodyBreaks({
      response: final,
      // Under the ledger's lock of the request: a concurrent call of the same request may be paying it since this
      // entry was answered, and its answer must not erase this proof's pending entry (nor this one its proof's).
      onBroken: () =>
        ledgerLock(ledger)(entry.key, async () => {
          await putPendingAgain({ ledger, now, entry });
          proofs.track({ entry, hold: undefined, wallet: undefined });
        }).then(() => {
          emit({
            type: "payment.pending",
            ...eventUrls(entry.url, request.url),
            offer: summary,
            retryAfterSeconds: 1,
          });
        }),
    });
    receipts.set(watched, paidReceipt({ entry, header, reused }));
    return { kind: "answered", response: watched };
  }
  const reading = await readOffers(response, context.readLimits);
  const { reason, serverMessage } = refusalReason(reading);
  const said = serverMessage === undefined ? {} : { serverMessage };
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
    ...said,
  });
  // A re-sent proof may have settled when it was first sent, and a server checks expiry (and much else) before
  // it checks use: only its promise that the proof never settles makes a new payment possible.
  const mayHaveSettled = reused && entry.lane !== "token" && reason !== neverSettledReason;
  if (consumedReasons.has(reason) || entry.lane === "direct" || mayHaveSettled) {
    // A direct transfer is on chain whatever the server says, and a used proof settled earlier (its answer was
    // lost): paying again would pay twice.
    await putEntryState({ ledger, now, entry, state: "consumed" });
    proofs.spent(entry);
    throw new TollgateError("CLIENT__PAYMENT_REFUSED", {
      context: { url: request.url, reason, status: response.status, ...said },
    });
  }
  await putEntryState({ ledger, now, entry, state: "refused" });
  if (entry.lane === "token") await tokens.delete(new URL(entry.url).origin);
  // A refused authorization stays valid in the server's hands until it dies: it keeps counting against its request
  // and the budgets until the chain says it is dead (or it is cancelled there).
  proofs.refused(entry);
  return { kind: "refused", reading, reason, ...said };
}
