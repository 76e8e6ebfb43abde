import type { NetworkFamily } from "@tollgate/shared";

/** Parameters of `transferClaimKey`. */
export type TransferClaimKeyParameters = Readonly<{
  /** CAIP-2 id of the network. */
  network: string;
  family: NetworkFamily;
  /** The transaction: EVM hash (any case) or Solana signature (base58). */
  transaction: string;
}>;

/**
 * The claim key of an on-chain transaction, the same whichever lane presents it: the direct lane claims it before
 * it takes a transfer, the facilitator lane when a settlement names it, so one transfer pays for one thing.
 * EVM hashes are compared in lowercase; Solana signatures as they are.
 *
 * @example
 * ```ts
 * transferClaimKey({ network: "eip155:8453", family: "evm", transaction: "0xAB…" }); // "direct:eip155:8453:0xab…"
 * ```
 */
export function transferClaimKey(parameters: TransferClaimKeyParameters): string {
  const { network, family, transaction } = parameters;
  return `direct:${network}:${family === "evm" ? transaction.toLowerCase() : transaction}`;
}
