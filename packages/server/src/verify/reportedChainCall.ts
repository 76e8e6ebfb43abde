import { type WithChainTimeoutParameters, withChainTimeout } from "../internal/deadline.js";
import type { LaneContext } from "./laneContext.js";

/**
 * Runs one chain RPC call of a lane under `withChainTimeout` and reports it as an `rpc_call` event: `answer` when
 * it resolved, `unavailable` when it failed or timed out (then rethrows), with its duration. The one place a lane's
 * RPC calls are timed and reported, so every lane's reads feed the same RPC health figures.
 */
export async function reportedChainCall<T>(
  ctx: Pick<LaneContext, "now" | "emit">,
  call: () => Promise<T>,
  parameters: WithChainTimeoutParameters,
): Promise<T> {
  const { network } = parameters;
  const started = ctx.now();
  try {
    const result = await withChainTimeout(call, parameters);
    ctx.emit({ type: "rpc_call", network, outcome: "answer", durationMs: ctx.now() - started });
    return result;
  } catch (error) {
    ctx.emit({ type: "rpc_call", network, outcome: "unavailable", durationMs: ctx.now() - started });
    throw error;
  }
}
