import { createNetworkRegistry } from "@tollgate/shared";
import type { CompiledPattern } from "../routes/compileRoutes.js";
import type { DirectLaneSettings } from "../verify/direct/directLane.js";
import type { FacilitatorLaneSettings } from "../verify/facilitator/facilitatorLane.js";
import type { ClosableTransport } from "../verify/fallback/transport.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { invalidConfig } from "./invalidConfig.js";
import type { CreatePaywallParameters } from "./paywallOptions.js";
import { requireSettlementChecks, resolveChainChecks } from "./resolveChainChecks.js";
import { resolveDirectLane } from "./resolveDirectLane.js";
import { resolveFacilitatorLane } from "./resolveFacilitatorLane.js";
import { type RouteSettings, resolveRoutes } from "./resolveRoutes.js";

/** Everything `createPaywall` needs from its options, validated and with every default applied. */
export type PaywallSettings = Readonly<{
  /** Priced routes, compiled for matching, in the order given. */
  routes: readonly CompiledPattern<RouteSettings>[];
  /** A priced path's unpriced method: refused 405 or passed to the app. */
  unpricedMethods: "refuse" | "pass";
  facilitator: FacilitatorLaneSettings;
  /** Whether any facilitator is enabled (then its `/supported` is read). */
  hasFacilitators: boolean;
  direct: DirectLaneSettings;
  /** Lifetime of a new prepaid token, in seconds. */
  tokenTtlSeconds: number;
  /** `Idempotency-Key` handling: largest body kept in bytes, lifetimes of a finished and of a running key in seconds. */
  idempotency: Readonly<{ maxBodyBytes: number; ttlSeconds: number; inFlightSeconds: number }>;
  /** The transport created for facilitators that name none, closed with the paywall. */
  defaultTransport: ClosableTransport | undefined;
}>;

/** Parameters of `resolveConfig`. */
export type ResolveConfigParameters = Readonly<{
  /** `createPaywall`'s parameters, as given. */
  options: CreatePaywallParameters;
  /** The paywall's clock, in milliseconds (its default applied). */
  now: () => number;
  /** Receives the facilitators' call reports. */
  emit: (event: PaywallEvent) => void;
}>;

/**
 * Validates `createPaywall`'s options and resolves them into settings: the facilitators and their failover,
 * the direct lane's chains, then the routes (each inheriting the paywall's networks, payees and lanes).
 * @throws `SERVER__INVALID_CONFIG` for a malformed route, price, network, payee or facilitator, or a
 * facilitator-lane network without a settlement check (see `settlementChecks`).
 */
export function resolveConfig(parameters: ResolveConfigParameters): PaywallSettings {
  const { options, now, emit } = parameters;
  const {
    routes,
    networks = [],
    payTo,
    facilitators = [],
    selfSettle,
    transport,
    direct,
    tokens = {},
    lanes = {},
    registry = createNetworkRegistry(),
    settlementChecks = {},
    signatureChecks = {},
    idempotency = {},
    retryAfterSeconds = {},
    supportedRefreshMs = 600_000,
    unpricedMethods = "refuse",
    staleClaimSeconds = 300,
  } = options;
  if (!Number.isSafeInteger(staleClaimSeconds) || staleClaimSeconds < 1) {
    throw invalidConfig("staleClaimSeconds", "a whole number of seconds, at least 1");
  }
  if (unpricedMethods !== "refuse" && unpricedMethods !== "pass") {
    throw invalidConfig("unpricedMethods", 'must be "refuse" or "pass"');
  }
  const tokenTtlSeconds = tokens.ttlSeconds ?? 2_592_000;
  const { maxBodyBytes = 65_536, ttlSeconds = 86_400, inFlightSeconds = 300 } = idempotency;

  const checks = resolveChainChecks({ settlementChecks, signatureChecks, direct, registry });
  const facilitator = resolveFacilitatorLane({
    facilitators,
    selfSettle,
    transport,
    settlementChecks: checks.settlementChecks,
    signatureChecks: checks.signatureChecks,
    retryAfterSeconds,
    supportedRefreshMs,
    now,
    onCall: (report) => emit({ type: "facilitator_call", ...report }),
    ...(options.switches === undefined ? {} : { isOn: options.switches.facilitator }),
  });
  const directSettings = resolveDirectLane({ direct, registry, tokenTtlSeconds });
  const lanesOn = {
    facilitator: lanes.facilitator !== false && facilitator.hasFacilitators,
    direct:
      lanes.direct !== false &&
      direct !== undefined &&
      direct.enabled !== false &&
      direct.networks.length > 0,
    token: lanes.token !== false && tokens.enabled !== false,
  };
  const routeSettings = resolveRoutes({
    routes,
    networks,
    payTo,
    registry,
    lanes: lanesOn,
    bindingRequired: direct?.bindingRequired,
  });
  requireSettlementChecks({ routes: routeSettings, checks });
  return {
    routes: routeSettings,
    unpricedMethods,
    facilitator: {
      ...facilitator.settings,
      staleClaimSeconds,
      // A settled transaction stays claimed while any direct network here would still take it.
      transactionClaimSeconds: Math.max(
        facilitator.settings.transactionClaimSeconds,
        ...[...directSettings.networks.values()].map((n) => n.maxAgeSeconds + 86_400),
      ),
    },
    hasFacilitators: facilitator.hasFacilitators,
    direct: directSettings,
    tokenTtlSeconds,
    idempotency: { maxBodyBytes, ttlSeconds, inFlightSeconds },
    defaultTransport: facilitator.defaultTransport,
  };
}
