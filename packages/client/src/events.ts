import { createEventLog, type Lane, type Logger, type LogLevel, redactStrings } from "@tollgate/shared";
import type { LedgerEntry } from "./ledger/ledger.js";

/** A short, log-safe description of an offer: lane, network, amount, asset and payee. Never a proof. */
export type OfferSummary = Readonly<{
  lane: Lane;
  network?: string;
  amount?: bigint;
  asset?: string;
  payTo?: string;
  x402Version?: 1 | 2;
  priority: number;
}>;

/** An offer the selection did not take, with the reason (stable snake_case). */
export type OfferRejection = Readonly<{ offer: OfferSummary; reason: string }>;

/**
 * Where an event's money goes: `url` is the URL the proof is sent to (the 402's, after any redirect), so its origin is
 * the one paid; `requestUrl`, present only when it differs, is the URL the caller asked for.
 */
export type EventUrls = Readonly<{ url: string; requestUrl?: string }>;

/** The `url` (where the money goes) and, when it differs, the `requestUrl` (what the caller asked) of an event. */
export function eventUrls(url: string, requestUrl: string): EventUrls {
  return url === requestUrl ? { url } : { url, requestUrl };
}

/**
 * What the paying fetch reports through `onEvent`. Events carry no secrets: no signatures, no proofs, no keys, and
 * every URL without its credentials, query or key-like path segments (`redactUrl`). Text a server chose is sanitised
 * (`sanitizeUntrusted`) and kept in fields of its own (`problems`, `serverMessage`). `url` is where the money goes
 * (see `EventUrls`).
 */
export type PayingFetchEvent =
  | Readonly<{
      type: "payment.required";
      url: string;
      requestUrl?: string;
      offers: readonly OfferSummary[];
      problems: readonly string[];
    }>
  | Readonly<{
      type: "offer.selected";
      url: string;
      requestUrl?: string;
      offer: OfferSummary;
      rejected: readonly OfferRejection[];
    }>
  | Readonly<{
      type: "budget.exceeded";
      url: string;
      requestUrl?: string;
      budget: string;
      amount: bigint;
      remaining: bigint;
    }>
  | Readonly<{ type: "payment.signed"; url: string; requestUrl?: string; offer: OfferSummary; claim: string }>
  | Readonly<{ type: "payment.reused"; url: string; requestUrl?: string; offer: OfferSummary; claim: string }>
  | Readonly<{
      type: "payment.settled";
      url: string;
      requestUrl?: string;
      offer: OfferSummary;
      status: number;
      transaction?: string;
    }>
  | Readonly<{
      type: "payment.refused";
      url: string;
      requestUrl?: string;
      offer: OfferSummary;
      status: number;
      /** The server's reason when it is a snake_case token, else `payment_refused`. */
      reason: string;
      /** The server's own words, sanitised, when its reason was not a token. */
      serverMessage?: string;
    }>
  | Readonly<{
      type: "payment.pending";
      url: string;
      requestUrl?: string;
      offer: OfferSummary;
      retryAfterSeconds: number;
    }>;

/** The `type` of a paying-fetch event. */
export type PayingFetchEventType = PayingFetchEvent["type"];

/** Reports one event to the owner's `onEvent`; never throws. */
export type Emit = (event: PayingFetchEvent) => void;

/**
 * The log level of a paying-fetch event: `warn` for what the agent's owner acts on (a refused payment, an exceeded
 * budget, a settlement still pending), `info` for the rest.
 *
 * @example
 * ```ts
 * payingFetchEventLevel(event) === "warn"; // for payment.refused, budget.exceeded and payment.pending
 * ```
 */
export function payingFetchEventLevel(event: PayingFetchEvent): LogLevel {
  switch (event.type) {
    case "payment.refused":
    case "budget.exceeded":
    case "payment.pending":
      return "warn";
    default:
      return "info";
  }
}

/**
 * Wraps the owner's `onEvent` and `logger`: an observer must not change whether or how a payment happens. Each event
 * is redacted (`redactStrings`) before either sees it.
 */
export function createEmit(onEvent: ((event: PayingFetchEvent) => void) | undefined, logger?: Logger): Emit {
  const log = createEventLog({ logger, component: "payingFetch", levelOf: payingFetchEventLevel });
  return function emit(event) {
    if (onEvent === undefined && logger === undefined) return;
    const safe = redactStrings(event);
    log(safe);
    if (onEvent === undefined) return;
    try {
      onEvent(safe);
    } catch {
      // An observer must not change whether or how a payment happens; its failure is its own.
    }
  };
}

/** The log-safe summary of what a recorded proof pays, for events about it. */
export function entrySummary(entry: LedgerEntry): OfferSummary {
  return {
    lane: entry.lane,
    network: entry.offer.network,
    amount: BigInt(entry.offer.amount),
    asset: entry.offer.asset,
    payTo: entry.offer.payTo,
    priority: 0,
    ...(entry.offer.x402Version === undefined ? {} : { x402Version: entry.offer.x402Version }),
  };
}
