import type { LogLevel } from "@tollgate/shared";
import type { FacilitatorEvent } from "../facilitator/createFacilitator.js";
import type { PaywallEvent } from "../verify/laneContext.js";

/**
 * The log level of a paywall event: `error` for internal failures; `warn` for what an operator acts on (refusals,
 * failovers, pending settlements, a facilitator or an RPC that did not answer); `debug` for the routine steps of
 * every payment (proof received and checked, calls that answered); `info` for the rest (402s, payments, refunds).
 *
 * @example
 * ```ts
 * paywallEventLevel({ type: "failed_over", route: "GET /r", from: "PayAI", to: "direct", reason: "timeout" }); // "warn"
 * ```
 */
export function paywallEventLevel(event: PaywallEvent): LogLevel {
  switch (event.type) {
    case "error":
      return "error";
    case "refused":
    case "failed_over":
    case "settlement_pending":
      return "warn";
    case "facilitator_call":
    case "rpc_call":
      return event.outcome === "unavailable" ? "warn" : "debug";
    case "proof_received":
    case "proof_checked":
      return "debug";
    default:
      return "info";
  }
}

/**
 * The log level of a facilitator event: `error` for internal failures, `warn` for a refused verification or a
 * failed settlement, `info` for the rest.
 *
 * @example
 * ```ts
 * facilitatorEventLevel({ type: "settle", network: "eip155:8453", ok: true, durationMs: 900 }); // "info"
 * ```
 */
export function facilitatorEventLevel(event: FacilitatorEvent): LogLevel {
  if (event.type === "error") return "error";
  return event.ok ? "info" : "warn";
}
