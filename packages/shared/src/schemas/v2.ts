import { z } from "zod";
import {
  atomicAmountSchema,
  caip2Schema,
  jsonObjectSchema,
  longStringSchema,
  shortStringSchema,
  wireLimits,
} from "./primitives.js";

/** The `resource` of an x402 v2 message: what is being paid for. Unknown keys are kept. */
export const resourceInfoSchema = z.looseObject({
  url: longStringSchema,
  description: longStringSchema.optional(),
  mimeType: longStringSchema.optional(),
});
/** The `resource` of an x402 v2 message. */
export type ResourceInfo = z.infer<typeof resourceInfoSchema>;

/** One way to pay in x402 v2 (`PaymentRequirements`). */
export const paymentRequirementsV2Schema = z.looseObject({
  scheme: shortStringSchema,
  network: caip2Schema,
  amount: atomicAmountSchema,
  asset: shortStringSchema,
  payTo: shortStringSchema,
  maxTimeoutSeconds: z.number().int().min(0).max(31_536_000),
  extra: jsonObjectSchema.nullish(),
});
/** One way to pay in x402 v2. */
export type PaymentRequirementsV2 = z.infer<typeof paymentRequirementsV2Schema>;

/** Builds the v2 `PaymentRequired` schema around a schema of its `accepts` entries. */
export function paymentRequiredV2Of<T extends z.ZodType>(requirement: T) {
  return z.looseObject({
    x402Version: z.literal(2),
    error: longStringSchema.optional(),
    resource: resourceInfoSchema,
    accepts: z.array(requirement).max(wireLimits.accepts),
    extensions: jsonObjectSchema.optional(),
  });
}

/** The v2 `PAYMENT-REQUIRED` header of a 402, decoded. */
export const paymentRequiredV2Schema = paymentRequiredV2Of(paymentRequirementsV2Schema);
/** The v2 `PAYMENT-REQUIRED` header of a 402, decoded. */
export type PaymentRequiredV2 = z.infer<typeof paymentRequiredV2Schema>;

/** The v2 `PAYMENT-SIGNATURE` request header, decoded: the chosen requirement verbatim and its payload. */
export const paymentPayloadV2Schema = z.looseObject({
  x402Version: z.literal(2),
  resource: resourceInfoSchema.optional(),
  accepted: paymentRequirementsV2Schema,
  payload: jsonObjectSchema,
  extensions: jsonObjectSchema.optional(),
});
/** The v2 `PAYMENT-SIGNATURE` request header, decoded. */
export type PaymentPayloadV2 = z.infer<typeof paymentPayloadV2Schema>;
