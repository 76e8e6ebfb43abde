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

/**
 * The EIP-712 types of an EIP-3009 `CancelAuthorization`, which the payer signs to kill an authorization it gave
 * (anyone may send it; once mined the nonce can never settle). The domain is the authorization's.
 *
 * @example
 * ```ts
 * import { cancelAuthorizationTypes } from "@tollgate/shared";
 * const signature = await account.signTypedData({
 *   domain, types: cancelAuthorizationTypes, primaryType: "CancelAuthorization",
 *   message: { authorizer: account.address, nonce },
 * });
 * ```
 */
export const cancelAuthorizationTypes = {
  CancelAuthorization: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

/**
 * EIP-3009's `authorizationState(authorizer, nonce) returns (bool)`: `true` once the nonce is used or cancelled.
 * One ABI fragment (a protocol fact), shared by the payer's and the server's ABIs.
 *
 * @example
 * ```ts
 * import { authorizationStateFunction } from "@tollgate/shared";
 * const abi = [authorizationStateFunction] as const;
 * ```
 */
export const authorizationStateFunction = {
  type: "function",
  name: "authorizationState",
  stateMutability: "view",
  inputs: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
  outputs: [{ name: "", type: "bool" }],
} as const;

/**
 * ERC-20's `transfer(to, value) returns (bool)`: one ABI fragment (a protocol fact), shared by the payer's direct
 * lane and the server's token ABI.
 *
 * @example
 * ```ts
 * import { erc20TransferFunction } from "@tollgate/shared";
 * const data = encodeFunctionData({ abi: [erc20TransferFunction], functionName: "transfer", args: [to, value] });
 * ```
 */
export const erc20TransferFunction = {
  type: "function",
  name: "transfer",
  stateMutability: "nonpayable",
  inputs: [
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
  ],
  outputs: [{ name: "", type: "bool" }],
} as const;

/**
 * The parts of an EIP-3009 token (FiatToken v2) that tell and end an authorization's life: `authorizationState`
 * (used or cancelled) and `cancelAuthorization` (the v, r, s overload every FiatToken v2 has). Protocol facts.
 *
 * @example
 * ```ts
 * import { eip3009LifeAbi } from "@tollgate/shared";
 * const used = await client.readContract({
 *   address: asset, abi: eip3009LifeAbi, functionName: "authorizationState", args: [payer, nonce],
 * });
 * ```
 */
export const eip3009LifeAbi = [
  authorizationStateFunction,
  {
    type: "function",
    name: "cancelAuthorization",
    stateMutability: "nonpayable",
    inputs: [
      { name: "authorizer", type: "address" },
      { name: "nonce", type: "bytes32" },
      { name: "v", type: "uint8" },
      { name: "r", type: "bytes32" },
      { name: "s", type: "bytes32" },
    ],
    outputs: [],
  },
] as const;
