import { canonicalCaip2, type NetworkRegistry, type Offer } from "@tollgate/shared";
import type { Budget } from "./budgets.js";
import { originMatches } from "./budgets.js";

/** Lists of what a policy allows or denies. Every entry is matched exactly unless said otherwise. */
export type PolicyLists = Readonly<{
  /** Origins (`https://api.example.com`) or host names, with `*.example.com` for subdomains. */
  origins?: readonly string[];
  /** CAIP-2 ids or v1 names; `eip155:*` and `solana:*` match a whole family. */
  networks?: readonly string[];
  /** Token contracts or mints (EVM addresses compared case-insensitively). */
  assets?: readonly string[];
  /** Payee addresses (EVM addresses compared case-insensitively). */
  payees?: readonly string[];
}>;

/** What the `confirm` hook is asked about. */
export type ConfirmParameters = Readonly<{
  /**
   * Where the money goes: the URL the proof is sent to (the 402's, after any redirect); its origin is the one paid,
   * checked against the lists and counted by the budgets.
   */
  url: string;
  /** The URL the caller asked for; differs from `url` when the 402 came after a redirect. */
  requestUrl: string;
  /** The caller's signal: a hook that waits (for a human, say) should stop when it aborts; the payment stops anyway. */
  signal?: AbortSignal;
  /** The offer the client would pay. */
  offer: Offer;
  /** What leaves the wallet, atomic units. */
  amount: bigint;
}>;

/**
 * The owner's limits on what the paying fetch may spend.
 *
 * @example
 * ```ts
 * import type { SpendingPolicy } from "@tollgate/client";
 * const policy: SpendingPolicy = {
 *   maxPerRequest: 50_000n, // $0.05
 *   budgets: [{ limit: 1_000_000n, window: "day" }],
 *   allow: { networks: ["eip155:8453"] },
 *   deny: { origins: ["*.untrusted.example"] },
 *   confirm: async ({ amount }) => amount < 10_000n,
 * };
 * ```
 */
export type SpendingPolicy = Readonly<{
  /**
   * The most one request may send, atomic units, inclusive (what leaves the wallet, not the price).
   * @default 100_000n ($0.10 of USDC, like the v1 reference client)
   */
  maxPerRequest?: bigint;
  /** Cumulative limits, reserved atomically before signing. @default [] */
  budgets?: readonly Budget[];
  /**
   * Only what these lists name may be paid. Without `assets`, only the registry's USDC of the offer's network is
   * allowed (budgets are counted in its atomic units).
   * @default {} (any origin, network and payee; USDC only)
   */
  allow?: PolicyLists;
  /** Never pay what these lists name; deny wins over allow. @default {} */
  deny?: PolicyLists;
  /**
   * Asked before each new payment, after the budget is reserved; `false` declines (and releases the reservation).
   * @default undefined (no confirmation)
   */
  confirm?: (parameters: ConfirmParameters) => boolean | Promise<boolean>;
  /** Networks to prefer among offers of equal lane and priority, first preferred. @default [] */
  preferNetworks?: readonly string[];
  /**
   * The longest life of a signed authorization, seconds: EVM proofs are signed with
   * `validBefore = now + min(offer.maxTimeoutSeconds, maxAuthorizationSeconds)`. A server that refuses a proof may
   * still hold it and settle it until then, so the proof counts against the budgets and its request until it is
   * provably dead; a short life makes that soon. (Solana proofs live as long as their blockhash, about a minute.)
   * @default 300 (5 minutes)
   */
  maxAuthorizationSeconds?: number;
  /**
   * Limits of the direct lane, where the wallet sends the transfer itself, pays its fee (gas) and waits for it.
   * @default { maxConfirmations: 12, minAmount: 10_000n, fees: [] }
   */
  direct?: DirectLanePolicy;
}>;

/**
 * A limit on the native-currency fees (gas) that direct transfers cost, in the network's smallest native unit: wei
 * of the chain's gas token on EVM networks, lamports on Solana. Budgets in USDC never count fees; these do.
 *
 * @example
 * ```ts
 * import type { DirectFeeLimit } from "@tollgate/client";
 * // On Base: at most 0.00005 ETH of gas per transfer, 0.001 ETH a day.
 * const base: DirectFeeLimit = {
 *   network: "eip155:8453",
 *   maxPerPayment: 50_000_000_000_000n,
 *   budgets: [{ limit: 1_000_000_000_000_000n, window: "day" }],
 * };
 * ```
 */
