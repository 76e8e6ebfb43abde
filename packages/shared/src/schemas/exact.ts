import { z } from "zod";
import {
  base64Schema,
  bytes32HexSchema,
  evmAddressSchema,
  hexBytesSchema,
  uintStringSchema,
} from "./primitives.js";

/** The EIP-3009 `TransferWithAuthorization` message of the `exact` scheme on EVM; all numbers as decimal strings. */
export const exactEvmAuthorizationSchema = z.looseObject({
  from: evmAddressSchema,
  to: evmAddressSchema,
  value: uintStringSchema,
  validAfter: uintStringSchema,
  validBefore: uintStringSchema,
  nonce: bytes32HexSchema,
});
/** The EIP-3009 authorization of an `exact` EVM payment. */
export type ExactEvmAuthorization = z.infer<typeof exactEvmAuthorizationSchema>;

/** The `payload` of an `exact` EVM payment: the signed EIP-3009 authorization. */
export const exactEvmPayloadSchema = z.looseObject({
  signature: hexBytesSchema,
  authorization: exactEvmAuthorizationSchema,
});
/** The `payload` of an `exact` EVM payment. */
export type ExactEvmPayload = z.infer<typeof exactEvmPayloadSchema>;

/** The `payload` of an `exact` Solana payment: a partially signed v0 transaction, base64. */
export const exactSvmPayloadSchema = z.looseObject({
  transaction: base64Schema,
});
/** The `payload` of an `exact` Solana payment. */
export type ExactSvmPayload = z.infer<typeof exactSvmPayloadSchema>;

/** The EIP-712 `extra` of an EVM `exact` requirement: the token's domain name and version. */
export const exactEvmExtraSchema = z.looseObject({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(32),
});

/** The `extra` of a Solana `exact` requirement: the facilitator's fee payer, and an optional memo. */
export const exactSvmExtraSchema = z.looseObject({
  feePayer: z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/),
  memo: z.string().max(256).optional(),
});
