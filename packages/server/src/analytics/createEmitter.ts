import type { Store } from "../store/store.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { eventRecord } from "./eventRecord.js";

/** Parameters of `createEmitter`. */
export type CreateEmitterParameters = Readonly<{
  /** Receives every event; its throw is ignored. */
  onEvent: ((event: PaywallEvent) => void) | undefined;
  /** Keeps the analytics record of every event but `error`. */
  store: Store;
  /** The clock, in milliseconds: each record's `at`. */
  now: () => number;
}>;

/**
 * The paywall's `emit`: hands each event to `onEvent` and records it in the store, without waiting. Neither an
 * observer's throw nor a failed record changes a payment's outcome; a failed record is reported as an `error`.
 */
export function createEmitter(parameters: CreateEmitterParameters): (event: PaywallEvent) => void {
  const { onEvent, store, now } = parameters;
  return (event: PaywallEvent): void => {
    try {
      onEvent?.(event);
    } catch {
      // An observer's failure must not change a payment's outcome.
    }
    if (event.type === "error") return;
    store.record(eventRecord(event, now())).catch((error: unknown) => {
      try {
        onEvent?.({ type: "error", where: "store.record", error });
      } catch {
        // As above.
      }
    });
  };
}
