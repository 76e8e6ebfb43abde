import {
  exactEvmPayloadSchema,
  exactSvmPayloadSchema,
  type PaymentRequirementsV2,
  type RefusalReason,
  refusalReasonFor,
} from "@tollgate/shared";
import { withChainTimeout } from "../../internal/deadline.js";
import { sha256Hex } from "../../internal/hash.js";
import { verifyEd25519 } from "../../svm/ed25519.js";

/**
 * How far past `now + maxTimeoutSeconds` an authorization's `validBefore` may lie (payers' clocks run ahead). A
 * later one is refused: its claim would have to live until then (issue 21: proofs valid for a year filled the
 * store while the facilitator was down).
 */
export const validBeforeSkewSeconds = 60;

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
  if (validBefore > BigInt(nowSeconds + requirement.maxTimeoutSeconds + validBeforeSkewSeconds))
    return refuse("evm_valid_before");
  if (BigInt(authorization.validAfter) > BigInt(nowSeconds)) return refuse("evm_valid_after");
  const from = authorization.from.toLowerCase();
  return {
    ok: true,
    claimKey: `x402:${requirement.network}:${from}:${authorization.nonce.toLowerCase()}`,
    // Past validBefore nobody can settle the authorization: the claim may be forgotten then (minutes away).
    expiresAt: Number(validBefore) + 60,
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

/**
 * What a network's signature check says of an `exact` payload's signature, before anything is claimed:
 * `payer` (it is the payer's), `not_payer` (it certainly is not: refused), or `unknown` (only the facilitator
 * can tell, e.g. a smart wallet's signature when the check has no chain reader: passed on). A check that cannot
 * reach the chain throws.
 */
export type PaymentSignatureVerdict = "payer" | "not_payer" | "unknown";

/**
 * Checks an `exact` payload's signature for one network, e.g. `createEvmPaymentSignatureCheck` of
 * `@tollgate/server/evm` (EIP-712 recovery, then ERC-1271 or ERC-6492 by `eth_call` for a smart wallet).
 */
export type PaymentSignatureCheck = (
  parameters: Readonly<{ requirement: PaymentRequirementsV2; payload: Readonly<Record<string, unknown>> }>,
) => Promise<PaymentSignatureVerdict>;

/** Parameters of `checkPayerSignature`. */
export type CheckPayerSignatureParameters = Readonly<{
  x402Version: 1 | 2;
  family: "evm" | "svm";
  requirement: PaymentRequirementsV2;
  payload: Readonly<Record<string, unknown>>;
  /** The network's EVM signature check; without one an EVM signature is left to the facilitator. */
  evmCheck: PaymentSignatureCheck | undefined;
  /** Deadline of the EVM check (it may read the chain), in milliseconds; past it nothing is decided. */
  timeoutMs: number;
}>;

/**
 * The payer's signature, checked before the proof is claimed, where that is cheap and decisive (issue 21: unsigned
 * proofs left dead claims while the facilitator was down). Solana: every signature the transaction requires, but
 * the fee payer's (the facilitator adds it), must be present and verify over the message (ed25519, in process).
 * EVM: the network's `evmCheck`; a signature it answers `unknown` for (no chain reader to ask) is passed on.
 * A check that fails to run or misses its deadline (RPC down or slow) is refused `facilitator_unavailable` with
 * `unavailable: true` (the lane adds `Retry-After`), claiming nothing: an unchecked proof could be anyone's
 * garbage, and passing it on while the facilitator is down too is how free proofs filled the store (issue 21).
 */
export async function checkPayerSignature(
  parameters: CheckPayerSignatureParameters,
): Promise<Readonly<{ ok: true }> | Readonly<{ ok: false; reason: string; unavailable?: true }>> {
  const { x402Version, family, requirement, payload, evmCheck, timeoutMs } = parameters;
  const refused = (reason: RefusalReason) => ({
    ok: false as const,
    reason: refusalReasonFor(reason, x402Version),
  });
  if (family === "svm") {
    const parsed = exactSvmPayloadSchema.safeParse(payload);
    if (!parsed.success) return { ok: false, reason: "malformed_payment" };
    return solanaSignersSigned(parsed.data.transaction) ? { ok: true } : refused("svm_signature");
  }
  if (evmCheck === undefined) return { ok: true };
  let verdict: PaymentSignatureVerdict;
  try {
    verdict = await withChainTimeout(() => evmCheck({ requirement, payload }), {
      network: requirement.network,
      operation: "signatureCheck",
      timeoutMs,
    });
  } catch {
    // Undecided (RPC down or slow): not claimed and not passed on; the payer may retry the same proof later.
    return { ok: false, reason: "facilitator_unavailable", unavailable: true };
  }
  return verdict === "not_payer" ? refused("evm_signature") : { ok: true };
}

/** Reads a compact-u16 at `offset`: `[value, next offset]`, or `undefined` past the end. */
function compactU16(bytes: Uint8Array, offset: number): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return [value, offset + i + 1];
  }
  return undefined;
}

/**
 * Whether a serialised Solana transaction carries a valid signature of every required signer but the fee payer
 * (account 0, whose slot the facilitator fills): legacy and v0 messages alike.
 */
export function solanaSignersSigned(base64: string): boolean {
  const bytes = new Uint8Array(Buffer.from(base64, "base64"));
  const count = compactU16(bytes, 0);
  if (count === undefined) return false;
  const [signatures, signaturesStart] = count;
  const messageStart = signaturesStart + signatures * 64;
  const message = bytes.subarray(messageStart);
  let offset = 0;
  const first = message[0];
  if (first === undefined) return false;
  if ((first & 0x80) !== 0) offset = 1; // A versioned message: its version byte precedes the header.
  const required = message[offset];
  if (required === undefined || required !== signatures || required < 1) return false;
  const keys = compactU16(message, offset + 3);
  if (keys === undefined) return false;
  const [keyCount, keysStart] = keys;
  if (keyCount < required || keysStart + keyCount * 32 > message.length) return false;
  for (let i = 1; i < required; i++) {
    const signature = bytes.subarray(signaturesStart + i * 64, signaturesStart + (i + 1) * 64);
    const key = message.subarray(keysStart + i * 32, keysStart + (i + 1) * 32);
    if (signature.every((byte) => byte === 0) || !verifyEd25519(key, message, signature)) return false;
  }
  return true;
}
