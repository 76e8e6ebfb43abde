import type { Store } from "@tollgate/server";
import type { FacilitatorState } from "./facilitatorStates.js";

/** How the store answered the readiness probe: in time (`up`), with a failure (`down`), or not in time. */
export type StoreState = "up" | "down" | "timeout";

/** The answer of `/readyz`, as its JSON body. */
export type Readiness = Readonly<{
  status: "ready" | "not_ready";
  /** What is not ready (`store`, `facilitators`); empty when ready. */
  notReady: readonly ("store" | "facilitators")[];
  store: StoreState;
  /** Each facilitator's last known state (from the paywall's own calls, never probed here). */
  facilitators: Readonly<Record<string, FacilitatorState>>;
}>;

/** Parameters of `createReadiness`. */
export type CreateReadinessParameters = Readonly<{
  /** The paywall's store: one cheap read (`getClaim` of a key nothing writes) per probe. */
  store: Store;
  /** The facilitators' last known states. */
  facilitators: () => Readonly<Record<string, FacilitatorState>>;
  /**
   * Whether the facilitator lane is the only one taking payments (direct and token lanes off): then every
   * facilitator down means no payment can be taken, and the server is not ready. With another lane on, a
   * facilitator outage is reported but the server stays ready (its fallback is the point of the hybrid paywall).
   */
  facilitatorLaneOnly: boolean;
  /**
   * How long the store may take to answer, in milliseconds; slower is `timeout` (not ready).
   * @default 2_000
   */
  timeoutMs?: number;
}>;

/** The key the probe reads: no claim is ever stored under it (claim keys are proof digests). */
const probeKey = "tollgate:readyz:probe";

/**
 * The readiness check of the reference server (`/readyz`): the store answers a cheap read within `timeoutMs`,
 * and, when the facilitator lane is the only lane, at least one facilitator was not unavailable at its last
 * call. Concurrent checks share one store read, so a flood of probes costs the store one query at a time.
 * The store's error is never put in the answer (a driver's message may name a host or a user).
 *
 * @example
 * ```ts
 * const readiness = createReadiness({ store, facilitators: () => ({}), facilitatorLaneOnly: false });
 * const { status } = await readiness.check(); // "ready"
 * ```
 */
export function createReadiness(parameters: CreateReadinessParameters): Readonly<{
  check(): Promise<Readiness>;
}> {
  const { store, facilitators, facilitatorLaneOnly, timeoutMs = 2_000 } = parameters;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError("timeoutMs must be a positive integer");
  let inFlight: Promise<StoreState> | undefined;

  function probeStore(): Promise<StoreState> {
    inFlight ??= new Promise<StoreState>((resolve) => {
      // Whichever comes first answers; a read that answers after the timeout settles nothing.
      const timer = setTimeout(() => resolve("timeout"), timeoutMs);
      const answered = (state: StoreState) => {
        clearTimeout(timer);
        resolve(state);
      };
      store.getClaim(probeKey).then(
        () => answered("up"),
        () => answered("down"),
      );
    }).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return Object.freeze({
    async check(): Promise<Readiness> {
      const storeState = await probeStore();
      const states = facilitators();
      const names = Object.keys(states);
      const allDown = names.length > 0 && names.every((name) => states[name] === "down");
      const notReady: ("store" | "facilitators")[] = [];
      if (storeState !== "up") notReady.push("store");
      if (facilitatorLaneOnly && allDown) notReady.push("facilitators");
      return {
        status: notReady.length === 0 ? "ready" : "not_ready",
        notReady,
        store: storeState,
        facilitators: states,
      };
    },
  });
}
