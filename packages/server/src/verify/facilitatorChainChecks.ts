import type { SettlementCheck } from "./facilitator/facilitatorLane.js";
import type { PaymentSignatureCheck } from "./facilitator/localChecks.js";

/**
 * What a network's chain access can do for the facilitator lane, besides the direct lane's reads: resolve a
 * `/settle` whose answer was lost, and check an EVM payer's signature before its proof is claimed. A direct-lane
 * chain that carries it (`createEvmDirectChain` with a viem client, `createSvmDirectChain` with a `connection`)
 * gives the paywall these checks for its network by default.
 */
export type FacilitatorChainChecks = Readonly<{
  settlementCheck?: SettlementCheck;
  signatureCheck?: PaymentSignatureCheck;
}>;
