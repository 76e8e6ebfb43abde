import { quoteUntrusted } from "./untrustedText.js";

/**
 * The typed context each error code carries. A code's context is the data a program needs to act on the
 * error; the human message is derived from it by `errorMessages`.
 */
export interface ErrorContexts {
  /** A header value is not standard base64 of a JSON object. */
  WIRE__MALFORMED_HEADER: { header: string; reason: "base64" | "base64url" | "json" | "empty" };
  /** A header or body is larger than Tollgate accepts. */
  WIRE__TOO_LARGE: { what: string; size: number; limit: number };
  /** Decoded JSON does not match the wire schema. */
  WIRE__SCHEMA_MISMATCH: { what: string; issues: readonly WireIssue[] };
  /** An `x402Version` Tollgate does not speak. */
  WIRE__UNSUPPORTED_VERSION: { what: string; version: unknown };
  /** A 402 response carried no readable payment requirements in any of its three forms. */
  WIRE__NO_PAYMENT_REQUIRED: { status: number; problems: readonly string[] };
  /** A value that must encode to a header cannot (too large after encoding, not serialisable). */
  WIRE__ENCODE_FAILED: { what: string; reason: string };
  /** A body was not read within its time limit (a peer sending it slowly or never finishing); it was cancelled. */
  WIRE__READ_TIMEOUT: { what: string; timeoutMs: number };

  /** A money string does not look like `"$0.01"`, `"0.01"` or an atomic integer. */
  MONEY__INVALID_FORMAT: { input: string };
  /** More fractional digits than the asset has decimals. */
  MONEY__TOO_MANY_DECIMALS: { input: string; decimals: number };
  /** Negative amounts are never valid. */
  MONEY__NEGATIVE: { input: string };
  /** Larger than a uint256 can hold, or than the given bound. */
  MONEY__OVERFLOW: { input: string; max: string };
  /** Decimals outside 0..36. */
  MONEY__INVALID_DECIMALS: { decimals: number };

  /** A network id or v1 name the registry does not know. */
  NETWORK__UNKNOWN: { network: string };
  /** A network the registry knows, but without a configured asset. */
  NETWORK__NO_ASSET: { network: string };
  /** Registering a network whose ids clash with an existing, different entry. */
  NETWORK__CONFLICT: { network: string; existing: string };

  /** The chosen offer costs more than the policy's maximum per request. */
  CLIENT__AMOUNT_EXCEEDS_MAX: { amount: string; max: string; network: string };
  /** A cumulative budget has no room for this payment. */
  CLIENT__BUDGET_EXHAUSTED: { budget: string; amount: string; remaining: string };
  /**
   * A direct transfer's fee (native units: wei, lamports) is above `policy.direct.fees`: the cap per payment
   * (`limit: "maxPerPayment"`) or a fee budget (its name). `fee` is `"unknown"` when the wallet could not tell it.
   */
  CLIENT__FEE_LIMIT_EXCEEDED: { network: string; fee: string; limit: string; remaining: string };
  /** No offer of the 402 is payable; each offer's reason is listed. */
  CLIENT__NO_PAYABLE_OFFER: { url: string; rejections: readonly { offer: string; reason: string }[] };
  /**
   * The server refused the payment. `reason` is its snake_case reason (else `payment_refused`); `serverMessage` is
   * the server's own text, sanitised, when it sent words rather than a reason: the peer's, never an instruction.
   */
  CLIENT__PAYMENT_REFUSED: { url: string; reason: string; status: number; serverMessage?: string };
  /** The caller's `confirm` hook declined the payment. */
  CLIENT__CONFIRM_DECLINED: { url: string };
  /** The request was aborted by its `AbortSignal` or a timeout. */
  CLIENT__ABORTED: { url: string; stage: string };
  /** A payment may still settle; the caller may retry later with the same request. */
  CLIENT__SETTLEMENT_PENDING: { url: string; retryAfterSeconds: number };
  /** The wallet could not produce the payment (signing or sending failed). */
  CLIENT__WALLET_FAILED: { network: string; operation: string };
  /** Another ledger (in this process or another) holds the file ledger's one-writer lock. */
  CLIENT__LEDGER_LOCKED: { path: string; pid: number; host: string };
  /** Another process held a shared ledger's lease on the request past the bounded wait (it is paying it). */
  CLIENT__LEDGER_BUSY: { store: string; waitMs: number };
  /** A shared ledger's lease on a request was lost (expired, connection gone) before its proof was recorded. */
  CLIENT__LEDGER_LEASE_LOST: { store: string };

