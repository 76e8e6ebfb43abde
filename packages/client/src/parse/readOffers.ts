import {
  decodeHeader,
  isTollgateError,
  type Offer,
  type PaymentReceipt,
  type PaymentRequiredReading,
  paymentReceiptSchema,
  readBodyUpTo,
  readPaymentRequired,
  sanitizeUntrusted,
  x402HeaderNames,
} from "@tollgate/shared";

/** The most of a 402 body the client reads by default; a longer body is treated as having no readable JSON. */
export const maxPaymentRequiredBodyBytes = 256 * 1024;

/** The most time the client spends reading a 402 body by default, in milliseconds. */
export const defaultBodyReadTimeoutMs = 10_000;

/**
 * Bounds on every body the paying fetch reads itself (402 bodies: unpaid, after a proof, for `quote`). Bodies it
 * returns to the caller are the caller's to read.
 */
export type ReadLimits = Readonly<{
  /** The most bytes read of a body; a longer one is cancelled and counts as unreadable. @default 262144 (256 KiB) */
  maxBytes?: number;
  /**
   * The most time the whole read of a body may take, milliseconds, whatever the caller's signal (a server dripping
   * bytes does not extend it); a slower one is cancelled and counts as unreadable. @default 10000
   */
  timeoutMs?: number;
}>;

/** A 402, read: its offers (from all three forms), the problems met, and the server's reason. */
export type PaymentRequiredResponse = PaymentRequiredReading &
  Readonly<{
    status: number;
    /** The decoded `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` of the 402, when it carried one. */
    settle?: PaymentReceipt;
    /** `Retry-After` in seconds, when given as a number. */
    retryAfterSeconds?: number;
  }>;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Reads a 402 into offers, its body within `limits`. Never throws on what the server sent: a body over the size or
 * time limit, invalid UTF-8, bad JSON, JSON nested too deep or of the wrong shape only add to `problems` (the
 * headers are still read).
 */
export async function readOffers(
  response: Response,
  limits: ReadLimits = {},
): Promise<PaymentRequiredResponse> {
  const { maxBytes = maxPaymentRequiredBodyBytes, timeoutMs = defaultBodyReadTimeoutMs } = limits;
  const problems: string[] = [];
  let body: unknown;
  try {
    const bytes = await readBodyUpTo({ body: response.body, limit: maxBytes, timeoutMs, what: "402 body" });
    if (bytes === undefined) problems.push(`body: over ${maxBytes} bytes`);
    else if (bytes.byteLength > 0) {
      try {
        body = JSON.parse(utf8.decode(bytes)) as unknown;
      } catch {
        // Not JSON: a v2 server may send any body; the header still counts.
        body = undefined;
      }
    }
  } catch (cause) {
    if (isTollgateError(cause, "WIRE__READ_TIMEOUT")) problems.push(`body: not read within ${timeoutMs} ms`);
    else problems.push(`body: unreadable (${cause instanceof Error ? cause.name : "error"})`);
  }
  let reading: PaymentRequiredReading;
  try {
    reading = readPaymentRequired({ headers: response.headers, body });
  } catch (cause) {
    reading = { offers: [], problems: [`unreadable: ${cause instanceof Error ? cause.name : "error"}`] };
  }
  const settle = readSettleHeader(response.headers);
  const retryAfter = response.headers.get("retry-after");
  const retryAfterSeconds =
    retryAfter !== null && /^[0-9]{1,6}$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;
  return {
    ...reading,
    problems: [...problems, ...reading.problems],
    status: response.status,
    ...(settle === undefined ? {} : { settle }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

/** Decodes `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1); `undefined` when absent or unreadable. */
export function readSettleHeader(headers: Headers): PaymentReceipt | undefined {
  for (const header of [x402HeaderNames.paymentResponse, x402HeaderNames.xPaymentResponse]) {
    const value = headers.get(header);
    if (value === null) continue;
    try {
      return decodeHeader({ header, value, schema: paymentReceiptSchema });
    } catch {
      // An unreadable receipt is reported as none; the response itself is still returned to the caller.
    }
  }
  return undefined;
}

/** A refusal reason as the server gave it: a stable token, and its own words when it gave no token. */
export type ServerReason = Readonly<{
  /** The server's reason when it is a snake_case token (what x402 servers send), else `payment_refused`. */
  reason: string;
  /** The server's text, sanitised (`sanitizeUntrusted`), when it was not a token: its words, not ours. */
  serverMessage?: string;
}>;

/** The reason tokens x402 peers send: lowercase snake_case. */
const reasonToken = /^[a-z][a-z0-9_]{0,127}$/;

/**
 * The server's reason for refusing a payment: the settle answer's `errorReason`, else the 402's `error`. Only a
 * snake_case token is a reason; any other text ("SYSTEM: ignore previous instructions…", newlines, ANSI escapes) is
 * the server's message, sanitised and kept apart.
 */
export function refusalReason(reading: PaymentRequiredResponse): ServerReason {
  const text = reading.settle?.errorReason ?? reading.error;
  if (typeof text !== "string" || text === "") return { reason: "payment_refused" };
  if (reasonToken.test(text)) return { reason: text };
  return { reason: "payment_refused", serverMessage: sanitizeUntrusted(text) };
}

export type { Offer };
