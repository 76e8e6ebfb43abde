import type { PaywallMetrics } from "@tollgate/server/metrics";
import type { Readiness } from "./readiness.js";

/** Parameters of `createOperationsRoutes`. */
export type CreateOperationsRoutesParameters = Readonly<{
  /** The `/readyz` check. */
  readiness: Readonly<{ check(): Promise<Readiness> }>;
  /** The paywall's metrics, or `undefined` when `/metrics` is off (`X402_METRICS_ENABLED=false`). */
  metrics: PaywallMetrics | undefined;
  /** The paywall's dropped analytics records since start (`paywall.analytics.dropped`). */
  analyticsDropped: () => number;
}>;

/** The operator's endpoints of the reference server, outside the paywall. */
export type OperationsRoutes = Readonly<{
  /** `/healthz` and `/readyz` (and `/metrics` when `withMetrics`): their answer; `undefined` for any other path. */
  answer(request: Request, options: Readonly<{ withMetrics: boolean }>): Promise<Response> | undefined;
  /** A handler for a listener of its own (`X402_METRICS_PORT`): `/metrics`, anything else 404. */
  metricsFetch(request: Request): Promise<Response>;
}>;

const noStore = { "cache-control": "no-store" } as const;

/** GET as asked, HEAD as the same answer without its body, any other method 405. */
async function methodGuarded(request: Request, answer: () => Promise<Response>): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return Response.json(
      { error: "method_not_allowed" },
      { status: 405, headers: { ...noStore, allow: "GET, HEAD" } },
    );
  }
  const response = await answer();
  return request.method === "HEAD"
    ? new Response(null, { status: response.status, headers: response.headers })
    : response;
}

/**
 * The reference server's operations endpoints, answered before the paywall sees the request (so a paywall or
 * store failure cannot hide them, and no payment is ever asked for them):
 * - `/healthz`: 200 while the process serves HTTP (liveness: restart the process when it fails);
 * - `/readyz`: 200 when the store answers in time (and a facilitator is up, when it is the only lane), else 503;
 *   the JSON body names what is not ready (readiness: send no traffic while it fails);
 * - `/metrics`: the Prometheus text of `createPaywallMetrics`, on the main port or on a port of its own.
 *
 * @example
 * ```ts
 * const operations = createOperationsRoutes({ readiness, metrics, analyticsDropped: paywall.analytics.dropped });
 * const fetch = (request: Request) => operations.answer(request, { withMetrics: true }) ?? paid(request);
 * ```
 */
export function createOperationsRoutes(parameters: CreateOperationsRoutesParameters): OperationsRoutes {
  const { readiness, metrics, analyticsDropped } = parameters;
  let reportedDropped = 0;

  async function metricsResponse(): Promise<Response> {
    if (metrics === undefined)
      return Response.json({ error: "not_found" }, { status: 404, headers: noStore });
    // The paywall counts its dropped records; the counter catches up with it at each scrape.
    const dropped = analyticsDropped();
    if (dropped > reportedDropped) {
      metrics.analyticsDropped(dropped - reportedDropped);
      reportedDropped = dropped;
    }
    return metrics.response();
  }

  async function readyzResponse(): Promise<Response> {
    const state = await readiness.check();
    return Response.json(state, { status: state.status === "ready" ? 200 : 503, headers: noStore });
  }

  return Object.freeze({
    answer(request: Request, options: Readonly<{ withMetrics: boolean }>): Promise<Response> | undefined {
      const { pathname } = new URL(request.url);
      switch (pathname) {
        case "/healthz":
          return methodGuarded(request, async () => Response.json({ status: "ok" }, { headers: noStore }));
        case "/readyz":
          return methodGuarded(request, readyzResponse);
        case "/metrics":
          return options.withMetrics ? methodGuarded(request, metricsResponse) : undefined;
        default:
          return undefined;
      }
    },
    metricsFetch(request: Request): Promise<Response> {
      if (new URL(request.url).pathname !== "/metrics") {
        return Promise.resolve(Response.json({ error: "not_found" }, { status: 404, headers: noStore }));
      }
      return methodGuarded(request, metricsResponse);
    },
  });
}
