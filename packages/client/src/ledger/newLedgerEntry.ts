import { x402HeaderNames } from "@tollgate/shared";
import type { BufferedRequest } from "../request/bufferRequest.js";
import { randomIdempotencyKey } from "../request/requestKey.js";
import type { LedgerEntry } from "./ledger.js";

/** What a lane made of a payment: the proof, what it pays, and what it needs to finish after a restart. */
export type LanePayment = Pick<
  LedgerEntry,
  "lane" | "proof" | "offer" | "claim" | "validBefore" | "moreHeaders" | "laneData"
>;

/** Parameters of `newLedgerEntry`. */
export type NewLedgerEntryParameters = Readonly<{
  /** The request being paid for: its method and the caller's `Idempotency-Key`, if any. */
  request: BufferedRequest;
  /** The ledger key of the logical request (`requestKey`). */
  key: string;
  /** The URL the proof is sent to (the 402's, after any redirect). */
  url: string;
  now: () => number;
  /** What the lane made: the proof, what it pays, and what it needs to finish after a restart. */
  payment: Pick<
    LedgerEntry,
    "lane" | "proof" | "offer" | "claim" | "validBefore" | "moreHeaders" | "laneData"
  >;
  /** The id of the payment's hold in a shared `BudgetStore`, if any. @default undefined */
  holdId?: string;
}>;

/**
 * A `pending` ledger entry for a new proof, with the caller's `Idempotency-Key` (or a random one that every
 * re-send keeps).
 */
export function newLedgerEntry(parameters: NewLedgerEntryParameters): LedgerEntry {
  const { request, key, url, now, payment, holdId } = parameters;
  const at = now();
  return {
    key,
    idempotencyKey: request.headers.get(x402HeaderNames.idempotencyKey) || randomIdempotencyKey(),
    state: "pending",
    url,
    method: request.method,
    ...payment,
    ...(payment.validBefore === undefined ? {} : { validBefore: payment.validBefore }),
    ...(holdId === undefined ? {} : { holdId }),
    createdAt: at,
    updatedAt: at,
  };
}
