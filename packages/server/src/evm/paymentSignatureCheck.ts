import { exactEvmExtraSchema, exactEvmPayloadSchema } from "@tollgate/shared";
import {
  type Address,
  BaseError,
  decodeFunctionResult,
  ExecutionRevertedError,
  encodeDeployData,
  encodeFunctionData,
  erc6492SignatureValidatorAbi,
  erc6492SignatureValidatorByteCode,
  getAddress,
  type Hex,
  hashTypedData,
  isAddress,
  isAddressEqual,
  RawContractError,
} from "viem";
import type { PaymentSignatureCheck } from "../verify/facilitator/localChecks.js";
import { recoverSigner } from "./recoverSigner.js";
import { transferWithAuthorizationTypes } from "./usdcAbi.js";

/** The read the check makes for a signature that does not recover (a viem `PublicClient` has it). */
export type EvmCodeReader = Readonly<{
  getCode(parameters: { address: Address }): Promise<Hex | undefined>;
}>;

/**
 * The reads the check makes for a smart wallet's signature (a viem `PublicClient` has them): `getCode` of `from`
 * and one `eth_call` (ERC-1271 `isValidSignature` on `from`, or the deployless ERC-6492 validator).
 */
export type EvmSignatureReader = EvmCodeReader &
  Readonly<{
    call(parameters: { to?: Address; data: Hex }): Promise<{ data?: Hex | undefined }>;
  }>;

/** Parameters of `createEvmPaymentSignatureCheck`. */
export type CreateEvmPaymentSignatureCheckParameters = Readonly<{
  /**
   * Reads the chain for a signature that does not recover to `from`: whether `from` has code, and the smart
   * wallet's own verdict by one `eth_call` (ERC-1271, or ERC-6492 for a wrapped signature). Without it such a
   * signature is passed on to the facilitator undecided. A client with `getCode` only cannot check a smart
   * wallet's signature: it refuses a non-recovering signature of an address without code, and passes on the rest.
   * @default none
   */
  publicClient?: EvmCodeReader | EvmSignatureReader;
}>;

/** The ERC-6492 suffix of a counterfactual smart wallet's signature. */
const erc6492Suffix = "6492649264926492649264926492649264926492649264926492649264926492";

/**
 * A paywall signature check for EIP-3009 payments (`signatureChecks` of `createPaywall`; a direct-lane chain from
 * `createEvmDirectChain` carries one): the EIP-712 `TransferWithAuthorization` digest must recover to `from`
 * (an EOA's signature), else the payload is refused before it is claimed, unless the smart wallet at `from`
 * accepts it: an ERC-6492-wrapped signature is checked by the ERC-6492 validator (deployless, by `eth_call`), a
 * `from` with code by its ERC-1271 `isValidSignature` (`eth_call`). A call that reverts or answers anything but
 * the ERC-1271 magic value (or `true`, for ERC-6492) is a refusal. A read that fails (RPC down) throws: the
 * paywall then refuses the proof without claiming it (`facilitator_unavailable`, with `Retry-After`), since an
 * unchecked proof is how free proofs fill the store. Without `publicClient`, a signature that does not recover
 * is left to the facilitator.
 *
 * @example
 * ```ts
 * import { createPublicClient, http } from "viem";
 * import { base } from "viem/chains";
 * import { createEvmPaymentSignatureCheck } from "@tollgate/server/evm";
 * const publicClient = createPublicClient({ chain: base, transport: http(rpcUrl) });
 * createPaywall({ …, signatureChecks: { "eip155:8453": createEvmPaymentSignatureCheck({ publicClient }) } });
 * ```
 */
