import { decodeBase58, type SettleResponse, type VerifyResponse } from "@tollgate/shared";

/**
 * What a facilitator's answer about one payment must agree with: the details the paywall already knows, checked
 * for free (no chain call) before the answer is believed.
 */
export type ExpectedAnswer = Readonly<{
  /** The chain family of the payment: it fixes the shape of a transaction id. */
  family: "evm" | "svm";
  /** The names the answer's `network` may carry: the paid network's CAIP-2 id and its v1 name. */
  networks: readonly string[];
  /** The payer the proof names (EVM: the authorization's `from`), when the paywall knows it. */
  payer?: string;
  /** The price: a settle answer's `amount`, when given, must equal it (v2) or not be below it (v1). */
  amount: bigint;
  /** The generation of the payment (v1 authorizations may carry more than the price). */
  x402Version: 1 | 2;
}>;

/** Why an answer cannot be about this payment, as a stable snake_case detail; `undefined` when it can be. */
export type Implausibility =
  | "network_mismatch"
  | "transaction_malformed"
  | "payer_mismatch"
  | "amount_mismatch"
  | undefined;

const evmTransaction = /^0x[0-9a-fA-F]{64}$/;
const base58Characters = /^[1-9A-HJ-NP-Za-km-z]{64,88}$/;

/** Whether `transaction` is a transaction id of the family: a 32-byte 0x hash, or a 64-byte base58 signature. */
function isTransactionId(family: "evm" | "svm", transaction: string): boolean {
  if (family === "evm") return evmTransaction.test(transaction);
  if (!base58Characters.test(transaction)) return false;
  try {
    decodeBase58({ value: transaction, length: 64 });
    return true;
  } catch {
    // Not 64 bytes of base58: not a Solana signature.
    return false;
  }
}

function samePayer(family: "evm" | "svm", a: string, b: string): boolean {
  return family === "evm" ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * Checks a `success: true` settle answer against what the paywall knows: it names the paid network, a well-formed
 * transaction id of that family, the proof's payer (when it names one), and the price (when it names an amount).
 * A facilitator that claims success with anything else is not believed: its answer is malformed.
 *
 * @example
 * ```ts
 * implausibleSettle({ success: true, transaction: "", network: "eip155:8453" }, expected); // "transaction_malformed"
 * ```
 */
export function implausibleSettle(answer: SettleResponse, expected: ExpectedAnswer): Implausibility {
  if (!answer.success) return undefined;
  if (!expected.networks.includes(answer.network)) return "network_mismatch";
  if (!isTransactionId(expected.family, answer.transaction)) return "transaction_malformed";
  if (
    expected.payer !== undefined &&
    answer.payer &&
    !samePayer(expected.family, answer.payer, expected.payer)
  ) {
    return "payer_mismatch";
  }
  if (answer.amount !== undefined && answer.amount !== null) {
    const amount = BigInt(answer.amount);
    if (expected.x402Version === 2 ? amount !== expected.amount : amount < expected.amount)
      return "amount_mismatch";
  }
  return undefined;
}

/**
 * Checks an `isValid: true` verify answer: a payer it names must be the proof's payer.
 *
 * @example
 * ```ts
 * implausibleVerify({ isValid: true, payer: "0xsomeoneElse" }, expected); // "payer_mismatch"
 * ```
 */
export function implausibleVerify(answer: VerifyResponse, expected: ExpectedAnswer): Implausibility {
  if (!answer.isValid) return undefined;
  if (
    expected.payer !== undefined &&
    answer.payer &&
    !samePayer(expected.family, answer.payer, expected.payer)
  ) {
    return "payer_mismatch";
  }
  return undefined;
}
