import { isTollgateError } from "@tollgate/shared";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Store } from "../store/store.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import {
  boundedLabel,
  directLabel,
  knownRefusalReasons,
  noLaneLabel,
  otherLabel,
  storeOperations,
} from "./boundedLabels.js";
import { instrumentStore } from "./instrumentStore.js";

/**
 * The buckets (seconds) of the duration histograms: from a token debit (a few ms) to a slow on-chain settlement.
 */
export const durationBuckets: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30,
];

/** The funnel's stages as `tollgate_funnel_total`'s `stage` label, in order: `paid` is counted as `served`. */
export const funnelStages = ["proof_received", "proof_checked", "verified", "settled", "served"] as const;

const lanes = ["facilitator", "direct", "token"] as const;
const endpoints = ["verify", "settle", "supported"] as const;
const outcomes = ["answer", "unavailable"] as const;

/** Parameters of `createPaywallMetrics`: what the paywall was configured with, so every label stays bounded. */
export type CreatePaywallMetricsParameters = Readonly<{
  /** The paywall's route patterns (the keys of its `routes`, e.g. `"GET /v1/search"`); any other route is `other`. */
  routes: readonly string[];
  /**
   * The facilitators' names as the paywall's events give them (`FacilitatorOption.name`, by default the URL's
   * host; `"self"` for the in-process one); any other is `other`.
   * @default []
   */
  facilitators?: readonly string[];
  /**
   * The networks the paywall takes payments on (CAIP-2), each with the asset it is paid in (USDC's address or
   * mint): `network` and `asset` labels of anything else are `other`. The asset of a `paid` event (which carries
   * none) is its network's.
   * @default {}
   */
  networks?: Readonly<Record<string, string>>;
  /**
   * Refusal reasons kept as `reason` labels beside the known ones (`paywallReasons` and the facilitators'
   * `refusalReasons`); any other is `other`.
   * @default []
   */
  reasons?: readonly string[];
  /**
   * Where the metrics are registered.
   * @default a new `Registry` (one per paywall: two paywalls in one process never share series)
   */
  registry?: Registry;
}>;

/** The Prometheus metrics of one paywall: feed it the paywall's events, serve `registry` at `/metrics`. */
export type PaywallMetrics = Readonly<{
  /** The registry holding every `tollgate_*` metric. */
  registry: Registry;
  /**
   * Counts one paywall event (pass it to the paywall's `onEvent`). Never throws; an event type it does not
   * know is ignored.
   */
  observe(event: PaywallEvent): void;
  /**
   * Wraps a store so that each operation that succeeds sets `tollgate_store_up` to 1 again and each that fails
   * with `SERVER__STORE_FAILED` sets it to 0 (the paywall's `error` events count the failures). Give the
   * paywall the wrapped store; methods are called on the original.
   */
  instrumentStore<S extends Store>(store: S): S;
  /** Counts analytics records dropped because the queue was full (`tollgate_analytics_dropped_total`). */
  analyticsDropped(count?: number): void;
  /** The exposition in Prometheus text format, as a `GET /metrics` response. */
  response(): Promise<Response>;
}>;

/**
 * Creates the Prometheus metrics of a paywall (prom-client; EVENTS_CONTRACT names): the funnel, refusals by
 * reason, refunds, failovers, volume, payment and facilitator latency histograms, and facilitator, RPC and store
 * health. Labels are bounded by the configuration: a route is its pattern (never the URL), and a network, asset,
 * facilitator or reason outside the configuration is `other`; there is never a payer, URL, token or proof label.
 *
 * @example
 * ```ts
 * import { createPaywall, createMemoryStore } from "@tollgate/server";
 * import { createPaywallMetrics } from "@tollgate/server/metrics";
 * const metrics = createPaywallMetrics({
 *   routes: ["GET /v1/search"],
 *   facilitators: ["PayAI Network"],
 *   networks: { "eip155:8453": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913" },
 * });
 * const paywall = createPaywall({
 *   routes: { "GET /v1/search": { price: "$0.01", description: "Search" } },
 *   networks: ["base"],
 *   payTo: "0xYourAddress…",
 *   facilitators: [{ url: "https://facilitator.payai.network", name: "PayAI Network" }],
 *   settlementChecks: { base: false },
 *   store: metrics.instrumentStore(createMemoryStore()),
 *   onEvent: metrics.observe,
 * });
 * // GET /metrics → await metrics.response()
 * ```
 */
