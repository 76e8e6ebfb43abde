import { z } from "zod";
import { isCanonicalCaip2 } from "../networks/canonicalCaip2.js";

/** Bounds on hostile input: no wire string or list Tollgate reads is longer than these. */
export const wireLimits = Object.freeze({
  /** Longest identifier-like string (scheme, network, address, asset). */
  shortString: 256,
  /** Longest free-text string (description, error message, URL). */
  longString: 4096,
  /** Longest base64 transaction or signature string. */
  blob: 12_288,
  /** Most requirements in one `accepts` list. */
  accepts: 64,
});

/** An atomic amount on the wire: a decimal integer string without sign, fraction or leading zeros, ≤ uint256. */
export const atomicAmountSchema = z
  .string()
  .max(78)
  .regex(/^(0|[1-9][0-9]*)$/, "expected an atomic amount (decimal integer string)")
  // Up to 77 digits always fits; only 78-digit strings need the exact comparison (and only if all digits).
  .refine((v) => v.length < 78 || (/^[0-9]+$/.test(v) && BigInt(v) < 1n << 256n), "exceeds uint256");

/** A decimal integer string of a uint (time windows, nonces as numbers). */
export const uintStringSchema = atomicAmountSchema;

/** An EVM address, any case: `0x` and 40 hex digits. */
export const evmAddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "expected an EVM address");

/** A Solana address: base58 of 32 bytes (32 to 44 characters). */
export const solanaAddressSchema = z
  .string()
  .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "expected a base58 Solana address");

/**
 * A CAIP-2 chain id in its one canonical spelling: `eip155:8453`, `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`.
 * Aliases are refused (`eip155:084532` names chain 84532 but is not how CAIP-2 spells it), so every network id
 * read from the wire compares equal to the registry's and to an owner's lists (`canonicalCaip2`).
 */
export const caip2Schema = z
  .string()
  .regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/, "expected a CAIP-2 network id")
  .refine(isCanonicalCaip2, "expected a canonical CAIP-2 id (eip155: decimal chain id, no leading zero)");

/** An x402 v1 network name: `base`, `solana-devnet`. */
export const v1NetworkNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "expected an x402 v1 network name");

/** A 32-byte hex value: `0x` and 64 hex digits. */
export const bytes32HexSchema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "expected 32 bytes of hex");

/** A hex string of whole bytes: `0x…`. */
export const hexBytesSchema = z
  .string()
  .max(wireLimits.blob)
  .regex(/^0x(?:[0-9a-fA-F]{2})+$/, "expected hex bytes");

/** Standard base64 (not base64url), padded or not. */
export const base64Schema = z
  .string()
  .min(1)
  .max(wireLimits.blob)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "expected standard base64");

/** A short identifier-like string. */
export const shortStringSchema = z.string().min(1).max(wireLimits.shortString);

/**
 * An HTTP header name (an RFC 9110 token): what a 402 may name as the header a proof or token goes in. Anything
 * else could not be sent, after money has moved.
 */
export const headerNameSchema = z
  .string()
  .min(1)
  .max(wireLimits.shortString)
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, "expected an HTTP header name");

/** A free-text string. */
export const longStringSchema = z.string().max(wireLimits.longString);

/** A JSON object with any keys (the `extra`, `payload` and `extensions` of x402). */
export const jsonObjectSchema = z.record(z.string(), z.unknown());
