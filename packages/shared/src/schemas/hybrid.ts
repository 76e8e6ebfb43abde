import { z } from "zod";
import {
  atomicAmountSchema,
  caip2Schema,
  headerNameSchema,
  longStringSchema,
  shortStringSchema,
  v1NetworkNameSchema,
} from "./primitives.js";
import { paymentRequiredV1Of, paymentRequirementsV1Schema } from "./v1.js";

const optionBase = {
  provider: shortStringSchema,
  priority: z.number().int().min(0).max(1000),
  recommended: z.boolean().optional(),
};

/** A `payment_options` entry for the facilitator lane: the standard v1 requirements again. */
export const facilitatorPaymentOptionSchema = z.looseObject({
  ...optionBase,
  type: z.literal("facilitator"),
  x402_standard: paymentRequiredV1Of(paymentRequirementsV1Schema).partial({ error: true }),
});

/** One chain a direct transfer may be made on. */
export const directNetworkOptionSchema = z.looseObject({
  network: caip2Schema,
  network_v1: v1NetworkNameSchema.optional(),
  asset: shortStringSchema,
  payTo: shortStringSchema,
  amount: atomicAmountSchema,
  min_amount: atomicAmountSchema,
  confirmations: z.number().int().min(0).max(10_000),
  max_age_seconds: z.number().int().min(0),
  binding_required: z.boolean(),
});
/** One chain a direct transfer may be made on. */
export type DirectNetworkOption = z.infer<typeof directNetworkOptionSchema>;

/** A `payment_options` entry for the direct-transfer lane. */
export const directPaymentOptionSchema = z.looseObject({
  ...optionBase,
  type: z.literal("direct_transfer"),
  networks: z.array(directNetworkOptionSchema).max(64),
  headers: z.looseObject({ tx: headerNameSchema, chain: headerNameSchema, signature: headerNameSchema }),
});

/** A `payment_options` entry for the prepaid-token lane. */
export const tokenPaymentOptionSchema = z.looseObject({
  ...optionBase,
  type: z.literal("prepaid_token"),
  header: headerNameSchema,
});

/** One `payment_options` entry of a hybrid 402 body, by `type`. */
export const paymentOptionSchema = z.discriminatedUnion("type", [
  facilitatorPaymentOptionSchema,
  directPaymentOptionSchema,
  tokenPaymentOptionSchema,
]);
/** One `payment_options` entry of a hybrid 402 body. */
export type PaymentOption = z.infer<typeof paymentOptionSchema>;

/** Builds the hybrid body schema around schemas of its `accepts` and `payment_options` entries. */
export function hybridPaymentRequiredOf<R extends z.ZodType, O extends z.ZodType>(requirement: R, option: O) {
  return paymentRequiredV1Of(requirement).extend({
    payment_required: z.boolean().optional(),
    endpoint: longStringSchema.optional(),
    amount_usdc: z
      .string()
      .regex(/^[0-9]{1,30}(\.[0-9]{1,36})?$/)
      .optional(),
    payment_options: z.array(option).max(16).optional(),
  });
}

/**
 * The body of Tollgate's hybrid 402: a valid x402 v1 body at its top level (its `accepts` holds only
 * requirements a v1 client can parse) that also lists every lane in `payment_options`.
 */
export const hybridPaymentRequiredSchema = hybridPaymentRequiredOf(
  paymentRequirementsV1Schema,
  paymentOptionSchema,
);
/** The body of Tollgate's hybrid 402. */
export type HybridPaymentRequired = z.infer<typeof hybridPaymentRequiredSchema>;
