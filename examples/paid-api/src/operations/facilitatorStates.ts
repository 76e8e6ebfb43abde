import type { PaywallEvent } from "@tollgate/server";

/** A facilitator's last known state: its last call answered (`up`), was unavailable (`down`), or none yet. */
export type FacilitatorState = "up" | "down" | "unknown";

/** The facilitators' last known states, kept from the paywall's `facilitator_call` events. */
export type FacilitatorStates = Readonly<{
  /** Feed it every paywall event; it keeps only `facilitator_call`s of the configured names. */
  observe(event: PaywallEvent): void;
  /** Each configured facilitator's state, in the configured order. */
  states(): Readonly<Record<string, FacilitatorState>>;
}>;

/**
 * Keeps the last known state of each of `names` (the facilitators as the paywall's events name them): `up`
 * after a call that answered (a refusal is an answer), `down` after one that was unavailable (timeout, refused
 * connection, 5xx, malformed answer), `unknown` before the first call. A name outside `names` is ignored, so
 * the set stays bounded by the configuration.
 *
 * @example
 * ```ts
 * const facilitators = createFacilitatorStates({ names: ["PayAI Network"] });
 * facilitators.observe({ type: "facilitator_call", facilitator: "PayAI Network", endpoint: "supported",
 *   outcome: "unavailable", durationMs: 12 });
 * facilitators.states(); // { "PayAI Network": "down" }
 * ```
 */
export function createFacilitatorStates(
  parameters: Readonly<{ names: readonly string[] }>,
): FacilitatorStates {
  const known = new Map<string, FacilitatorState>(parameters.names.map((name) => [name, "unknown"]));
  return Object.freeze({
    observe(event: PaywallEvent): void {
      if (event.type !== "facilitator_call" || !known.has(event.facilitator)) return;
      known.set(event.facilitator, event.outcome === "answer" ? "up" : "down");
    },
    states: () => Object.fromEntries(known),
  });
}
