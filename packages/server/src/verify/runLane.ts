import type { Lane } from "@tollgate/shared";
import { type DirectLaneSettings, directLane } from "./direct/directLane.js";
import { type FacilitatorLaneSettings, facilitatorLane } from "./facilitator/facilitatorLane.js";
import type { LaneContext, LaneOutcome } from "./laneContext.js";
import type { Proofs } from "./proofs.js";
import { tokenLane } from "./token/tokenLane.js";

/** Parameters of `runLane`. */
export type RunLaneParameters = Readonly<{
  /** The lane of the request's one proof. */
  lane: Lane;
  proofs: Proofs;
  ctx: LaneContext;
  facilitator: FacilitatorLaneSettings;
  direct: DirectLaneSettings;
  /** Whether the route requires a direct transfer's sender binding. */
  bindingRequired: boolean;
}>;

/** Hands the request to the lane of its proof; `undefined` when `proofs` holds no proof of `lane`. */
export async function runLane(parameters: RunLaneParameters): Promise<LaneOutcome | undefined> {
  const { lane, proofs, ctx, facilitator, direct, bindingRequired } = parameters;
  if (lane === "facilitator" && proofs.facilitator)
    return facilitatorLane(ctx, proofs.facilitator, facilitator);
  if (lane === "direct" && proofs.direct) return directLane(ctx, proofs.direct, direct, bindingRequired);
  if (lane === "token" && proofs.token !== undefined) return tokenLane(ctx, proofs.token);
  return undefined;
}
