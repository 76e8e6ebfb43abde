import { createNetworkRegistry, type NetworkRegistry } from "@tollgate/shared";
import { getAddress, type Hex, isAddress } from "viem";
import type { PendingSettlementResolution, PendingSettlementResolver } from "../admin/pendingSettlements.js";
import type { EvmSettlementReader } from "./settlementCheck.js";
import { eip3009Abi } from "./usdcAbi.js";

/** Parameters of `createEvmPendingSettlementResolver`. */
export type CreateEvmPendingSettlementResolverParameters = Readonly<{
  /** A client of the network, e.g. viem's `createPublicClient({ chain: base, transport: http(rpcUrl) })`. */
  publicClient: Pick<EvmSettlementReader, "readContract">;
  /**
   * The EIP-3009 token contract.
   * @default the registry's USDC of the claim's network
   */
  asset?: string;
  /**
   * Network and asset registry, for the default `asset`.
   * @default createNetworkRegistry()
   */
  registry?: NetworkRegistry;
}>;

/**
 * The admin API's resolver of an EVM pending settlement: one `authorizationState(payer, nonce)` read of the
 * token, with the payer and nonce the claim key holds. `true` is `authorization_used` (executed, or cancelled by
 * the payer: the call cannot tell; the paywall's settlement check reads the transfer when the proof comes back),
 * `false` is `not_settled`. Pass it to `createAdminApi`'s `resolvers` under the network's CAIP-2 id.
 *
 * @example
 * ```ts
 * import { createAdminApi } from "@tollgate/server/admin";
 * import { createEvmPendingSettlementResolver } from "@tollgate/server/evm";
 * createAdminApi({ …, resolvers: { "eip155:8453": createEvmPendingSettlementResolver({ publicClient }) } });
 * ```
 */
export function createEvmPendingSettlementResolver(
  parameters: CreateEvmPendingSettlementResolverParameters,
): PendingSettlementResolver {
  const { publicClient, asset, registry = createNetworkRegistry() } = parameters;
  return async ({ parts }): Promise<PendingSettlementResolution> => {
    if (parts.family !== "evm") return { status: "unresolvable", detail: "not an EVM claim" };
    const token = asset ?? registry.find(parts.network)?.usdc?.address;
    if (token === undefined || !isAddress(token, { strict: false })) {
      return { status: "unresolvable", detail: `no EIP-3009 token known for ${parts.network}` };
    }
    const used = await publicClient.readContract({
      address: getAddress(token),
      abi: eip3009Abi,
      functionName: "authorizationState",
      args: [getAddress(parts.payer), parts.nonce as Hex],
    });
    return used === true
      ? {
          status: "authorization_used",
          detail:
            "authorizationState is true: the authorization was executed on chain (or cancelled by the payer)",
        }
      : {
          status: "not_settled",
          detail:
            "authorizationState is false: not settled so far; it may still settle until its validBefore",
        };
  };
}
