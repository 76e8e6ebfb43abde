import type { Offer } from "@tollgate/shared";
import { eventUrls } from "../../events.js";
import type { LanePayment } from "../../ledger/newLedgerEntry.js";
import type { PaymentContext } from "../../paymentContext.js";
import type { BufferedRequest } from "../../request/bufferRequest.js";
import { summarize } from "../../select/selectOffers.js";
import { usableToken } from "./usableToken.js";

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
  const origin = new URL(url).origin;
  const usable = usableToken({
    offers,
    held: await tokens.get(origin),
    origin,
    policy,
    nowSeconds: Math.floor(now() / 1000),
  });
  if (usable === undefined) return undefined;
  const { offer, held, price } = usable;
  emit({ type: "offer.selected", ...eventUrls(url, request.url), offer: summarize(offer), rejected: [] });
  return {
    lane: "token",
    proof: { name: offer.header, value: held.token },
    offer: { network: "", asset: "", payTo: origin, amount: String(price ?? 0n) },
    claim: "token",
    validBefore: undefined,
  };
}