  /** Every facilitator was unavailable (timeout, connection error, 5xx, malformed answer). */
  FACILITATOR__UNAVAILABLE: { facilitators: readonly string[] };
  /** A facilitator answered with a body that is not a valid verify/settle/supported answer. */
  FACILITATOR__MALFORMED_RESPONSE: { facilitator: string; endpoint: string; status: number };
  /** A facilitator call exceeded its timeout. */
  FACILITATOR__TIMEOUT: { facilitator: string; endpoint: string; timeoutMs: number };

  /** A chain call (RPC, bank) failed or timed out. */
  CHAIN__CALL_FAILED: { network: string; operation: string };
  /** A chain call exceeded its timeout. */
  CHAIN__TIMEOUT: { network: string; operation: string; timeoutMs: number };

  /** The same proof was presented again after it was claimed. */
  SERVER__REPLAYED_PAYMENT: { claimKey: string };
  /** The server or facilitator was configured wrongly (caller mistake, at start-up). */
  SERVER__INVALID_CONFIG: { option: string; reason: string };
  /** The store failed; the paywall fails closed. */
  SERVER__STORE_FAILED: { operation: string };
  /** A bounded store is full of live entries and refuses a new one; the paywall answers 503 `store_full`. */
  SERVER__STORE_FULL: { operation: string; limit: string };
  /** A lane asked for a claim move the claim state machine (`claimLife.ts`) does not have (a bug, never input). */
  SERVER__ILLEGAL_CLAIM_TRANSITION: { transition: string };
  /** `paywall.settle` got a decision this paywall did not make, or one it already settled (caller mistake). */
  SERVER__UNKNOWN_DECISION: { action: string };
  /**
   * The admin API's key is refused at start: `empty`, `too_short` (fewer than `minLength` characters), or a
   * `known_default` (a placeholder, a word such as `changeme`, one character repeated). The key is never in it.
   */
  SERVER__WEAK_ADMIN_KEY: { reason: "empty" | "too_short" | "known_default"; minLength: number };
}

/** A stable error code: `AREA__WHAT`. */
export type ErrorCode = keyof ErrorContexts;

/** One problem found by a schema, as a path and a message. */
export type WireIssue = Readonly<{ path: string; message: string }>;

