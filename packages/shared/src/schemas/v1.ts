import { z } from "zod";
import {
  atomicAmountSchema,
  caip2Schema,
  jsonObjectSchema,
  longStringSchema,
  shortStringSchema,
  v1NetworkNameSchema,
  wireLimits,
} from "./primitives.js";

/**
 * The `network` of an x402 v1 message: a v1 name (`base-sepolia`), or a canonical CAIP-2 id (`eip155:84532`), which
 * some v1 servers send. Both name one network unambiguously; whoever answers echoes the form it was given.
 */
export const v1NetworkSchema = z.union([v1NetworkNameSchema, caip2Schema]);

/** One way to pay in x402 v1 (`PaymentRequirements`, in the 402 body's `accepts`). */
export const paymentRequirementsV1Schema = z.looseObject({
  scheme: shortStringSchema,
  network: v1NetworkSchema,
  maxAmountRequired: atomicAmountSchema,
  resource: longStringSchema,
  description: longStringSchema,
  mimeType: longStringSchema,
  outputSchema: jsonObjectSchema.nullish(),
  payTo: shortStringSchema,
  maxTimeoutSeconds: z.number().int().min(0).max(31_536_000),
  asset: shortStringSchema,
  extra: jsonObjectSchema.nullish(),
});
/** One way to pay in x402 v1. */
export type PaymentRequirementsV1 = z.infer<typeof paymentRequirementsV1Schema>;

/** Builds the v1 402 body schema around a schema of its `accepts` entries. */
export function paymentRequiredV1Of<T extends z.ZodType>(requirement: T) {
  return z.looseObject({
    x402Version: z.literal(1),
    error: longStringSchema.optional(),
    accepts: z.array(requirement).max(wireLimits.accepts),
    payer: shortStringSchema.optional(),
  });
}

/** The JSON body of an x402 v1 402 response. */
export const paymentRequiredV1Schema = paymentRequiredV1Of(paymentRequirementsV1Schema);
/** The JSON body of an x402 v1 402 response. */
export type PaymentRequiredV1 = z.infer<typeof paymentRequiredV1Schema>;

/** The v1 `X-PAYMENT` request header, decoded. */
export const paymentPayloadV1Schema = z.looseObject({
  x402Version: z.literal(1),
  scheme: shortStringSchema,
  network: v1NetworkSchema,
  payload: jsonObjectSchema,
});
/** The v1 `X-PAYMENT` request header, decoded. */
export type PaymentPayloadV1 = z.infer<typeof paymentPayloadV1Schema>;
