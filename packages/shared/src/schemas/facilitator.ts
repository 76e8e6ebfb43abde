import { z } from "zod";
import { atomicAmountSchema, jsonObjectSchema, longStringSchema, shortStringSchema } from "./primitives.js";
import { paymentPayloadV1Schema, paymentRequirementsV1Schema } from "./v1.js";
import { paymentPayloadV2Schema, paymentRequirementsV2Schema } from "./v2.js";

/** The body of `POST /verify` and `POST /settle` for an x402 v2 payment. */
export const facilitatorRequestV2Schema = z.looseObject({
  x402Version: z.literal(2),
  paymentPayload: paymentPayloadV2Schema,
  paymentRequirements: paymentRequirementsV2Schema,
});

/** The body of `POST /verify` and `POST /settle` for an x402 v1 payment. */
export const facilitatorRequestV1Schema = z.looseObject({
  x402Version: z.literal(1),
  paymentPayload: paymentPayloadV1Schema,
  paymentRequirements: paymentRequirementsV1Schema,
});

/** The body of `POST /verify` and `POST /settle`, either generation, told apart by `x402Version`. */
export const facilitatorRequestSchema = z.discriminatedUnion("x402Version", [
  facilitatorRequestV1Schema,
  facilitatorRequestV2Schema,
]);
/** The body of `POST /verify` and `POST /settle`. */
export type FacilitatorRequest = z.infer<typeof facilitatorRequestSchema>;

/** The answer of `POST /verify`. A refusal is `isValid: false` with a reason, at HTTP 200. */
export const verifyResponseSchema = z.looseObject({
  isValid: z.boolean(),
  invalidReason: shortStringSchema.nullish(),
  invalidMessage: longStringSchema.nullish(),
  payer: shortStringSchema.nullish(),
  extensions: jsonObjectSchema.nullish(),
});
/** The answer of `POST /verify`. */
export type VerifyResponse = z.infer<typeof verifyResponseSchema>;

/**
 * The answer of `POST /settle`, also the decoded `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` header.
 * `transaction` is `""` when nothing was sent on chain.
 */
export const settleResponseSchema = z.looseObject({
  success: z.boolean(),
  errorReason: shortStringSchema.nullish(),
  errorMessage: longStringSchema.nullish(),
  payer: z.string().max(256).nullish(),
  transaction: z.string().max(256),
  network: z.string().max(256),
  amount: atomicAmountSchema.nullish(),
  extensions: jsonObjectSchema.nullish(),
});
/** The answer of `POST /settle`. */
export type SettleResponse = z.infer<typeof settleResponseSchema>;

/** One payment kind a facilitator supports, as listed by `GET /supported`. */
export const supportedKindSchema = z.looseObject({
  x402Version: z.number().int().min(1).max(2),
  scheme: shortStringSchema,
  network: shortStringSchema,
  extra: jsonObjectSchema.nullish(),
});
/** One payment kind a facilitator supports. */
export type SupportedKind = z.infer<typeof supportedKindSchema>;

/** The answer of `GET /supported`. v1 facilitators answer `kinds` only. */
export const supportedResponseSchema = z.looseObject({
  kinds: z.array(supportedKindSchema).max(1024),
  extensions: z.array(z.string().max(256)).max(256).optional(),
  signers: z.record(z.string().max(64), z.array(z.string().max(128)).max(256)).optional(),
});
/** The answer of `GET /supported`. */
export type SupportedResponse = z.infer<typeof supportedResponseSchema>;
