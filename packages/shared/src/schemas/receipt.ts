import { z } from "zod";
import { settleResponseSchema } from "./facilitator.js";

/** The lanes a Tollgate server takes payment through. */
export const laneSchema = z.enum(["facilitator", "direct", "token"]);
/** A payment lane. */
export type Lane = z.infer<typeof laneSchema>;

/**
 * The `PAYMENT-RESPONSE` a Tollgate server sends: the v2 settle answer, plus the `lane` that took the
 * payment (direct and token lanes; `transaction` is the tx for direct, `""` for token).
 */
export const paymentReceiptSchema = settleResponseSchema.extend({ lane: laneSchema.optional() });
/** The decoded `PAYMENT-RESPONSE` of a Tollgate server. */
export type PaymentReceipt = z.infer<typeof paymentReceiptSchema>;
