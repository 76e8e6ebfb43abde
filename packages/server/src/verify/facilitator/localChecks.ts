import {
  exactEvmPayloadSchema,
  exactSvmPayloadSchema,
  type PaymentRequirementsV2,
  type RefusalReason,
  refusalReasonFor,
} from "@tollgate/shared";
import { sha256Hex } from "../../internal/hash.js";

/** What the cheap local checks found: the claim key and its expiry, or the reason to refuse. */
export type LocalCheck =
  | Readonly<{ ok: true; claimKey: string; expiresAt: number; payer?: string }>
  | Readonly<{ ok: false; reason: string }>;

/** Parameters of `checkPaymentLocally`. */
export type CheckPaymentLocallyParameters = Readonly<{
  x402Version: 1 | 2;
  family: "evm" | "svm";
  requirement: PaymentRequirementsV2;
  payload: unknown;
  nowSeconds: number;
  /** An authorization must stay valid at least this long, so it cannot expire while being settled. */
  validBeforeMarginSeconds: number;
}>;

/**
 * The checks of a facilitator-lane payment that need no network call (DESIGN §4): the payload's shape, payee,
 * amount and time window (EVM), and its claim key: EVM network + payer + nonce, Solana network + the hash of
 * the transaction's message (the part every signer signs, so a re-signed copy has the same key).
 */
export function checkPaymentLocally(parameters: CheckPaymentLocallyParameters): LocalCheck {
  const { x402Version, family, requirement, payload, nowSeconds, validBeforeMarginSeconds } = parameters;
  const refuse = (reason: RefusalReason): LocalCheck => ({
    ok: false,
    reason: refusalReasonFor(reason, x402Version),
  });
  if (family === "svm") {
    const parsed = exactSvmPayloadSchema.safeParse(payload);
    if (!parsed.success) return { ok: false, reason: "malformed_payment" };
    const message = solanaMessageBytes(parsed.data.transaction);
    if (message === undefined) return refuse("svm_transaction_undecodable");
    return {
      ok: true,
      claimKey: `x402:${requirement.network}:${sha256Hex(message)}`,
      // A Solana transaction's blockhash lives about 150 slots (~60-90 s); keep the claim well past that.
      expiresAt: nowSeconds + requirement.maxTimeoutSeconds + 600,
    };
  }
  const parsed = exactEvmPayloadSchema.safeParse(payload);
  if (!parsed.success) return { ok: false, reason: "malformed_payment" };
  const { authorization } = parsed.data;
  if (authorization.to.toLowerCase() !== requirement.payTo.toLowerCase())
    return refuse("evm_recipient_mismatch");
  const value = BigInt(authorization.value);
  const amount = BigInt(requirement.amount);
  // v2 peers sign exactly the amount; x402 1.2.0 facilitators accept more for v1.
  if (x402Version === 2 ? value !== amount : value < amount) return refuse("evm_value_mismatch");
  const validBefore = BigInt(authorization.validBefore);
  if (validBefore < BigInt(nowSeconds + validBeforeMarginSeconds)) return refuse("evm_valid_before");
  if (BigInt(authorization.validAfter) > BigInt(nowSeconds)) return refuse("evm_valid_after");
  const from = authorization.from.toLowerCase();
  return {
    ok: true,
    claimKey: `x402:${requirement.network}:${from}:${authorization.nonce.toLowerCase()}`,
    // Past validBefore nobody can settle the authorization: the claim may be forgotten then (kept ≤ 1 year).
    expiresAt: Math.min(Number(validBefore), nowSeconds + 31_536_000) + 60,
    payer: authorization.from,
  };
}

/** The message of a serialised Solana transaction: after the compact-u16 signature count and the signatures. */
export function solanaMessageBytes(base64: string): Uint8Array | undefined {
  const bytes = Buffer.from(base64, "base64");
  let count = 0;
  let offset = 0;
  for (let shift = 0; shift < 21; shift += 7) {
    const byte = bytes[offset++];
    if (byte === undefined) return undefined;
    count |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
  }
  const start = offset + count * 64;
  if (count === 0 || start >= bytes.length) return undefined;
  return bytes.subarray(start);
}
