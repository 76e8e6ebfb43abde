import {
  type DirectOffer,
  type FacilitatorOffer,
  type Lane,
  type NetworkRegistry,
  type Offer,
  quoteUntrusted,
} from "@tollgate/shared";
import type { OfferRejection, OfferSummary } from "../events.js";
import type { BudgetTracker } from "../policy/budgets.js";
import {
  canonicalNetworkEntry,
  type DirectLanePolicy,
  defaultDirectLanePolicy,
  listsReason,
  type SpendingPolicy,
} from "../policy/policy.js";
import { networkFamily, networkMatches, type PayingWallet } from "../wallet.js";

/** An offer the client can pay, with the wallet that pays it and what leaves the wallet. */
export type Candidate = Readonly<{
  offer: FacilitatorOffer | DirectOffer;
  wallet: PayingWallet;
  amount: bigint;
}>;

/** What selection made of a 402's offers: the payable ones, best first, and why each other one was dropped. */
export type Selection = Readonly<{ candidates: readonly Candidate[]; rejected: readonly OfferRejection[] }>;

/** A short, log-safe summary of an offer. */
export function summarize(offer: Offer): OfferSummary {
  if (offer.lane === "token") return { lane: "token", priority: offer.priority };
  return {
    lane: offer.lane,
    network: offer.network,
    amount: offer.amount,
    asset: offer.asset,
    payTo: offer.payTo,
    priority: offer.priority,
    ...(offer.lane === "facilitator" ? { x402Version: offer.x402Version } : {}),
  };
}

/** A server-chosen identifier as it is when it looks like one, else quoted and sanitised. */
function identifier(value: string | undefined): string {
  if (value === undefined) return "?";
  return /^[A-Za-z0-9:._-]{1,128}$/.test(value) ? value : quoteUntrusted(value, 80);
}

/** One line naming an offer, for error contexts; what the server chose (network, asset, payee) quoted if odd. */
export function describeOffer(offer: OfferSummary): string {
  if (offer.lane === "token") return "token";
  const version = offer.x402Version === undefined ? "" : ` v${offer.x402Version}`;
  return `${offer.lane}${version} ${identifier(offer.network)} ${offer.amount} ${identifier(offer.asset)} to ${identifier(offer.payTo)}`;
}

/**
 * Why the direct-lane policy forbids a transfer of `amount` for `offer`: more confirmations than the owner waits for,
 * or a dust transfer whose fee the USDC budgets would not see.
 */
function directLaneReason(
  policy: DirectLanePolicy | undefined,
  offer: DirectOffer,
  amount: bigint,
): string | undefined {
  const {
    maxConfirmations = defaultDirectLanePolicy.maxConfirmations,
    minAmount = defaultDirectLanePolicy.minAmount,
  } = policy ?? {};
  if (offer.confirmations > maxConfirmations) return "confirmations_exceed_max";
  if (amount < minAmount) return "direct_amount_below_minimum";
  return undefined;
}

/** Parameters of `selectOffers`. */
export type SelectOffersParameters = Readonly<{
  offers: readonly Offer[];
  /**
   * Lanes that already failed for this request: their offers are rejected as `<lane>_lane_failed`, listed first.
   * @default none
   */
  exclude?: ReadonlySet<Lane>;
  wallets: readonly PayingWallet[];
  policy: SpendingPolicy;
  maxPerRequest: bigint;
  /**
   * What earlier proofs of this logical request that can still move money add up to: an offer is payable only while
   * it fits `maxPerRequest` together with them (else `earlier_proof_live`).
   * @default 0n
   */
  live?: bigint;
  /** The budgets' room, as read for this selection. */
  budgets: Pick<BudgetTracker, "check">;
  /** The origin being paid. */
  origin: string;
  registry: Pick<NetworkRegistry, "find">;
}>;

/**
 * Drops the offers no wallet can pay or the policy forbids, keeping a reason for each, and orders the rest by
 * the server's priority, then the caller's preferred networks, then the order offered. The token lane is never a
 * candidate here: a usable held token is spent before selection (`usableToken`), so reaching this means none was.
 */
export function selectOffers(parameters: SelectOffersParameters): Selection {
  const {
    offers,
    exclude,
    wallets,
    policy,
    maxPerRequest,
    live = 0n,
    budgets,
    origin,
    registry,
  } = parameters;
  const normalise = (network: string) => canonicalNetworkEntry(network, registry);
  const prefer = (policy.preferNetworks ?? []).map(normalise);
  const rejected: OfferRejection[] = offers
    .filter((o) => exclude?.has(o.lane) === true)
    .map((o) => ({ offer: summarize(o), reason: `${o.lane}_lane_failed` }));
  const ranked: { candidate: Candidate; index: number }[] = [];

  for (const [index, offer] of offers.entries()) {
    if (exclude?.has(offer.lane) === true) continue;
    const reject = (reason: string) => rejected.push({ offer: summarize(offer), reason });
    if (offer.lane === "token") {
      reject("no_usable_token");
      continue;
    }
    const family = networkFamily(offer.network);
    const direct = offer.lane === "direct";
    const wallet = wallets.find(
      (w) =>
        w.family === family &&
        (direct ? w.prepareDirectTransfer !== undefined : w.createExactPayment !== undefined) &&
        (w.networks === undefined || w.networks.some((n) => networkMatches(n, offer.network))),
    );
    if (wallet === undefined) {
      reject(family === undefined ? "network_unsupported" : "no_wallet_for_network");
      continue;
    }
    const walletReason = direct ? wallet.checkDirectOffer?.(offer) : wallet.checkExactOffer?.(offer);
    if (walletReason !== undefined) {
      reject(walletReason);
      continue;
    }
    const listReason = listsReason(
      policy,
      {
        origin,
        network: offer.network,
        asset: offer.asset,
        payee: offer.payTo,
        ...(registry.find(offer.network)?.usdc ? { usdc: registry.find(offer.network)?.usdc?.address } : {}),
      },
      normalise,
    );
    if (listReason !== undefined) {
      reject(listReason);
      continue;
    }
    // A direct transfer sends at least the server's minimum (the surplus comes back as a token): that is what leaves.
    const amount = direct && offer.minAmount > offer.amount ? offer.minAmount : offer.amount;
    if (amount > maxPerRequest) {
      reject("amount_exceeds_max");
      continue;
    }
    if (amount + live > maxPerRequest) {
      reject("earlier_proof_live");
      continue;
    }
    const directReason = direct ? directLaneReason(policy.direct, offer, amount) : undefined;
    if (directReason !== undefined) {
      reject(directReason);
      continue;
    }
    const violation = budgets.check(amount, origin);
    if (violation !== undefined) {
      reject(`budget_exhausted:${violation.budget}`);
      continue;
    }
    ranked.push({ candidate: { offer, wallet, amount }, index });
  }

  const preference = (offer: FacilitatorOffer | DirectOffer) => {
    const i = prefer.indexOf(offer.network);
    return i === -1 ? prefer.length : i;
  };
  ranked.sort(
    (a, b) =>
      a.candidate.offer.priority - b.candidate.offer.priority ||
      preference(a.candidate.offer) - preference(b.candidate.offer) ||
      a.index - b.index,
  );
  return { candidates: ranked.map((r) => r.candidate), rejected };
}
