import type { Offer, TokenOffer } from "@tollgate/shared";
import { listsReason, type SpendingPolicy } from "../../policy/policy.js";
import { cheapestPrice } from "./cheapestPrice.js";
import type { PrepaidToken } from "./tokenStore.js";

/** Parameters of `usableToken`. */
export type UsableTokenParameters = Readonly<{
  /** The offers of the 402. */
  offers: readonly Offer[];
  /** The token held for the origin the proof would go to, if any. */
  held: PrepaidToken | undefined;
  /** The origin the proof would go to. */
  origin: string;
  policy: SpendingPolicy;
  /** Unix seconds. */
  nowSeconds: number;
}>;

/**
 * The token offer and the held token that pays it, when the 402 offers the token lane, the token is unexpired,
 * its balance is above zero and covers the cheapest price, and the policy allows the origin; else `undefined`.
 * The one rule for both paying and quoting.
 */
export function usableToken(
  parameters: UsableTokenParameters,
): Readonly<{ offer: TokenOffer; held: PrepaidToken; price: bigint | undefined }> | undefined {
  const { offers, held, origin, policy, nowSeconds } = parameters;
  const offer = offers.find((o): o is TokenOffer => o.lane === "token");
  if (offer === undefined || held === undefined) return undefined;
  if (held.expiresAt <= nowSeconds || held.balance <= 0n) return undefined;
  const price = cheapestPrice(offers);
  if (price !== undefined && held.balance < price) return undefined;
  if (listsReason(policy, { origin }, (n) => n) !== undefined) return undefined;
  return { offer, held, price };
}
