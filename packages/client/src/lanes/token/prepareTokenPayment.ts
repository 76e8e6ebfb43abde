import type { Offer, TokenOffer } from "@tollgate/shared";
import type { LanePayment } from "../../ledger/newLedgerEntry.js";
import type { PaymentContext } from "../../paymentContext.js";
import { listsReason } from "../../policy/policy.js";
import type { BufferedRequest } from "../../request/bufferRequest.js";
import { summarize } from "../../select/selectOffers.js";
import { cheapestPrice } from "./cheapestPrice.js";

/** Parameters of `prepareTokenPayment`. */
export type PrepareTokenPaymentParameters = Readonly<{
  context: Pick<PaymentContext, "tokens" | "policy" | "now" | "emit">;
  /** The request being paid for, for the event. */
  request: BufferedRequest;
  /** The URL the token will be sent to; only its origin's token is ever spent. */
  url: string;
  /** The offers of the 402. */
  offers: readonly Offer[];
}>;

/**
 * The prepaid token held for this origin, ready for the ledger, when the 402 offers the token lane, the token is
 * unexpired, its balance covers the cheapest price and the policy allows the origin (reported as `offer.selected`);
 * else `undefined`.
 */
export async function prepareTokenPayment(
  parameters: PrepareTokenPaymentParameters,
): Promise<LanePayment | undefined> {
  const { context, request, url, offers } = parameters;
  const { tokens, policy, now, emit } = context;
  const offer = offers.find((o): o is TokenOffer => o.lane === "token");
  if (offer === undefined) return undefined;
  const origin = new URL(url).origin;
  const held = await tokens.get(origin);
  if (held === undefined || held.expiresAt <= Math.floor(now() / 1000) || held.balance <= 0n)
    return undefined;
  const price = cheapestPrice(offers);
  if (price !== undefined && held.balance < price) return undefined;
  if (listsReason(policy, { origin }, (n) => n) !== undefined) return undefined;
  emit({ type: "offer.selected", url: request.url, offer: summarize(offer), rejected: [] });
  return {
    lane: "token",
    proof: { name: offer.header, value: held.token },
    offer: { network: "", asset: "", payTo: origin, amount: String(price ?? 0n) },
    claim: "token",
    validBefore: undefined,
  };
}