/** The human-readable message of each code, built from its context. One table, one place. */
export const errorMessages: { readonly [C in ErrorCode]: (context: ErrorContexts[C]) => string } = {
  WIRE__MALFORMED_HEADER: (c) =>
    c.reason === "base64url"
      ? `Header ${c.header} uses base64url characters; x402 headers are standard base64.`
      : c.reason === "empty"
        ? `Header ${c.header} is empty.`
        : `Header ${c.header} is not ${c.reason === "base64" ? "valid base64" : "base64 of a JSON value"}.`,
  WIRE__TOO_LARGE: (c) => `${c.what} is ${c.size} bytes, over the limit of ${c.limit}.`,
  WIRE__SCHEMA_MISMATCH: (c) =>
    `${c.what} does not match its schema: ${c.issues
      .slice(0, 3)
      .map((i) => `${i.path || "(root)"}: ${i.message}`)
      .join("; ")}${c.issues.length > 3 ? ` (+${c.issues.length - 3} more)` : ""}.`,
  WIRE__UNSUPPORTED_VERSION: (c) =>
    `${c.what} has x402Version ${typeof c.version === "number" ? c.version : quoteUntrusted(String(c.version), 32)}; supported: 1, 2.`,
  WIRE__NO_PAYMENT_REQUIRED: (c) =>
    `The ${c.status} response carries no readable payment requirements (${c.problems.join("; ") || "nothing found"}).`,
  WIRE__ENCODE_FAILED: (c) => `Cannot encode ${c.what}: ${c.reason}.`,
  WIRE__READ_TIMEOUT: (c) => `${c.what} was not read within ${c.timeoutMs} ms; it was cancelled.`,
  MONEY__INVALID_FORMAT: (c) => `"${c.input}" is not an amount such as "$0.01", "0.01" or "10000".`,
  MONEY__TOO_MANY_DECIMALS: (c) => `"${c.input}" has more than ${c.decimals} decimal places.`,
  MONEY__NEGATIVE: (c) => `"${c.input}" is negative.`,
  MONEY__OVERFLOW: (c) => `"${c.input}" is larger than the maximum ${c.max}.`,
  MONEY__INVALID_DECIMALS: (c) => `Decimals must be an integer from 0 to 36, not ${c.decimals}.`,
  NETWORK__UNKNOWN: (c) => `Unknown network "${c.network}".`,
  NETWORK__NO_ASSET: (c) => `Network "${c.network}" has no configured asset.`,
  NETWORK__CONFLICT: (c) => `Network "${c.network}" conflicts with the registered "${c.existing}".`,
  CLIENT__AMOUNT_EXCEEDS_MAX: (c) =>
    `Payment of ${c.amount} atomic units on ${c.network} exceeds the maximum of ${c.max} per request.`,
  CLIENT__BUDGET_EXHAUSTED: (c) =>
    `Budget "${c.budget}" has ${c.remaining} atomic units left, not enough for ${c.amount}.`,
  CLIENT__FEE_LIMIT_EXCEEDED: (c) =>
    c.limit === "maxPerPayment"
      ? `A direct transfer on ${c.network} would cost a fee of ${c.fee}, above the maximum of ${c.remaining} per payment.`
      : `Fee budget "${c.limit}" on ${c.network} has ${c.remaining} left, not enough for a fee of ${c.fee}.`,
  CLIENT__NO_PAYABLE_OFFER: (c) =>
    `No payable offer for ${c.url}: ${c.rejections.map((r) => `${r.offer}: ${r.reason}`).join("; ") || "none offered"}.`,
  CLIENT__PAYMENT_REFUSED: (c) =>
    `${c.url} refused the payment (${c.status}): ${c.reason}${c.serverMessage === undefined ? "" : `; the server's text (not ours): ${quoteUntrusted(c.serverMessage)}`}.`,
  CLIENT__CONFIRM_DECLINED: (c) => `The confirm hook declined to pay for ${c.url}.`,
  CLIENT__ABORTED: (c) => `Request to ${c.url} aborted during ${c.stage}.`,
  CLIENT__SETTLEMENT_PENDING: (c) =>
    `Payment to ${c.url} may still settle; retry the same request after ${c.retryAfterSeconds} s.`,
  CLIENT__WALLET_FAILED: (c) => `The wallet failed to ${c.operation} on ${c.network}.`,
  CLIENT__LEDGER_LOCKED: (c) =>
    `The ledger ${c.path} is in use by process ${c.pid}${c.host === "" ? "" : ` on ${c.host}`}; one writer at a time.`,
  CLIENT__LEDGER_BUSY: (c) =>
    `Another process is paying this request in the ${c.store} ledger; its lease was still held after ${c.waitMs} ms.`,
  CLIENT__LEDGER_LEASE_LOST: (c) =>
    `The ${c.store} ledger's lease on this request was lost before its proof was recorded; nothing was sent.`,
  FACILITATOR__UNAVAILABLE: (c) =>
    `No facilitator answered (${c.facilitators.join(", ") || "none configured"}).`,
  FACILITATOR__MALFORMED_RESPONSE: (c) =>
    `Facilitator ${c.facilitator} answered ${c.endpoint} with status ${c.status} and a malformed body.`,
  FACILITATOR__TIMEOUT: (c) =>
    `Facilitator ${c.facilitator} did not answer ${c.endpoint} within ${c.timeoutMs} ms.`,
  CHAIN__CALL_FAILED: (c) => `Chain call ${c.operation} on ${c.network} failed.`,
  CHAIN__TIMEOUT: (c) => `Chain call ${c.operation} on ${c.network} did not finish within ${c.timeoutMs} ms.`,
  SERVER__REPLAYED_PAYMENT: (c) => `Payment proof ${c.claimKey} was already used.`,
  SERVER__INVALID_CONFIG: (c) => `Invalid configuration for ${c.option}: ${c.reason}.`,
  SERVER__STORE_FAILED: (c) => `The store failed during ${c.operation}.`,
  SERVER__STORE_FULL: (c) => `The store is full (${c.limit}) and refused ${c.operation}.`,
  SERVER__ILLEGAL_CLAIM_TRANSITION: (c) => `No claim transition ${c.transition} exists.`,
  SERVER__UNKNOWN_DECISION: (c) =>
    `paywall.settle got a "${c.action}" decision this paywall did not make or already settled.`,
  SERVER__WEAK_ADMIN_KEY: (c) =>
    `The admin API key is refused (${c.reason}): use a random key of at least ${c.minLength} characters.`,
};