export function createPaywallMetrics(parameters: CreatePaywallMetricsParameters): PaywallMetrics {
  const { routes, facilitators = [], networks = {}, reasons = [], registry = new Registry() } = parameters;
  const registers = [registry];

  const route = boundedLabel({ values: routes });
  const lane = boundedLabel({ values: lanes });
  const laneOrNone = (value: string | undefined) => (value === undefined ? noLaneLabel : lane(value));
  const network = boundedLabel({ values: Object.keys(networks) });
  const asset = boundedLabel({ values: Object.values(networks), caseInsensitive: true });
  const facilitator = boundedLabel({ values: facilitators });
  const failoverEnd = boundedLabel({ values: [...facilitators, directLabel] });
  const reason = boundedLabel({ values: [...knownRefusalReasons, ...reasons] });
  const endpoint = boundedLabel({ values: endpoints });
  const outcome = boundedLabel({ values: outcomes });
  const operation = boundedLabel({ values: storeOperations });

  const paymentRequired = new Counter({
    name: "tollgate_payment_required_total",
    help: "402 Payment Required answers sent to requests without a payment.",
    labelNames: ["route"] as const,
    registers,
  });
  const funnel = new Counter({
    name: "tollgate_funnel_total",
    help: "Payments reaching each funnel stage: proof_received, proof_checked, verified, settled, served.",
    labelNames: ["route", "lane", "stage"] as const,
    registers,
  });
  const refusals = new Counter({
    name: "tollgate_refusals_total",
    help: "Requests refused, by reason (lane none: refused before a lane was chosen).",
    labelNames: ["route", "lane", "reason"] as const,
    registers,
  });
  const refunds = new Counter({
    name: "tollgate_refunds_total",
    help: "Charges given back because the response could not be delivered.",
    labelNames: ["route", "lane"] as const,
    registers,
  });
  const settlementPending = new Counter({
    name: "tollgate_settlement_pending_total",
    help: "Payments answered settlement_pending: a settlement may be in flight.",
    labelNames: ["route", "lane"] as const,
    registers,
  });
  const notCharged = new Counter({
    name: "tollgate_not_charged_total",
    help: "Paid requests whose handler failed or whose client left: nothing was charged.",
    labelNames: ["route", "lane"] as const,
    registers,
  });
  const failovers = new Counter({
    name: "tollgate_failovers_total",
    help: "Failovers from an unavailable facilitator to the next one (or to the direct lane).",
    labelNames: ["route", "from", "to"] as const,
    registers,
  });
  const paidAtomic = new Counter({
    name: "tollgate_paid_atomic_total",
    help: "Volume of served requests, in the asset's atomic units.",
    labelNames: ["lane", "network", "asset"] as const,
    registers,
  });
  const paymentDuration = new Histogram({
    name: "tollgate_payment_duration_seconds",
    help: "Time from a payment proof received to its settlement.",
    labelNames: ["lane"] as const,
    buckets: [...durationBuckets],
    registers,
  });
  const facilitatorRequests = new Counter({
    name: "tollgate_facilitator_requests_total",
    help: "Calls to facilitators, by endpoint and outcome (answer or unavailable).",
    labelNames: ["facilitator", "endpoint", "outcome"] as const,
    registers,
  });
  const facilitatorDuration = new Histogram({
    name: "tollgate_facilitator_request_duration_seconds",
    help: "Duration of facilitator calls.",
    labelNames: ["facilitator", "endpoint"] as const,
    buckets: [...durationBuckets],
    registers,
  });
  const facilitatorUp = new Gauge({
    name: "tollgate_facilitator_up",
    help: "1 when the facilitator's last call answered, 0 when it was unavailable.",
    labelNames: ["facilitator"] as const,
    registers,
  });
  const rpcRequests = new Counter({
    name: "tollgate_rpc_requests_total",
    help: "Chain RPC requests the paywall made, by outcome (answer or unavailable).",
    labelNames: ["network", "outcome"] as const,
    registers,
  });
  const rpcUp = new Gauge({
    name: "tollgate_rpc_up",
    help: "1 when the network's last RPC request answered, 0 when it was unavailable.",
    labelNames: ["network"] as const,
    registers,
  });
  const storeErrors = new Counter({
    name: "tollgate_store_errors_total",
    help: "Store operations that failed (SERVER__STORE_FAILED).",
    labelNames: ["operation"] as const,
    registers,
  });
  const storeUp = new Gauge({
    name: "tollgate_store_up",
    help: "0 after a store failure until an operation succeeds, else 1.",
    registers,
  });
  const dropped = new Counter({
    name: "tollgate_analytics_dropped_total",
    help: "Analytics records dropped because the queue was full.",
    registers,
  });

  // Series of the bounded label sets start at 0, so rate() and increase() count their first event.
  for (const r of routes) {
    paymentRequired.inc({ route: r }, 0);
    for (const l of lanes) {
      for (const stage of funnelStages) funnel.inc({ route: r, lane: l, stage }, 0);
      refunds.inc({ route: r, lane: l }, 0);
      settlementPending.inc({ route: r, lane: l }, 0);
      notCharged.inc({ route: r, lane: l }, 0);
    }
  }
  for (const op of storeOperations) storeErrors.inc({ operation: op }, 0);
  dropped.inc(0);

  const stage = (event: Readonly<{ route: string; lane: string }>, name: (typeof funnelStages)[number]) =>
    funnel.inc({ route: route(event.route), lane: lane(event.lane), stage: name });
  const seconds = (ms: number) => (Number.isFinite(ms) && ms >= 0 ? ms / 1000 : 0);
  /** A count from a bigint amount; a negative or absurd one counts as 0 rather than throwing in the observer. */
  const atomic = (amount: bigint) => (amount > 0n ? Number(amount) : 0);

  function storeOperationOf(event: Readonly<{ where: string; error: unknown }>): string {
    if (isTollgateError(event.error, "SERVER__STORE_FAILED")) {
      const named = operation(event.error.context.operation);
      if (named !== otherLabel) return named;
    }
    return operation(event.where.startsWith("store.") ? event.where.slice("store.".length) : undefined);
  }

  function count(event: PaywallEvent): void {
    switch (event.type) {
      case "payment_required":
        paymentRequired.inc({ route: route(event.route) });
        return;
      case "proof_received":
      case "proof_checked":
      case "verified":
        stage(event, event.type);
        return;
      case "settled":
        stage(event, "settled");
        paymentDuration.observe({ lane: lane(event.lane) }, seconds(event.durationMs));
        return;
      case "paid": {
        stage(event, "served");
        const n = network(event.network);
        paidAtomic.inc(
          { lane: lane(event.lane), network: n, asset: asset(networks[n]) },
          atomic(event.amount),
        );
        return;
      }
      case "refused":
        refusals.inc({
          route: route(event.route),
          lane: laneOrNone(event.lane),
          reason: reason(event.reason),
        });
        return;
      case "refunded":
        refunds.inc({ route: route(event.route), lane: lane(event.lane) });
        return;
      case "settlement_pending":
        settlementPending.inc({ route: route(event.route), lane: lane(event.lane) });
        return;
      case "not_charged":
        notCharged.inc({ route: route(event.route), lane: lane(event.lane) });
        return;
      case "failed_over":
        failovers.inc({
          route: route(event.route),
          from: failoverEnd(event.from),
          to: failoverEnd(event.to),
        });
        return;
      case "facilitator_call": {
        const labels = { facilitator: facilitator(event.facilitator), endpoint: endpoint(event.endpoint) };
        facilitatorRequests.inc({ ...labels, outcome: outcome(event.outcome) });
        facilitatorDuration.observe(labels, seconds(event.durationMs));
        facilitatorUp.set({ facilitator: labels.facilitator }, event.outcome === "answer" ? 1 : 0);
        return;
      }
      case "rpc_call": {
        const n = network(event.network);
        rpcRequests.inc({ network: n, outcome: outcome(event.outcome) });
        rpcUp.set({ network: n }, event.outcome === "answer" ? 1 : 0);
        return;
      }
      case "error":
        if (isTollgateError(event.error, "SERVER__STORE_FAILED")) {
          storeErrors.inc({ operation: storeOperationOf(event) });
          storeUp.set(0);
        }
        return;
      default:
        // token_issued, and any event type added later: not a metric of the contract.
        return;
    }
  }

  return Object.freeze({
    registry,
    observe(event: PaywallEvent): void {
      try {
        count(event);
      } catch {
        // Metrics never change a payment's outcome; prom-client throws only for a malformed label set.
      }
    },
    instrumentStore<S extends Store>(store: S): S {
      storeUp.set(1);
      return instrumentStore({
        store,
        onSuccess: () => storeUp.set(1),
        onFailure: (error) => {
          if (isTollgateError(error, "SERVER__STORE_FAILED")) storeUp.set(0);
        },
      });
    },
    analyticsDropped(n = 1): void {
      if (Number.isFinite(n) && n > 0) dropped.inc(n);
    },
    async response(): Promise<Response> {
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType, "cache-control": "no-store" },
      });
    },
  });
}
