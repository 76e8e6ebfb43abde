/** The HTTP header names of x402 v1 and v2. Header names are case-insensitive; these are the canonical spellings. */
export const x402HeaderNames = Object.freeze({
  /** v2, response: base64 JSON `PaymentRequired`. */
  paymentRequired: "PAYMENT-REQUIRED",
  /** v2, request: base64 JSON `PaymentPayload`. */
  paymentSignature: "PAYMENT-SIGNATURE",
  /** v2, response: base64 JSON settle answer. */
  paymentResponse: "PAYMENT-RESPONSE",
  /** v1, request: base64 JSON `PaymentPayload`. */
  xPayment: "X-PAYMENT",
  /** v1, response: base64 JSON settle answer. */
  xPaymentResponse: "X-PAYMENT-RESPONSE",
  /** Either generation, request: the caller's key for one logical request. */
  idempotencyKey: "Idempotency-Key",
} as const);
