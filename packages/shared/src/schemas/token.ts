import { z } from "zod";
import { atomicAmountSchema } from "./primitives.js";

/** `X-PAYMENT-TOKEN`: 32 random bytes, base64url without padding (43 characters). */
export const prepaidTokenSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, "expected a 43-character base64url token");

/** The header names of the prepaid-token lane. */
export const tokenHeaderNames = Object.freeze({
  token: "X-PAYMENT-TOKEN",
  balance: "X-PAYMENT-TOKEN-BALANCE",
  expires: "X-PAYMENT-TOKEN-EXPIRES",
} as const);

/** The token headers of a response that issued or debited a token, as a client reads them. */
export const prepaidTokenResponseSchema = z.object({
  token: prepaidTokenSchema.optional(),
  balance: atomicAmountSchema,
  expiresAt: z
    .string()
    .regex(/^[0-9]{1,12}$/, "expected Unix seconds")
    .transform((v) => Number(v)),
});
/** The token headers of a response. */
export type PrepaidTokenResponse = z.infer<typeof prepaidTokenResponseSchema>;
