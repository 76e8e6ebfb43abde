/**
 * What a facilitator-lane claim key names (the key `checkPaymentLocally` builds): on EVM the network, the payer and
 * the EIP-3009 nonce, all an on-chain `authorizationState(payer, nonce)` read needs; on Solana the network and the
 * SHA-256 of the transaction's message, which names no transaction on chain (a transaction's id is its fee payer's
 * signature, added by the facilitator and never kept).
 */
export type ClaimKeyParts =
  | Readonly<{ family: "evm"; network: string; payer: string; nonce: string }>
  | Readonly<{ family: "svm"; network: string; messageHash: string }>;

const evmClaimKey = /^x402:(eip155:[0-9]{1,20}):(0x[0-9a-f]{40}):(0x[0-9a-f]{64})$/;
const svmClaimKey = /^x402:(solana:[1-9A-HJ-NP-Za-km-z]{1,44}):([0-9a-f]{64})$/;

/**
 * Reads a facilitator-lane claim key back into its parts; `undefined` for any other key (a direct transfer's
 * `direct:…`, or a malformed one).
 *
 * @example
 * ```ts
 * claimKeyParts("x402:eip155:8453:0xab…:0x12…"); // { family: "evm", network: "eip155:8453", payer: "0xab…", nonce: "0x12…" }
 * ```
 */
export function claimKeyParts(key: string): ClaimKeyParts | undefined {
  const evm = evmClaimKey.exec(key);
  if (evm !== null) {
    const [, network, payer, nonce] = evm as unknown as [string, string, string, string];
    return { family: "evm", network, payer, nonce };
  }
  const svm = svmClaimKey.exec(key);
  if (svm !== null) {
    const [, network, messageHash] = svm as unknown as [string, string, string];
    return { family: "svm", network, messageHash };
  }
  return undefined;
}
