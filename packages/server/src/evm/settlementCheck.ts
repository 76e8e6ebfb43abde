import { exactEvmPayloadSchema } from "@tollgate/shared";
import { type Address, type Hex, isAddress } from "viem";
import type { SettlementCheck } from "../verify/facilitator/facilitatorLane.js";
import { eip3009Abi } from "./usdcAbi.js";

/** The one read the EVM settlement check needs (a viem `PublicClient` has it). */
export type AuthorizationStateReader = Readonly<{
  readContract(parameters: {
    address: Address;
    abi: typeof eip3009Abi;
    functionName: "authorizationState";
    args: readonly [Address, Hex];
  }): Promise<unknown>;
}>;

/** Parameters of `createEvmSettlementCheck`. */
export type CreateEvmSettlementCheckParameters = Readonly<{
  /** A client of the network, e.g. viem's `createPublicClient({ chain: base, transport: http(rpcUrl) })`. */
  publicClient: AuthorizationStateReader;
}>;

/**
 * A paywall settlement check for EVM networks: after a `/settle` whose answer was lost, asks the token
 * contract's EIP-3009 `authorizationState(from, nonce)`. A used nonce means this authorization (which fixes
 * payer, payee and amount) was executed: the payee has the money. Pass it to `createPaywall`'s
 * `settlementChecks` under the network's CAIP-2 id.
 *
 * @example
 * ```ts
 * import { createPublicClient, http } from "viem";
 * import { base } from "viem/chains";
 * import { createEvmSettlementCheck } from "@tollgate/server/evm";
 * const check = createEvmSettlementCheck({ publicClient: createPublicClient({ chain: base, transport: http() }) });
 * createPaywall({ …, settlementChecks: { "eip155:8453": check } });
 * ```
 */
export function createEvmSettlementCheck(parameters: CreateEvmSettlementCheckParameters): SettlementCheck {
  const { publicClient } = parameters;
  return async ({ requirement, payload }) => {
    const parsed = exactEvmPayloadSchema.safeParse(payload);
    if (!parsed.success || !isAddress(requirement.asset, { strict: false })) return false;
    const { from, nonce } = parsed.data.authorization;
    const used = await publicClient.readContract({
      address: requirement.asset as Address,
      abi: eip3009Abi,
      functionName: "authorizationState",
      args: [from as Address, nonce as Hex],
    });
    return used === true;
  };
}
