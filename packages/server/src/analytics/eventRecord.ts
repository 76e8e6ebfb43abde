import type { StoreRecord } from "../store/store.js";
import type { PaywallEvent } from "../verify/laneContext.js";

/** The text facts an event may carry that its record keeps. */
const textFields = ["route", "lane", "reason", "facilitator", "network", "payer"] as const;

/**
 * The analytics record of an event: its type and the facts it carries, never a secret. Runs on the paid path
 * (about five times per paid request), so it assigns fields directly rather than spreading an object per field.
 */
export function eventRecord(event: Exclude<PaywallEvent, { type: "error" }>, at: number): StoreRecord {
  const fields = event as Partial<Record<keyof StoreRecord, unknown>>;
  const record: Record<string, unknown> = { at, type: event.type };
  for (const key of textFields) {
    const value = fields[key];
    if (typeof value === "string") record[key] = value;
  }
  if (typeof fields.amount === "bigint") record.amount = fields.amount;
  if (typeof fields.durationMs === "number") record.durationMs = fields.durationMs;
  if (event.type === "facilitator_call") record.reason = `${event.endpoint}:${event.outcome}`;
  else if (event.type === "rpc_call") record.reason = event.outcome;
  else if (event.type === "failed_over") {
    record.facilitator = event.from;
    record.reason = `${event.reason}->${event.to}`;
  }
  return record as StoreRecord;
}
