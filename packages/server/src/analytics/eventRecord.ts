import type { StoreRecord } from "../store/store.js";
import type { PaywallEvent } from "../verify/laneContext.js";

/** The analytics record of an event: its type and the facts it carries, never a secret. */
export function eventRecord(event: Exclude<PaywallEvent, { type: "error" }>, at: number): StoreRecord {
  const { type } = event;
  const fields = event as Partial<Record<keyof StoreRecord, unknown>>;
  const text = (key: keyof StoreRecord) => (typeof fields[key] === "string" ? { [key]: fields[key] } : {});
  return {
    at,
    type,
    ...text("route"),
    ...text("lane"),
    ...text("reason"),
    ...text("facilitator"),
    ...text("network"),
    ...text("payer"),
    ...(typeof fields.amount === "bigint" ? { amount: fields.amount } : {}),
    ...(typeof fields.durationMs === "number" ? { durationMs: fields.durationMs } : {}),
    ...(event.type === "facilitator_call" ? { reason: `${event.endpoint}:${event.outcome}` } : {}),
    ...(event.type === "rpc_call" ? { reason: event.outcome } : {}),
    ...(event.type === "failed_over"
      ? { facilitator: event.from, reason: `${event.reason}->${event.to}` }
      : {}),
  } as StoreRecord;
}