export type DirectFeeLimit = Readonly<{
  /** The CAIP-2 network it applies to, or a family (`eip155:*`, `solana:*`; EVM chains differ in gas token). */
  network: string;
  /**
   * The most one transfer may cost, checked against the signed transaction's maximum fee before it is broadcast.
   * @default undefined (no cap)
   */
  maxPerPayment?: bigint;
  /**
   * Cumulative fee limits: a transfer's maximum fee is held before it is broadcast and replaced by what it paid once it
   * landed. Same shape as the USDC budgets (`perOrigin`, `origins` allowed), in native units.
   * @default []
   */
  budgets?: readonly Budget[];
}>;

/** The owner's limits on the direct lane. */
export type DirectLanePolicy = Readonly<{
  /**
   * The most confirmations a server may ask the client to wait for; an offer asking more is not payable
   * (`confirmations_exceed_max`). A wait honours the caller's `AbortSignal` whatever this says.
   * @default 12
   */
  maxConfirmations?: number;
  /**
   * The least a direct transfer may send, atomic units: each transfer costs a fee that budgets in USDC do not see,
   * so dust offers are not payable (`direct_amount_below_minimum`).
   * @default 10_000n ($0.01 of USDC)
   */
  minAmount?: bigint;
  /** Fee (gas) limits per network, in native units; every limit whose `network` matches applies. @default [] */
  fees?: readonly DirectFeeLimit[];
}>;

/** The defaults of `policy.direct`. */
export const defaultDirectLanePolicy = { maxConfirmations: 12, minAmount: 10_000n } as const;

/** The default `maxPerRequest`: 0.10 USDC. */
export const defaultMaxPerRequest = 100_000n;

/** The default `maxAuthorizationSeconds`: 5 minutes. */
export const defaultMaxAuthorizationSeconds = 300;

function sameAddress(a: string, b: string): boolean {
  return a.startsWith("0x") && b.startsWith("0x") ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** Normalises a network name to its CAIP-2 id when the registry knows it. */
export type NetworkNormaliser = (network: string) => string;

/**
 * An owner's network entry (in a list, a preference) in the one spelling offers use: a CAIP-2 id canonicalised
 * (`EIP155:084532` is `eip155:84532`), a v1 name the registry knows as its CAIP-2 id, anything else as written.
 */
export function canonicalNetworkEntry(entry: string, registry: Pick<NetworkRegistry, "find">): string {
  if (entry.endsWith(":*")) return `${entry.slice(0, -2).trim().toLowerCase()}:*`;
  const caip2 = canonicalCaip2(entry);
  return registry.find(caip2 ?? entry)?.caip2 ?? caip2 ?? entry;
}

function networkIn(list: readonly string[], network: string, normalise: NetworkNormaliser): boolean {
  return list.some((entry) => {
    const canonical = normalise(entry);
    if (canonical.endsWith(":*")) return network.startsWith(canonical.slice(0, -1));
    return canonical === network;
  });
}

/** The facts about an offer the lists are checked against. */
export type PolicySubject = Readonly<{
  origin: string;
  network?: string;
  asset?: string;
  payee?: string;
  /** The registry's USDC for the network, to check the default asset rule. */
  usdc?: string;
}>;

/** Why the lists forbid paying `subject`, or `undefined`. Deny is checked first. */
export function listsReason(
  policy: SpendingPolicy,
  subject: PolicySubject,
  normalise: NetworkNormaliser,
): string | undefined {
  const { allow = {}, deny = {} } = policy;
  const { origin, network, asset, payee } = subject;
  if (deny.origins?.some((e) => originMatches(e, origin))) return "origin_denied";
  if (allow.origins && !allow.origins.some((e) => originMatches(e, origin))) return "origin_not_allowed";
  if (network !== undefined) {
    if (deny.networks && networkIn(deny.networks, network, normalise)) return "network_denied";
    if (allow.networks && !networkIn(allow.networks, network, normalise)) return "network_not_allowed";
  }
  if (asset !== undefined) {
    if (deny.assets?.some((a) => sameAddress(a, asset))) return "asset_denied";
    if (allow.assets) {
      if (!allow.assets.some((a) => sameAddress(a, asset))) return "asset_not_allowed";
    } else if (subject.usdc === undefined || !sameAddress(subject.usdc, asset)) {
      return "asset_not_usdc";
    }
  }
  if (payee !== undefined) {
    if (deny.payees?.some((p) => sameAddress(p, payee))) return "payee_denied";
    if (allow.payees && !allow.payees.some((p) => sameAddress(p, payee))) return "payee_not_allowed";
  }
  return undefined;
}