export function createEvmPaymentSignatureCheck(
  parameters: CreateEvmPaymentSignatureCheckParameters = {},
): PaymentSignatureCheck {
  const { publicClient } = parameters;
  return async ({ requirement, payload }) => {
    const parsed = exactEvmPayloadSchema.safeParse(payload);
    const domain = exactEvmExtraSchema.safeParse(requirement.extra);
    const chainId = Number(requirement.network.split(":")[1]);
    if (
      !parsed.success ||
      !domain.success ||
      !requirement.network.startsWith("eip155:") ||
      !Number.isSafeInteger(chainId) ||
      !isAddress(requirement.asset, { strict: false })
    ) {
      return "unknown"; // The local checks and the facilitator refuse these.
    }
    const { authorization, signature } = parsed.data;
    const from = getAddress(authorization.from);
    const digest = hashTypedData({
      domain: {
        name: domain.data.name,
        version: domain.data.version,
        chainId,
        verifyingContract: getAddress(requirement.asset),
      },
      types: transferWithAuthorizationTypes,
      primaryType: "TransferWithAuthorization",
      message: {
        from,
        to: getAddress(authorization.to),
        value: BigInt(authorization.value),
        validAfter: BigInt(authorization.validAfter),
        validBefore: BigInt(authorization.validBefore),
        nonce: authorization.nonce as Hex,
      },
    });
    const wrapped = signature.toLowerCase().endsWith(erc6492Suffix);
    if (!wrapped) {
      const signer = await recoverSigner(digest, signature as Hex);
      if (signer !== undefined && isAddressEqual(signer, from)) return "payer";
    }
    if (publicClient === undefined) return "unknown";
    if (!("call" in publicClient)) {
      // No eth_call: only an address without code is decided (an unwrapped signature cannot be its).
      if (wrapped) return "unknown";
      const code = await publicClient.getCode({ address: from });
      return code !== undefined && code !== "0x" ? "unknown" : "not_payer";
    }
    if (wrapped)
      return smartWalletVerdict(publicClient, { data: erc6492Call(from, digest, signature as Hex) });
    const code = await publicClient.getCode({ address: from });
    if (code === undefined || code === "0x") return "not_payer";
    return smartWalletVerdict(publicClient, {
      to: from,
      data: encodeFunctionData({
        abi: erc1271Abi,
        functionName: "isValidSignature",
        args: [digest, signature as Hex],
      }),
    });
  };
}

/** ERC-1271's one function (viem 2.57 does not export its copy). */
const erc1271Abi = [
  {
    type: "function",
    name: "isValidSignature",
    stateMutability: "view",
    inputs: [
      { name: "hash", type: "bytes32" },
      { name: "signature", type: "bytes" },
    ],
    outputs: [{ name: "magicValue", type: "bytes4" }],
  },
] as const;

/** The ERC-1271 magic value: `isValidSignature.selector`. */
const erc1271MagicValue = "0x1626ba7e";

/** Deploy data of the ERC-6492 validator, whose constructor answers whether `signature` is `from`'s. */
function erc6492Call(from: Address, digest: Hex, signature: Hex): Hex {
  return encodeDeployData({
    abi: erc6492SignatureValidatorAbi,
    bytecode: erc6492SignatureValidatorByteCode,
    args: [from, digest, signature],
  });
}

/**
 * One `eth_call` decides: `payer` for the ERC-1271 magic value (a wallet's answer) or `true` (the ERC-6492
 * validator's), `not_payer` for anything else or a revert. Any other failure (transport, timeout, a node error)
 * is thrown, since it decides nothing. (viem's `verifyHash` answers `false` for both a revert and an unreachable
 * RPC, so it cannot tell an invalid signature from a chain outage.)
 */
async function smartWalletVerdict(
  reader: EvmSignatureReader,
  call: { to?: Address; data: Hex },
): Promise<"payer" | "not_payer"> {
  let data: Hex | undefined;
  try {
    ({ data } = await reader.call(call));
  } catch (error) {
    if (reverted(error)) return "not_payer";
    throw error;
  }
  if (data === undefined || data === "0x") return "not_payer";
  if (call.to === undefined) {
    // The deployless ERC-6492 validator returns one bool (viem's returns a single byte; a word is fine too).
    return data.length <= 66 && BigInt(data) === 1n ? "payer" : "not_payer";
  }
  try {
    const result = decodeFunctionResult({ abi: erc1271Abi, functionName: "isValidSignature", data });
    return result.toLowerCase() === erc1271MagicValue ? "payer" : "not_payer";
  } catch {
    return "not_payer";
  }
}

/** Whether an `eth_call` failed because the call reverted (the chain's answer), not because it did not run. */
function reverted(error: unknown): boolean {
  return (
    error instanceof BaseError &&
    error.walk((cause) => cause instanceof ExecutionRevertedError || cause instanceof RawContractError) !==
      null
  );
}
