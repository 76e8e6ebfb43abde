import { TollgateError } from "../errors/TollgateError.js";

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const digitOf = new Map([...alphabet].map((c, i) => [c, i]));

/**
 * Encodes bytes as Bitcoin-alphabet base58, as Solana writes addresses, signatures (`X-PAYMENT-TX`,
 * `X-PAYMENT-TX-SIG`) and secret keys. Base-256 to base-58 digit by digit with small-number carries (~1 µs
 * for an address, several times faster than bigint arithmetic).
 *
 * @example
 * ```ts
 * import { encodeBase58 } from "@tollgate/shared";
 * const signature = encodeBase58(transaction.signatures[0]);
 * ```
 */
export function encodeBase58(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // Little-endian base-58 digits of the value read so far.
  const digits: number[] = [];
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i] ?? 0;
    for (let j = 0; j < digits.length; j++) {
      carry += (digits[j] ?? 0) * 256;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = "1".repeat(zeros);
  for (let j = digits.length - 1; j >= 0; j--) out += alphabet[digits[j] ?? 0];
  return out;
}

/**
 * Decodes Bitcoin-alphabet base58 to bytes; with `length`, the result must have exactly that many bytes.
 *
 * @example
 * ```ts
 * import { decodeBase58 } from "@tollgate/shared";
 * const signature = decodeBase58({ value: header, length: 64 });
 * ```
 * @throws `WIRE__SCHEMA_MISMATCH` for a character outside the alphabet or a wrong length.
 */
export function decodeBase58(parameters: Readonly<{ value: string; length?: number }>): Uint8Array {
  const { value, length } = parameters;
  const fail = (message: string) =>
    new TollgateError("WIRE__SCHEMA_MISMATCH", {
      context: { what: "base58", issues: [{ path: "", message }] },
    });
  if (value.length > 256) throw fail("too long");
  let zeros = 0;
  while (zeros < value.length && value[zeros] === "1") zeros++;
  // Little-endian base-256 bytes of the value read so far.
  const bytes: number[] = [];
  for (let i = zeros; i < value.length; i++) {
    const digit = digitOf.get(value[i] ?? "");
    if (digit === undefined) throw fail("not base58");
    let carry = digit;
    for (let j = 0; j < bytes.length; j++) {
      carry += (bytes[j] ?? 0) * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + bytes.length);
  for (let j = 0; j < bytes.length; j++) out[out.length - 1 - j] = bytes[j] ?? 0;
  if (length !== undefined && out.length !== length)
    throw fail(`expected ${length} bytes, got ${out.length}`);
  return out;
}
