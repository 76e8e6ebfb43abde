import { authorizationStateFunction, erc20TransferFunction } from "@tollgate/shared";

/**
 * EIP-3009's `AuthorizationUsed(authorizer, nonce)`: emitted when an authorization is executed (a transfer or
 * receive with authorization), not when it is cancelled (that is `AuthorizationCanceled`).
 */
export const authorizationUsedEvent = {
  type: "event",
  name: "AuthorizationUsed",
  inputs: [
    { name: "authorizer", type: "address", indexed: true },
    { name: "nonce", type: "bytes32", indexed: true },
  ],
} as const;

/**
 * The parts of an EIP-3009 USDC contract (FiatToken v2) the facilitator and the direct lane call.
 * Protocol facts: function and event signatures as deployed by Circle.
 */
export const eip3009Abi = [
  {
    type: "function",
    name: "transferWithAuthorization",
    stateMutability: "nonpayable",
    inputs: [
      { name: "from", type: "address" },
      { name: "to", type: "address" },
      { name: "value", type: "uint256" },
      { name: "validAfter", type: "uint256" },
      { name: "validBefore", type: "uint256" },
      { name: "nonce", type: "bytes32" },
      { name: "v", type: "uint8" },
      { name: "r", type: "bytes32" },
      { name: "s", type: "bytes32" },
    ],
    outputs: [],
  },
  {
    type: "function",
    name: "transferWithAuthorization",
    stateMutability: "nonpayable",
    inputs: [
      { name: "from", type: "address" },
      { name: "to", type: "address" },
      { name: "value", type: "uint256" },
      { name: "validAfter", type: "uint256" },
      { name: "validBefore", type: "uint256" },
      { name: "nonce", type: "bytes32" },
      { name: "signature", type: "bytes" },
    ],
    outputs: [],
  },
  authorizationStateFunction,
  {
    type: "function",
    name: "balanceOf",
    stateMutability: "view",
    inputs: [{ name: "account", type: "address" }],
    outputs: [{ name: "", type: "uint256" }],
  },
  erc20TransferFunction,
  {
    type: "event",
    name: "Transfer",
    inputs: [
      { name: "from", type: "address", indexed: true },
      { name: "to", type: "address", indexed: true },
      { name: "value", type: "uint256", indexed: false },
    ],
  },
  authorizationUsedEvent,
] as const;

/** The EIP-712 types of an EIP-3009 `TransferWithAuthorization` (defined once, in `@tollgate/shared`). */
export { transferWithAuthorizationTypes } from "@tollgate/shared";
