import type { Offer } from "@tollgate/shared";
import type { OfferRejection } from "../events.js";
import { usableToken } from "../lanes/token/usableToken.js";
import { readOffers } from "../parse/readOffers.js";
import type { PaymentContext } from "../paymentContext.js";
import type { BufferedRequest } from "../request/bufferRequest.js";
import { paymentUrl } from "../request/paymentUrl.js";
import { selectOffers } from "./selectOffers.js";

/** What `quote` found: every offer, the one the client would pay, and why each other one was not taken. */
export type Quote = Readonly<{
  /** The status of the unpaid response; offers are read only from a 402. */
  status: number;
  /**
   * Where the money would go: the URL a proof would be sent to (the 402's, after any redirect), whose origin the
   * lists and budgets were checked against.
   */
  url: string;
  offers: readonly Offer[];
  /**
   * The offer the client would pay now, what would leave the wallet, and the paying wallet's address
   * (`"prepaid-token"` for a stored token); `undefined` when none is payable.
   */
  chosen?: Readonly<{ offer: Offer; amount: bigint; wallet: string }>;
  /** Payable offers after the chosen one, in order. */
  alternatives: readonly Offer[];
  rejected: readonly OfferRejection[];
  /** Parts of the 402 that could not be read. */
  problems: readonly string[];
}>;

/** Parameters of `quoteOffers`. */
export type QuoteOffersParameters = Readonly<{
  context: Pick<
    PaymentContext,
    "wallets" | "policy" | "maxPerRequest" | "budgets" | "registry" | "tokens" | "now" | "readLimits"
  >;
  /** The request as sent unpaid. */
  request: BufferedRequest;
  /** Its unpaid response. */
  response: Response;
}>;

/**
 * Explains what the paying fetch would pay for an unpaid response, without paying or reserving: a held token first
 * (nothing leaves the wallet), else the best offer selection keeps. A response other than a 402 has no offers (its
 * body is cancelled).
 */
export async function quoteOffers(parameters: QuoteOffersParameters): Promise<Quote> {
  const { context, request, response } = parameters;
  const { wallets, policy, maxPerRequest, budgets, registry, tokens, now } = context;
  if (response.status !== 402) {
    await response.body?.cancel().catch(() => undefined);
    return {
      status: response.status,
      url: request.url,
      offers: [],
      alternatives: [],
      rejected: [],
      problems: [],
    };
  }
  const url = paymentUrl(request, response);
  const reading = await readOffers(response, context.readLimits);
  const selection = selectOffers({
    offers: reading.offers,
    wallets,
    policy,
    maxPerRequest,
    budgets: await budgets.room(new URL(url).origin),
    origin: new URL(url).origin,
    registry,
  });
  const [first, ...rest] = selection.candidates;
  const origin = new URL(url).origin;
  const usable = usableToken({
    offers: reading.offers,
    held: await tokens.get(origin),
    origin,
    policy,
    nowSeconds: Math.floor(now() / 1000),
  });
  if (usable !== undefined) {
    // The token is spent first: nothing leaves the wallet.
    return {
      status: response.status,
      url,
      offers: reading.offers,
      chosen: { offer: usable.offer, amount: 0n, wallet: "prepaid-token" },
      alternatives: selection.candidates.map((c) => c.offer),
      rejected: selection.rejected.filter((r) => r.offer.lane !== "token"),
      problems: reading.problems,
    };
  }
  return {
    status: response.status,
    url,
    offers: reading.offers,
    ...(first === undefined
      ? {}
      : { chosen: { offer: first.offer, amount: first.amount, wallet: first.wallet.address } }),
    alternatives: rest.map((c) => c.offer),
    rejected: selection.rejected,
    problems: reading.problems,
  };
}
