import { z } from "zod";

/** `X-PAYMENT-TX` on EVM: the 0x hash of the transfer (any case on input; compare lowercased). */
export const evmTxHashSchema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "expected a 0x transaction hash");

/** `X-PAYMENT-TX` on Solana: the base58 signature of the transfer (64 bytes: 64 to 88 characters). */
export const solanaTxSignatureSchema = z
  .string()
  .regex(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/, "expected a base58 transaction signature");

/** `X-PAYMENT-TX`: an EVM transaction hash or a Solana transaction signature. */
export const directTxSchema = z.union([evmTxHashSchema, solanaTxSignatureSchema]);

/** `X-PAYMENT-CHAIN`: a CAIP-2 id or a v1 name (`base`, `ethereum`, `solana`). */
export const directChainSchema = z
  .string()
  .regex(
    /^(?:[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}|[a-z0-9][a-z0-9-]{0,63})$/,
    "expected a CAIP-2 id or v1 name",
  );

/** `X-PAYMENT-TX-SIG` on EVM: the 65-byte EIP-191 signature, 0x hex. */
export const evmBindingSignatureSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, "expected a 65-byte signature");

/** `X-PAYMENT-TX-SIG` on Solana: a 64-byte ed25519 signature, base58. */
export const solanaBindingSignatureSchema = solanaTxSignatureSchema;

/** The three headers of a direct-transfer proof, as the server reads them. */
export const directProofHeadersSchema = z.object({
  tx: directTxSchema,
  chain: directChainSchema,
  signature: z.union([evmBindingSignatureSchema, solanaBindingSignatureSchema]).optional(),
});
/** The three headers of a direct-transfer proof. */
export type DirectProofHeaders = z.infer<typeof directProofHeadersSchema>;

/** The header names of the direct lane. */
export const directHeaderNames = Object.freeze({
  tx: "X-PAYMENT-TX",
  chain: "X-PAYMENT-CHAIN",
  signature: "X-PAYMENT-TX-SIG",
} as const);

/** Parameters of `directBindingMessage`. */
export type DirectBindingMessageParameters = Readonly<{
  /** The canonical CAIP-2 id of the chain, even when the header used a v1 name. */
  network: string;
  /** The transaction, as sent in `X-PAYMENT-TX` (EVM hashes lowercased). */
  tx: string;
  /** `new URL(requestUrl).origin` of the paid request. */
  origin: string;
}>;

/**
 * The message a direct-transfer payer signs to bind its transfer to one server:
 * `tollgate-direct:<CAIP-2>:<tx>:<origin>`. EVM signs it with EIP-191 `personal_sign`; Solana with ed25519.
 *
 * @example
 * ```ts
 * import { directBindingMessage } from "@tollgate/shared";
 * directBindingMessage({ network: "eip155:8453", tx: "0xab…", origin: "https://api.example.com" });
 * ```
 */
export function directBindingMessage(parameters: DirectBindingMessageParameters): string {
  const { network, tx, origin } = parameters;
  const canonicalTx = tx.startsWith("0x") ? tx.toLowerCase() : tx;
  return `tollgate-direct:${network}:${canonicalTx}:${origin}`;
}
