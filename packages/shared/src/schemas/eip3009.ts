/**
 * The EIP-712 types of an EIP-3009 `TransferWithAuthorization`, which the `exact` scheme on EVM signs (payer)
 * and recovers (facilitator). Plain data, usable with viem's `signTypedData` / `hashTypedData` as is; the domain
 * is `{ name: extra.name, version: extra.version, chainId, verifyingContract: asset }`.
 *
 * @example
 * ```ts
 * import { transferWithAuthorizationTypes } from "@tollgate/shared";
 * const signature = await account.signTypedData({
 *   domain, types: transferWithAuthorizationTypes, primaryType: "TransferWithAuthorization", message,
 * });
 * ```
 */
export const transferWithAuthorizationTypes = {
  TransferWithAuthorization: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" },
    { name: "validBefore", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;
