import { exactEvmExtraSchema, exactEvmPayloadSchema } from "@tollgate/shared";
import { type Address, getAddress, type Hex, hashTypedData, isAddress, isAddressEqual } from "viem";
import type { PaymentSignatureCheck } from "../verify/facilitator/localChecks.js";
import { recoverSigner } from "./recoverSigner.js";
import { transferWithAuthorizationTypes } from "./usdcAbi.js";

/** The read the check makes for a signature that does not recover (a viem `PublicClient` has it). */
export type EvmCodeReader = Readonly<{
  getCode(parameters: { address: Address }): Promise<Hex | undefined>;
}>;

/** Parameters of `createEvmPaymentSignatureCheck`. */
export type CreateEvmPaymentSignatureCheckParameters = Readonly<{
  /**
   * Reads whether `from` has code, for a signature that does not recover to it (a deployed smart wallet signs
   * with ERC-1271). Without it such a signature is passed on to the facilitator undecided.
   * @default none
   */
  publicClient?: EvmCodeReader;
}>;

/** The ERC-6492 suffix of a counterfactual smart wallet's signature. */
const erc6492Suffix = "6492649264926492649264926492649264926492649264926492649264926492";

/**
 * A paywall signature check for EIP-3009 payments (`signatureChecks` of `createPaywall`; a direct-lane chain from
 * `createEvmDirectChain` carries one): the EIP-712 `TransferWithAuthorization` digest must recover to `from`
 * (an EOA's signature), else the payload is refused before it is claimed, unless it can be a smart wallet's: an
 * ERC-6492-wrapped signature, or `from` with code (`eth_getCode`). Without `publicClient`, a signature that does
 * not recover is left to the facilitator.
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
    if (signature.toLowerCase().endsWith(erc6492Suffix)) return "unknown";
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
    const signer = await recoverSigner(digest, signature as Hex);
    if (signer !== undefined && isAddressEqual(signer, from)) return "payer";
    if (publicClient === undefined) return "unknown";
    const code = await publicClient.getCode({ address: from });
    return code !== undefined && code !== "0x" ? "unknown" : "not_payer";
  };
}
