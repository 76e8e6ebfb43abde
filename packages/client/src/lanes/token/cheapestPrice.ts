import type { Offer } from "@tollgate/shared";

/** The lowest price among the offers that name one (what a token debit will cost); `undefined` when none does. */
export function cheapestPrice(offers: readonly Offer[]): bigint | undefined {
  let lowest: bigint | undefined;
  for (const offer of offers) {
    if (offer.lane === "token") continue;
    if (lowest === undefined || offer.amount < lowest) lowest = offer.amount;
  }
  return lowest;
}
