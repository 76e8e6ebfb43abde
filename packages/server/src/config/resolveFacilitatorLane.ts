import type { FacilitatorLaneSettings, SettlementCheck } from "../verify/facilitator/facilitatorLane.js";
import type { PaymentSignatureCheck } from "../verify/facilitator/localChecks.js";
import {
  type FacilitatorEndpoint,
  type FacilitatorOption,
  type InProcessFacilitator,
  inProcessFacilitator,
  remoteFacilitator,
} from "../verify/fallback/facilitators.js";
import { createFailover, type FacilitatorCallReport } from "../verify/fallback/failover.js";
import {
  type ClosableTransport,
  createUndiciTransport,
  type FacilitatorTransport,
} from "../verify/fallback/transport.js";
import { invalidConfig } from "./invalidConfig.js";
import type { CreatePaywallParameters } from "./paywallOptions.js";

/** How long a settled transaction stays claimed for the direct lane: its default maximum age (7 days) and a day. */
export const defaultTransactionClaimSeconds = 604_800 + 86_400;

/** Parameters of `resolveFacilitatorLane`: the paywall's facilitator options, defaults applied. */
export type ResolveFacilitatorLaneParameters = Readonly<{
  /** Remote facilitators, in priority order. */
  facilitators: readonly FacilitatorOption[];
  /** Our own facilitator, the last resort. */
  selfSettle: InProcessFacilitator | undefined;
  /** How remote facilitators without their own transport are called; `undefined`: a new undici transport. */
  transport: FacilitatorTransport | undefined;
  /** By CAIP-2 network, resolved (`resolveChainChecks`). */
  settlementChecks: Readonly<Record<string, SettlementCheck>>;
  /** By CAIP-2 network, resolved (`resolveChainChecks`). */
  signatureChecks: Readonly<Record<string, PaymentSignatureCheck>>;
  retryAfterSeconds: NonNullable<CreatePaywallParameters["retryAfterSeconds"]>;
  supportedRefreshMs: number;
  /** The clock, in milliseconds. */
  now: () => number;
  /** Reports each facilitator call. */
  onCall: (report: FacilitatorCallReport) => void;
  /** Whether a facilitator is switched on (run-time switches); every one when absent. */
  isOn?: (name: string) => boolean;
}>;

/** The facilitator lane, resolved. */
export type ResolveFacilitatorLaneReturnType = Readonly<{
  settings: Omit<FacilitatorLaneSettings, "staleClaimSeconds">;
  /** Whether any facilitator is enabled (otherwise the lane is off and `/supported` is never read). */
  hasFacilitators: boolean;
  /** The transport created for facilitators that name none, closed with the paywall. */
  defaultTransport: ClosableTransport | undefined;
}>;

/**
 * Builds the facilitator lane: the enabled remote facilitators in order, then our own, behind one failover.
 * @throws `SERVER__INVALID_CONFIG` for a facilitator URL that is not http(s), or two facilitators of one name.
 */
export function resolveFacilitatorLane(
  parameters: ResolveFacilitatorLaneParameters,
): ResolveFacilitatorLaneReturnType {
  const {
    facilitators,
    selfSettle,
    transport: transportOption,
    settlementChecks,
    signatureChecks,
    retryAfterSeconds,
    supportedRefreshMs,
    now,
    onCall,
    isOn,
  } = parameters;
  let defaultTransport: ClosableTransport | undefined;
  const endpoints: FacilitatorEndpoint[] = [];
  for (const option of facilitators) {
    if (option.enabled === false) continue;
    if (option.transport === undefined && transportOption === undefined && defaultTransport === undefined) {
      defaultTransport = createUndiciTransport();
    }
    const transport = option.transport ?? transportOption ?? (defaultTransport as ClosableTransport);
    endpoints.push(remoteFacilitator({ option, transport }));
  }
  if (selfSettle !== undefined) endpoints.push(inProcessFacilitator({ facilitator: selfSettle }));
  const names = endpoints.map((e) => e.name);
  if (new Set(names).size !== names.length) throw invalidConfig("facilitators", "names must be unique");
  const failover = createFailover({
    endpoints,
    now,
    supportedRefreshMs,
    onCall,
    ...(isOn === undefined ? {} : { isOn }),
  });
  return {
    settings: {
      failover,
      settlementChecks,
      signatureChecks,
      unavailableRetryAfterSeconds: retryAfterSeconds.facilitatorUnavailable ?? 10,
      pendingRetryAfterSeconds: retryAfterSeconds.settlementPending ?? 5,
      validBeforeMarginSeconds: 6,
      settlementCheckTimeoutMs: 5_000,
      transactionClaimSeconds: defaultTransactionClaimSeconds,
    },
    hasFacilitators: endpoints.length > 0,
    defaultTransport,
  };
}
