/**
 * `@tollgate/server/metrics`: Prometheus metrics of a paywall with prom-client (an optional peer dependency:
 * install `prom-client` to use this entry; the rest of `@tollgate/server` never loads it).
 * @packageDocumentation
 */
export {
  type CreatePaywallMetricsParameters,
  createPaywallMetrics,
  durationBuckets,
  funnelStages,
  type PaywallMetrics,
} from "./createPaywallMetrics.js";
export { type InstrumentStoreParameters, instrumentStore } from "./instrumentStore.js";
