import type { Lane } from "@tollgate/shared";
import type { LaneSwitches } from "./paywallOptions.js";

/** Every lane a paywall has, in the order the switches list them. */
const allLanes: readonly Lane[] = ["facilitator", "direct", "token"];

/** The switches' state: each lane and each facilitator the paywalls declared, on or off. */
export type RuntimeSwitchesState = Readonly<{
  lanes: Readonly<Record<Lane, boolean>>;
  /** By facilitator name, in the order the paywalls declared them. */
  facilitators: Readonly<Record<string, boolean>>;
}>;

/**
 * Switches read by a paywall on every request, so an operator (the admin API) can turn a lane or one facilitator
 * off and on again without a restart: the seed's rollback options ("direct only", "skip facilitator X") at run
 * time. A lane switched off is neither offered in the 402 nor accepted (`<lane>_lane_disabled`); a facilitator
 * switched off is skipped by the failover as an unavailable one would be. They only narrow the configuration: a
 * lane or facilitator the paywall has not configured stays off whatever its switch says. The state is per process
 * (several processes behind a balancer are switched one by one).
 */
export type RuntimeSwitches = Readonly<{
  /** Whether `lane` is on. */
  lane(lane: Lane): boolean;
  /** Whether the facilitator `name` is on (a name never declared is on). */
  facilitator(name: string): boolean;
  /** Turns a lane on or off. */
  setLane(lane: Lane, on: boolean): void;
  /** Turns a declared facilitator on or off; `false` (nothing changed) for a name no paywall declared. */
  setFacilitator(name: string, on: boolean): boolean;
  /** Adds facilitator names (each on, unless already known); `createPaywall` declares its facilitators. */
  declareFacilitators(names: readonly string[]): void;
  /** The switches now. */
  state(): RuntimeSwitchesState;
}>;

/** Parameters of `createRuntimeSwitches`. */
export type CreateRuntimeSwitchesParameters = Readonly<{
  /**
   * Lanes off at start.
   * @default all on
   */
  lanes?: LaneSwitches;
  /**
   * Facilitators by name, off at start when `false`.
   * @default all on
   */
  facilitators?: Readonly<Record<string, boolean>>;
}>;

/**
 * Creates the run-time switches of lanes and facilitators, to pass to `createPaywall` (`switches`) and to the
 * admin API (`createAdminApi`), which turns them.
 *
 * @example
 * ```ts
 * import { createPaywall, createRuntimeSwitches } from "@tollgate/server";
 * const switches = createRuntimeSwitches();
 * const paywall = createPaywall({ …, switches });
 * switches.setLane("facilitator", false); // direct only, from the next request on
 * ```
 */
export function createRuntimeSwitches(parameters: CreateRuntimeSwitchesParameters = {}): RuntimeSwitches {
  const { lanes = {}, facilitators = {} } = parameters;
  const laneOn = new Map<Lane, boolean>(allLanes.map((lane) => [lane, lanes[lane] !== false]));
  const facilitatorOn = new Map<string, boolean>(Object.entries(facilitators));
  return Object.freeze({
    lane: (lane: Lane) => laneOn.get(lane) === true,
    facilitator: (name: string) => facilitatorOn.get(name) !== false,
    setLane(lane: Lane, on: boolean): void {
      if (laneOn.has(lane)) laneOn.set(lane, on);
    },
    setFacilitator(name: string, on: boolean): boolean {
      if (!facilitatorOn.has(name)) return false;
      facilitatorOn.set(name, on);
      return true;
    },
    declareFacilitators(names: readonly string[]): void {
      for (const name of names) if (!facilitatorOn.has(name)) facilitatorOn.set(name, true);
    },
    state: (): RuntimeSwitchesState => ({
      lanes: Object.fromEntries(allLanes.map((lane) => [lane, laneOn.get(lane) === true])) as Record<
        Lane,
        boolean
      >,
      facilitators: Object.fromEntries(facilitatorOn),
    }),
  });
}
