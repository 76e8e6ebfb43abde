import type { NetworkRegistry, RefusalReason } from "@tollgate/shared";
import { invalidConfig } from "../config/invalidConfig.js";
import type { FacilitatorPayment } from "./scheme.js";

/**
 * What a facilitator agrees to settle, beyond a scheme's own checks: one option shape for the EVM and the Solana
 * `exact` schemes. Our facilitator pays for every settlement it sends (gas, or the Solana fee), so it settles only
 * the assets its operator chose, never a zero amount, and, when the operator says so, only above a minimum and only
 * for listed payees. A refused payment costs the facilitator no chain call.
 */
export type FacilitatorPaymentPolicy = Readonly<{
  /**
   * The assets settled, by CAIP-2 network: token contracts (EVM, any letter case) or mints (Solana). A network
   * served by the scheme but not listed here settles the registry's USDC of that network. Anything else is refused
   * with `asset_not_accepted` before any chain call: a contract of the caller's choosing could burn the
   * facilitator's gas.
   * @default the registry's USDC of each network
   */
  assets?: Readonly<Record<string, readonly string[]>>;
  /**
   * The smallest amount settled, in atomic units of the asset; below it, `amount_below_minimum`. A zero amount is
   * refused whatever this says.
   * @default 1n
   */
  minAmount?: bigint;
  /**
   * The payees (`payTo`) settled for: EVM addresses (any letter case) or Solana owner addresses. Others are
   * refused with `payee_not_accepted`. Unset: any payee (a public facilitator).
   * @default undefined (any payee)
   */
  payees?: readonly string[];
}>;

/** A policy resolved once per scheme: answers a refusal, or `undefined` when the payment is within it. */
export type PaymentPolicyCheck = (
  requirement: FacilitatorPayment["requirement"],
) => RefusalReason | undefined;

/** Parameters of `resolvePaymentPolicy`. */
export type ResolvePaymentPolicyParameters = Readonly<{
  policy: FacilitatorPaymentPolicy;
  /** The CAIP-2 networks the scheme serves. */
  networks: readonly string[];
  registry: Pick<NetworkRegistry, "find">;
  /** An address in its comparable form (EVM: lowercase), or `undefined` when it is not an address of the family. */
  normalise: (address: string) => string | undefined;
}>;

/**
 * Resolves a `FacilitatorPaymentPolicy` for one scheme: the accepted assets per network (listed, or the registry's
 * USDC), the minimum, the payees, each address validated and normalised once.
 *
 * @example
 * ```ts
 * const check = resolvePaymentPolicy({ policy: { minAmount: 1_000n }, networks: ["eip155:8453"], registry,
 *   normalise: (a) => (isAddress(a, { strict: false }) ? a.toLowerCase() : undefined) });
 * check(requirement); // "amount_below_minimum" | "asset_not_accepted" | "payee_not_accepted" | undefined
 * ```
 * @throws `SERVER__INVALID_CONFIG` when an address is malformed, `minAmount` is negative, `assets` names a network
 * the scheme does not serve, or a network has neither listed assets nor a USDC in the registry.
 */
export function resolvePaymentPolicy(parameters: ResolvePaymentPolicyParameters): PaymentPolicyCheck {
  const { policy, networks, registry, normalise } = parameters;
  const { assets = {}, minAmount = 1n, payees } = policy;
  if (typeof minAmount !== "bigint" || minAmount < 0n) {
    throw invalidConfig("minAmount", "must be a non-negative bigint");
  }
  const valid = (option: string, address: string): string => {
    const normalised = normalise(address);
    if (normalised === undefined) throw invalidConfig(option, `"${address}" is not an address of this chain`);
    return normalised;
  };
  for (const network of Object.keys(assets)) {
    if (!networks.includes(network)) throw invalidConfig("assets", `this scheme does not serve ${network}`);
  }
  const assetsByNetwork = new Map<string, ReadonlySet<string>>();
  for (const network of networks) {
    const listed = assets[network] ?? [];
    const usdc = registry.find(network)?.usdc?.address;
    const accepted = listed.length > 0 ? listed : usdc === undefined ? [] : [usdc];
    if (accepted.length === 0) {
      throw invalidConfig("assets", `no asset for ${network}: list one (the registry has no USDC for it)`);
    }
    assetsByNetwork.set(network, new Set(accepted.map((a) => valid(`assets.${network}`, a))));
  }
  const payeeSet = payees === undefined ? undefined : new Set(payees.map((p) => valid("payees", p)));
  const floor = minAmount > 1n ? minAmount : 1n;

  return (requirement) => {
    const asset = normalise(requirement.asset);
    if (asset === undefined || !assetsByNetwork.get(requirement.network)?.has(asset)) {
      return "asset_not_accepted";
    }
    if (payeeSet !== undefined) {
      const payee = normalise(requirement.payTo);
      if (payee === undefined || !payeeSet.has(payee)) return "payee_not_accepted";
    }
    if (requirement.amount < floor) return "amount_below_minimum";
    return undefined;
  };
}
