import { eventUrls } from "../events.js";
import { prepareDirectPayment } from "../lanes/direct/prepareDirectPayment.js";
import { prepareFacilitatorPayment } from "../lanes/facilitator/prepareFacilitatorPayment.js";
import type { PaymentContext } from "../paymentContext.js";
import type { Hold } from "../policy/budgets.js";
import { confirmPayment } from "../policy/confirmPayment.js";
import { defaultMaxAuthorizationSeconds } from "../policy/policy.js";
import { throwIfAborted } from "../request/aborted.js";
import type { BufferedRequest } from "../request/bufferRequest.js";
import { type Candidate, summarize } from "../select/selectOffers.js";
import type { LedgerEntry } from "./ledger.js";
import { type LanePayment, newLedgerEntry } from "./newLedgerEntry.js";

/** Parameters of `recordPayment`. */
export type RecordPaymentParameters = Readonly<{
  context: Pick<PaymentContext, "policy" | "ledger" | "budgets" | "fees" | "now" | "emit">;
  request: BufferedRequest;
  /** The ledger key of the logical request. */
  key: string;
  /** The URL the proof will be sent to. */
  url: string;
  /** The offer to pay, its wallet and amount. */
  candidate: Candidate;
  /** Its amount, held against the budgets. */
  hold: Hold;
  /** The origin being paid. */
  origin: string;
}>;

/**
 * Asks `policy.confirm`, has the offer's lane sign a new proof, and records it in the ledger before it is sent (after
 * a crash, the next call finds it and re-sends it). When any of that fails nothing left the wallet, so the hold is
 * released.
 *
 * @throws `CLIENT__CONFIRM_DECLINED`, `CLIENT__ABORTED`, `CLIENT__WALLET_FAILED`, `CLIENT__FEE_LIMIT_EXCEEDED`,
 *   `WIRE__ENCODE_FAILED`, and whatever the ledger throws
 */
export async function recordPayment(parameters: RecordPaymentParameters): Promise<LedgerEntry> {
  const { context, request, key, url, candidate, hold, origin } = parameters;
  const { policy, ledger, budgets, fees, now, emit } = context;
  const { offer, wallet, amount } = candidate;
  // Recorded before it is sent: after a crash, the next call finds this proof and re-sends it.
  const record = async (payment: LanePayment): Promise<LedgerEntry> => {
    const entry = newLedgerEntry({
      request,
      key,
      url,
      now,
      payment,
      ...(hold.id === undefined ? {} : { holdId: hold.id }),
    });
    await ledger.put(entry);
    return entry;
  };
  try {
    await confirmPayment({
      policy,
      url,
      requestUrl: request.url,
      offer,
      amount,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
    throwIfAborted(request, "sign");
    const entry =
      offer.lane === "facilitator"
        ? await record(
            await prepareFacilitatorPayment({
              now,
              request,
              wallet,
              offer,
              amount,
              maxLifetimeSeconds: policy.maxAuthorizationSeconds ?? defaultMaxAuthorizationSeconds,
            }),
          )
        : await prepareDirectPayment({ request, wallet, offer, amount, origin, fees, record });
    emit({
      type: "payment.signed",
      ...eventUrls(url, request.url),
      offer: summarize(offer),
      claim: entry.claim,
    });
    return entry;
  } catch (error) {
    // Nothing left the wallet: the proof was never sent.
    budgets.release(hold);
    throw error;
  }
}
