import type { NetworkRegistry } from "@tollgate/shared";
import type { CompiledPattern } from "../routes/compileRoutes.js";
import type { SettlementCheck } from "../verify/facilitator/facilitatorLane.js";
import type { PaymentSignatureCheck } from "../verify/facilitator/localChecks.js";
import { invalidConfig } from "./invalidConfig.js";
import type { DirectLaneConfig } from "./paywallOptions.js";
import type { RouteSettings } from "./resolveRoutes.js";

/** Parameters of `resolveChainChecks`. */
export type ResolveChainChecksParameters = Readonly<{
  /** As given: a check, or `false` for a network whose lost settle answers the operator accepts to leave pending. */
  settlementChecks: Readonly<Record<string, SettlementCheck | false>>;
  signatureChecks: Readonly<Record<string, PaymentSignatureCheck>>;
  /** The direct lane, whose chains may carry `facilitatorChecks`. */
  direct: DirectLaneConfig | undefined;
  registry: NetworkRegistry;
}>;

/** The facilitator lane's chain checks by CAIP-2 network, and the networks explicitly left without one. */
export type ResolvedChainChecks = Readonly<{
  settlementChecks: Readonly<Record<string, SettlementCheck>>;
  signatureChecks: Readonly<Record<string, PaymentSignatureCheck>>;
  /** Networks whose `settlementChecks` entry is `false`. */
  unchecked: ReadonlySet<string>;
}>;

/**
 * The facilitator lane's chain checks: those the direct lane's chains carry, overridden by the options (keys in
 * CAIP-2 or v1 names). Issue 21: with none, a payer whose `/settle` answer was lost was charged and answered
 * `settlement_pending` for ever, although the direct lane held the RPC that could tell.
 * @throws `SERVER__INVALID_CONFIG` for a key that names no known network.
 */
export function resolveChainChecks(parameters: ResolveChainChecksParameters): ResolvedChainChecks {
  const { direct, registry } = parameters;
  const caip2 = (option: string, name: string): string => {
    const network = registry.find(name);
    if (network === undefined) throw invalidConfig(option, `unknown network "${name}"`);
    return network.caip2;
  };
  const settlementChecks: Record<string, SettlementCheck> = {};
  const signatureChecks: Record<string, PaymentSignatureCheck> = {};
  for (const { chain } of direct?.networks ?? []) {
    const network = registry.find(chain.network)?.caip2;
    if (network === undefined) continue; // resolveDirectLane refuses it.
    const checks = chain.facilitatorChecks;
    if (checks?.settlementCheck) settlementChecks[network] = checks.settlementCheck;
    if (checks?.signatureCheck) signatureChecks[network] = checks.signatureCheck;
  }
  const unchecked = new Set<string>();
  for (const [name, check] of Object.entries(parameters.settlementChecks)) {
    const network = caip2(`settlementChecks["${name}"]`, name);
    if (check === false) {
      delete settlementChecks[network];
      unchecked.add(network);
    } else settlementChecks[network] = check;
  }
  for (const [name, check] of Object.entries(parameters.signatureChecks)) {
    signatureChecks[caip2(`signatureChecks["${name}"]`, name)] = check;
  }
  return { settlementChecks, signatureChecks, unchecked };
}

/**
 * Fails closed at start-up when a route takes facilitator-lane payments on a network with no way to resolve a
 * lost `/settle` answer (a settlement check) and no explicit `false` for it.
 * @throws `SERVER__INVALID_CONFIG` naming the `settlementChecks` option and the networks.
 */
export function requireSettlementChecks(
  parameters: Readonly<{ routes: readonly CompiledPattern<RouteSettings>[]; checks: ResolvedChainChecks }>,
): void {
  const { routes, checks } = parameters;
  const missing = new Set<string>();
  for (const { value: route } of routes) {
    if (!route.lanes.facilitator) continue;
    for (const network of route.networks) {
      if (checks.settlementChecks[network.caip2] === undefined && !checks.unchecked.has(network.caip2))
        missing.add(network.caip2);
    }
  }
  if (missing.size === 0) return;
  throw invalidConfig(
    "settlementChecks",
    `no way to resolve a lost /settle answer on ${[...missing].join(", ")}: a payer could be charged and never ` +
      "served. Give each a settlement check (createEvmSettlementCheck, createSvmSettlementCheck), a direct-lane " +
      "chain built with its RPC, or `false` to accept that such a payment stays settlement_pending",
  );
}
