import { VersionedTransaction } from "@solana/web3.js";
import { encodeBase58 } from "./base58.js";

/** One top-level instruction with its program and accounts resolved to base58 addresses. */
export type PaymentInstruction = Readonly<{
  programId: string;
  accounts: readonly string[];
  data: Uint8Array;
}>;

/** A payment transaction decoded from the wire, with what the checks read from it. */
export type PaymentTransaction = Readonly<{
  transaction: VersionedTransaction;
  /** The serialized message: what every signature signs. */
  messageBytes: Uint8Array;
  /** Static account keys, base58; key 0 is the fee payer. */
  accountKeys: readonly string[];
  /** How many leading account keys must sign. */
  requiredSignatures: number;
  instructions: readonly PaymentInstruction[];
}>;

/** Why a transaction could not be decoded (kept as a message, the refusal is `svm_transaction_undecodable`). */
export type DecodeFailure = Readonly<{ ok: false; message: string }>;

/** Reads a compact-u16 (shortvec) at `offset`: its value and length, or `undefined` when malformed. */
function readShortVec(bytes: Uint8Array, offset: number): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

/**
 * The message bytes of a wire transaction (everything after the signatures), without decoding the rest: the
 * identity of a payment, shared by every re-signed variant of it. `undefined` when the framing is malformed.
 */
export function messageBytesOf(wire: Uint8Array): Uint8Array | undefined {
  const count = readShortVec(wire, 0);
  if (count === undefined) return undefined;
  const start = count.length + 64 * count.value;
  return start < wire.length ? wire.subarray(start) : undefined;
}

/**
 * Decodes a base64 wire transaction (v0 or legacy) strictly: the encoding must be canonical (it re-serializes
 * to the same bytes, so the signed bytes are the ones checked), account keys unique, every index in range, and
 * no address lookup table (their accounts could not be checked without reading the tables).
 */
export function decodePaymentTransaction(base64: string): PaymentTransaction | DecodeFailure {
  const wire = Buffer.from(base64, "base64");
  let transaction: VersionedTransaction;
  let reserialized: Uint8Array;
  try {
    transaction = VersionedTransaction.deserialize(wire);
    reserialized = transaction.serialize();
  } catch (cause) {
    return { ok: false, message: cause instanceof Error ? cause.message : "not a Solana transaction" };
  }
  if (Buffer.compare(Buffer.from(reserialized), wire) !== 0) {
    return { ok: false, message: "non-canonical transaction encoding" };
  }
  const { message } = transaction;
  if (message.addressTableLookups.length > 0) {
    return { ok: false, message: "address lookup tables are not accepted" };
  }
  const accountKeys = message.staticAccountKeys.map((key) => encodeBase58(key.toBytes()));
  if (new Set(accountKeys).size !== accountKeys.length) {
    return { ok: false, message: "duplicate account keys" };
  }
  const requiredSignatures = message.header.numRequiredSignatures;
  if (requiredSignatures < 1 || requiredSignatures > accountKeys.length) {
    return { ok: false, message: "invalid message header" };
  }
  const instructions: PaymentInstruction[] = [];
  for (const compiled of message.compiledInstructions) {
    const programId = accountKeys[compiled.programIdIndex];
    const accounts = compiled.accountKeyIndexes.map((index) => accountKeys[index]);
    if (programId === undefined || accounts.some((a) => a === undefined)) {
      return { ok: false, message: "account index out of range" };
    }
    instructions.push({
      programId,
      accounts: accounts as string[],
      data: Uint8Array.from(compiled.data),
    });
  }
  // Canonical, so the message is exactly the wire bytes after the signatures.
  const messageBytes = messageBytesOf(wire);
  if (messageBytes === undefined) return { ok: false, message: "no message" };
  return {
    transaction,
    messageBytes,
    accountKeys,
    requiredSignatures,
    instructions,
  };
}

/** Whether a signature slot is still empty (all zeros), as a client leaves the fee payer's. */
export const isEmptySignature = (signature: Uint8Array | undefined): boolean =>
  signature === undefined || signature.every((byte) => byte === 0);
