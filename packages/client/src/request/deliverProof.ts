import { TollgateError } from "@tollgate/shared";
import type { LedgerEntry } from "../ledger/ledger.js";
import { putEntryState } from "../ledger/putEntryState.js";
import type { PaymentContext } from "../paymentContext.js";
import { afterProof, type ProofOutcome } from "./afterProof.js";
import type { BufferedRequest } from "./bufferRequest.js";
import { sendProof } from "./sendProof.js";

/** The longest `Retry-After` the client honours between re-sends of a pending proof. */
const maxRetryAfterSeconds = 30;

/** Parameters of `deliverProof`. */
export type DeliverProofParameters = Readonly<{
  context: Pick<
    PaymentContext,
    | "ledger"
    | "tokens"
    | "proofs"
    | "receipts"
    | "now"
    | "emit"
    | "send"
    | "sleep"
    | "settlementRetries"
    | "readLimits"
  >;
  request: BufferedRequest;
  /** The recorded proof to send. */
  entry: LedgerEntry;
  /** Whether the proof was recorded by an earlier attempt. */
  reused: boolean;
}>;

/**
 * Sends a recorded proof and waits out `settlement_pending` answers by re-sending the very same proof (after the
 * server's `Retry-After`, capped at 30 s, at most `settlementRetries` times).
 *
 * @throws `CLIENT__SETTLEMENT_PENDING` (still pending, or the send failed), `CLIENT__ABORTED`, the `fetch` error when
 *   the first send of a proof could not connect (the proof never left: its entry is dead, its hold released),
 *   `CLIENT__PAYMENT_REFUSED` (the proof was consumed)
 */
export async function deliverProof(
  parameters: DeliverProofParameters,
): Promise<Exclude<ProofOutcome, { kind: "pending" }>> {
  const { context, request, entry, reused } = parameters;
  const { send, sleep, settlementRetries } = context;
  for (let attempt = 0; ; attempt++) {
    const sent = await sendProof({ send, request, entry });
    if ("error" in sent) {
      if (sent.notSent === true && !reused && attempt === 0) {
        // This proof never left: it is dead, and nothing counts against the budget.
        await putEntryState({ ledger: context.ledger, now: context.now, entry, state: "refused" });
        context.proofs.dead(entry);
        // The server could not be reached: the fetch error, as for a request that never met a 402.
        throw sent.error.cause;
      }
      throw sent.error;
    }
    const outcome = await afterProof({
      context,
      request,
      entry,
      response: sent.response,
      reused: reused || attempt > 0,
    });
    if (outcome.kind !== "pending") return outcome;
    if (attempt >= settlementRetries) {
      throw new TollgateError("CLIENT__SETTLEMENT_PENDING", {
        context: { url: request.url, retryAfterSeconds: outcome.retryAfterSeconds },
      });
    }
    try {
      await sleep(Math.min(outcome.retryAfterSeconds, maxRetryAfterSeconds) * 1000, request.signal);
    } catch (cause) {
      throw new TollgateError("CLIENT__ABORTED", {
        context: { url: request.url, stage: "settlement_pending" },
        cause,
      });
    }
  }
}
