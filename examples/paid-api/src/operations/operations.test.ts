import { type ServedFetch, serveFetch } from "@tollgate/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createPaidApi, type PaidApi } from "../createPaidApi.js";
import { parseExposition, sumOf } from "../monitoring/exposition.js";

/**
 * The reference API's operations endpoints over real HTTP on loopback: /healthz, /readyz and /metrics, after
 * real paid requests (prepaid tokens; a facilitator stub on loopback answers /supported only).
 */
const closers: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c.close();
});

const supported = () =>
  Response.json({
    kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:8453" }],
    extensions: [],
    signers: {},
  });

/** A loopback port nothing listens on: a server is started there, then closed. */
async function closedPortUrl(): Promise<string> {
  const gone = await serveFetch({ fetch: () => new Response(null) });
  await gone.close();
  return gone.url;
}

async function start(
  environment: Readonly<Record<string, string>>,
): Promise<Readonly<{ api: PaidApi; served: ServedFetch }>> {
  const api = createPaidApi({
    config: loadConfig({
      X402_PAYAI_ENABLED: "false",
      X402_PAYAI_MERCHANT_ADDRESS: "0x1111111111111111111111111111111111111111",
      X402_DIRECT_ENABLED: "false",
      ...environment,
    }),
    chains: {},
    // No facilitator settles here: no lost /settle answer to resolve.
    settlementChecks: { "eip155:8453": false },
  });
  const served = await serveFetch({ fetch: api.fetch });
  closers.push(api.paywall, served);
  await api.paywall.ready();
  return { api, served };
}

