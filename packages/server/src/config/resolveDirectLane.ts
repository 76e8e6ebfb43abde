import type { NetworkRegistry } from "@tollgate/shared";
import type { DirectLaneSettings, DirectNetworkSettings } from "../verify/direct/directLane.js";
import { invalidConfig, parseConfigUsd } from "./invalidConfig.js";
import type { DirectLaneConfig } from "./paywallOptions.js";

/** Parameters of `resolveDirectLane`. */
export type ResolveDirectLaneParameters = Readonly<{
  /** The lane's options; `undefined`: no networks, defaults elsewhere. */
  direct: DirectLaneConfig | undefined;
  registry: NetworkRegistry;
  /** Lifetime of a token that credits a transfer below the price or the minimum, in seconds. */
  tokenTtlSeconds: number;
}>;

/**
 * Resolves the direct lane's settings: each chain's network, asset (the network's USDC unless configured),
 * confirmations and maximum age, and the lane's minimum amount.
 * @throws `SERVER__INVALID_CONFIG` for an unknown network, no known or non-6-decimal USDC, or a malformed minimum.
 */
export function resolveDirectLane(parameters: ResolveDirectLaneParameters): DirectLaneSettings {
  const { direct, registry, tokenTtlSeconds } = parameters;
  const networks = new Map<string, DirectNetworkSettings>();
  for (const [i, config] of (direct?.networks ?? []).entries()) {
    const network = registry.find(config.chain.network);
    if (network === undefined)
      throw invalidConfig(`direct.networks[${i}]`, `unknown network ${config.chain.network}`);
    const asset = config.asset ?? network.usdc?.address;
    if (asset === undefined)
      throw invalidConfig(`direct.networks[${i}].asset`, `no USDC known on ${network.caip2}`);
    if (config.asset === undefined && network.usdc?.decimals !== 6) {
      throw invalidConfig(`direct.networks[${i}].asset`, "the direct lane prices in 6-decimal USDC units");
    }
    networks.set(network.caip2, {
      network,
      chain: config.chain,
      payTo: config.payTo,
      asset,
      confirmations: config.confirmations ?? 1,
      maxAgeSeconds: config.maxAgeSeconds ?? 604_800,
    });
  }
  return {
    networks,
    registry,
    minAmount: parseConfigUsd("direct.minAmount", direct?.minAmount ?? "$0.10"),
    origins: direct?.origins,
    lookupTimeoutMs: direct?.lookupTimeoutMs ?? 10_000,
    tokenTtlSeconds,
    retryAfterSeconds: direct?.retryAfterSeconds ?? 5,
  };
}
