import { TollgateError } from "@tollgate/shared";
import type { OfferRejection } from "../events.js";
import { describeOffer } from "./selectOffers.js";

/** Parameters of `noPayableOfferError`. */
export type NoPayableOfferErrorParameters = Readonly<{
  /** The request being paid for. */
  url: string;
  /** Every offer of the 402, with why it was not taken. */
  rejections: readonly OfferRejection[];
  /** The policy's limit per request, atomic units. */
  maxPerRequest: bigint;
}>;

/**
 * The error for a 402 none of whose offers can be paid: `CLIENT__AMOUNT_EXCEEDS_MAX` (for the cheapest offer) when
 * the per-request limit is the only policy reason, else `CLIENT__NO_PAYABLE_OFFER` with every offer's reason.
 */
export function noPayableOfferError(parameters: NoPayableOfferErrorParameters): TollgateError {
  const { url, rejections, maxPerRequest } = parameters;
  const limited = rejections.filter((r) => !isWalletReason(r.reason));
  if (limited.length > 0 && limited.every((r) => r.reason === "amount_exceeds_max")) {
    const cheapest = limited.reduce((a, b) => ((a.offer.amount ?? 0n) <= (b.offer.amount ?? 0n) ? a : b));
    return new TollgateError("CLIENT__AMOUNT_EXCEEDS_MAX", {
      context: {
        amount: String(cheapest.offer.amount ?? 0n),
        max: maxPerRequest.toString(),
        network: cheapest.offer.network ?? "",
      },
    });
  }
  return new TollgateError("CLIENT__NO_PAYABLE_OFFER", {
    context: {
      url,
      rejections: rejections.map((r) => ({ offer: describeOffer(r.offer), reason: r.reason })),
    },
  });
}

/** Whether a rejection reason says no wallet could pay the offer at all (as opposed to a policy limit). */
export function isWalletReason(reason: string): boolean {
  return !(
    reason === "amount_exceeds_max" ||
    reason === "earlier_proof_live" ||
    reason === "confirmations_exceed_max" ||
    reason === "direct_amount_below_minimum" ||
    reason.startsWith("budget_exhausted") ||
    reason.endsWith("_denied") ||
    reason.endsWith("_not_allowed") ||
    reason === "asset_not_usdc"
  );
}