describe("the reference server's operations endpoints", () => {
  let facilitator: ServedFetch;
  let host: string;
  let api: PaidApi;
  let url: string;

  beforeAll(async () => {
    facilitator = await serveFetch({ fetch: supported });
    closers.push(facilitator);
    host = new URL(facilitator.url).host;
    const started = await start({ X402_FACILITATOR_URLS: facilitator.url });
    api = started.api;
    url = started.served.url;
  });

  it("answers /healthz 200 and /readyz 200 naming the store and each facilitator", async () => {
    const health = await fetch(`${url}/healthz`);
    expect({ status: health.status, body: await health.json() }).toEqual({
      status: 200,
      body: { status: "ok" },
    });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.headers.get("cache-control")).toBe("no-store");
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 200,
      body: { status: "ready", notReady: [], store: "up", facilitators: { [host]: "up" } },
    });
  });

  it("answers HEAD without a body and other methods 405, never asking for a payment", async () => {
    const head = await fetch(`${url}/readyz`, { method: "HEAD" });
    expect({ status: head.status, body: await head.text() }).toEqual({ status: 200, body: "" });
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const post = await fetch(`${url}${path}`, { method: "POST" });
      expect({ path, status: post.status, allow: post.headers.get("allow") }).toEqual({
        path,
        status: 405,
        allow: "GET, HEAD",
      });
    }
  });

  it("counts real paid requests in /metrics: 402s, the funnel, volume, refusals, latency, health", async () => {
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/v1/search?q=a`)).status).toBe(402);
    const { token } = await api.paywall.issueToken({ amount: "$0.05" });
    const pay = (path: string) => fetch(`${url}${path}`, { headers: { "x-payment-token": token } });
    for (let i = 0; i < 3; i++) expect((await pay("/v1/search?q=b")).status).toBe(200);
    expect((await pay("/v1/report")).status).toBe(200);
    // $0.05 - 3 × $0.01 - $0.02 = 0: the next report is refused.
    const empty = await pay("/v1/report");
    expect(empty.status).toBe(402);

    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const metrics = parseExposition(await response.text());
    const search = { route: "GET /v1/search" };
    const report = { route: "GET /v1/report" };
    expect({
      required: sumOf(metrics, "tollgate_payment_required_total", search),
      requiredReport: sumOf(metrics, "tollgate_payment_required_total", report),
      received: sumOf(metrics, "tollgate_funnel_total", { lane: "token", stage: "proof_received" }),
      servedSearch: sumOf(metrics, "tollgate_funnel_total", { ...search, lane: "token", stage: "served" }),
      servedReport: sumOf(metrics, "tollgate_funnel_total", { ...report, lane: "token", stage: "served" }),
      volume: sumOf(metrics, "tollgate_paid_atomic_total", { lane: "token" }),
      refused: sumOf(metrics, "tollgate_refusals_total", {
        ...report,
        lane: "token",
        reason: "token_insufficient_balance",
      }),
      allRefusals: sumOf(metrics, "tollgate_refusals_total"),
      settledTimed: sumOf(metrics, "tollgate_payment_duration_seconds_count", { lane: "token" }),
      withinThirtySeconds: sumOf(metrics, "tollgate_payment_duration_seconds_bucket", {
        lane: "token",
        le: "30",
      }),
      facilitatorUp: sumOf(metrics, "tollgate_facilitator_up", { facilitator: host }),
      supportedAnswers: sumOf(metrics, "tollgate_facilitator_requests_total", {
        facilitator: host,
        endpoint: "supported",
        outcome: "answer",
      }),
      storeUp: sumOf(metrics, "tollgate_store_up"),
      storeErrors: sumOf(metrics, "tollgate_store_errors_total"),
      dropped: sumOf(metrics, "tollgate_analytics_dropped_total"),
    }).toEqual({
      required: 2,
      requiredReport: 0,
      received: 5,
      servedSearch: 3,
      servedReport: 1,
      volume: 50_000,
      refused: 1,
      allRefusals: 1,
      settledTimed: 4,
      withinThirtySeconds: 4,
      facilitatorUp: 1,
      supportedAnswers: 1,
      storeUp: 1,
      storeErrors: 0,
      dropped: 0,
    });
    // No payer, token or URL ever becomes a label.
    const labelValues = metrics.samples.flatMap((s) => Object.values(s.labels));
    expect(labelValues.some((v) => v.includes(token) || v.includes("q=b") || v.includes("0x"))).toBe(false);
  });
});

describe("/readyz and the facilitators' last known state", () => {
  it("is 503 naming the facilitators when they are all down and no other lane takes payments", async () => {
    const down = await closedPortUrl();
    const { served } = await start({ X402_FACILITATOR_URLS: down, X402_TOKENS_ENABLED: "false" });
    const ready = await fetch(`${served.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 503,
      body: {
        status: "not_ready",
        notReady: ["facilitators"],
        store: "up",
        facilitators: { [new URL(down).host]: "down" },
      },
    });
  });

  it("stays 200 with another lane on, reporting the facilitator down", async () => {
    const down = await closedPortUrl();
    const { served } = await start({ X402_FACILITATOR_URLS: down });
    const ready = await fetch(`${served.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({
      status: 200,
      body: { status: "ready", facilitators: { [new URL(down).host]: "down" } },
    });
  });
});

describe("where /metrics is served", () => {
  it("X402_METRICS_ENABLED=false: no /metrics anywhere", async () => {
    const facilitator = await serveFetch({ fetch: supported });
    closers.push(facilitator);
    const { api, served } = await start({
      X402_FACILITATOR_URLS: facilitator.url,
      X402_METRICS_ENABLED: "false",
    });
    expect(api.metrics).toBeUndefined();
    expect((await fetch(`${served.url}/metrics`)).status).toBe(404);
    expect((await api.metricsFetch(new Request("http://127.0.0.1/metrics"))).status).toBe(404);
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
  });

  it("X402_METRICS_PORT: /metrics only on its own listener, 404 on the main port", async () => {
    const facilitator = await serveFetch({ fetch: supported });
    closers.push(facilitator);
    const { api, served } = await start({
      X402_FACILITATOR_URLS: facilitator.url,
      X402_METRICS_PORT: "9464",
    });
    expect((await fetch(`${served.url}/metrics`)).status).toBe(404);
    const own = await serveFetch({ fetch: api.metricsFetch });
    closers.push(own);
    const scraped = await fetch(`${own.url}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("tollgate_store_up 1");
    expect((await fetch(`${own.url}/v1/search`)).status).toBe(404);
  });
});
