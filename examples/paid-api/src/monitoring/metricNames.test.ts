import { type ServedFetch, serveFetch } from "@tollgate/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createPaidApi } from "../createPaidApi.js";
import { exposedSeriesNames, parseExposition } from "./exposition.js";
import { dashboardExpressions, dashboardTargets, ruleExpressions } from "./monitoringFiles.js";
import { promqlLabelNames, promqlMetricNames } from "./promqlMetricNames.js";

/**
 * Every metric named by an expression of the Grafana dashboard and of the alerting rules is one that the
 * reference server's /metrics really exposes: scraped over loopback after real paid requests (a histogram's
 * `_bucket`, `_sum` and `_count` series count as exposed from its `# TYPE` line).
 */
let exposed: ReadonlySet<string>;
/** Each exposed series name's label names, from the server's own registry (a family never observed has none). */
let labelsOf: (series: string) => ReadonlySet<string>;
const closers: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c.close();
});

beforeAll(async () => {
  const facilitator: ServedFetch = await serveFetch({
    fetch: () =>
      Response.json({
        kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:8453" }],
        extensions: [],
        signers: {},
      }),
  });
  closers.push(facilitator);
  const api = createPaidApi({
    config: loadConfig({
      X402_PAYAI_ENABLED: "false",
      X402_FACILITATOR_URLS: facilitator.url,
      X402_PAYAI_MERCHANT_ADDRESS: "0x1111111111111111111111111111111111111111",
      X402_DIRECT_ENABLED: "false",
    }),
    chains: {},
    settlementChecks: { "eip155:8453": false },
  });
  const served = await serveFetch({ fetch: api.fetch });
  closers.push(api.paywall, served);
  await api.paywall.ready();
  // Real traffic: a 402, token payments of both routes, a refusal.
  expect((await fetch(`${served.url}/v1/search`)).status).toBe(402);
  const { token } = await api.paywall.issueToken({ amount: "$0.03" });
  const headers = { "x-payment-token": token };
  expect((await fetch(`${served.url}/v1/search`, { headers })).status).toBe(200);
  expect((await fetch(`${served.url}/v1/report`, { headers })).status).toBe(200);
  expect((await fetch(`${served.url}/v1/report`, { headers })).status).toBe(402);
  const scraped = await fetch(`${served.url}/metrics`);
  expect(scraped.status).toBe(200);
  exposed = exposedSeriesNames(parseExposition(await scraped.text()));
  const registry = api.metrics?.registry;
  labelsOf = (series) => {
    const family = series.replace(/_(bucket|sum|count)$/, "");
    const metric = registry?.getSingleMetric(family) ?? registry?.getSingleMetric(series);
    // prom-client keeps a metric's label names at run time (not in its typings).
    const names = (metric as unknown as { labelNames?: unknown } | undefined)?.labelNames;
    if (!Array.isArray(names)) throw new Error(`no label names for ${series}`);
    return new Set([...(names as string[]), ...(series.endsWith("_bucket") ? ["le"] : [])]);
  };
});

describe("the dashboard and the alerting rules name only metrics /metrics exposes", () => {
  it("/metrics exposes the tollgate_* families, histograms with their _bucket, _sum and _count", () => {
    expect(exposed.has("tollgate_payment_duration_seconds_bucket")).toBe(true);
    expect(exposed.has("tollgate_facilitator_request_duration_seconds_count")).toBe(true);
    expect(exposed.has("tollgate_payment_duration_seconds")).toBe(false);
    expect(exposed.has("tollgate_made_up_total")).toBe(false);
  });

  it.each([
    ["dashboard.json", dashboardExpressions, 30],
    ["alerts.yml", ruleExpressions, 8],
  ] as const)("%s", (_, expressions, atLeast) => {
    const all = expressions();
    expect(all.length).toBeGreaterThanOrEqual(atLeast);
    const unknown = all.flatMap((expression) => {
      const names = promqlMetricNames(expression);
      // An expression naming no metric at all would mean the extractor missed it.
      if (names.length === 0) return [`(no metric in) ${expression}`];
      return names.filter((name) => !exposed.has(name)).map((name) => `${name} in ${expression}`);
    });
    expect(unknown).toEqual([]);
  });

  it.each([
    ["dashboard.json", () => dashboardTargets()],
    ["alerts.yml", () => ruleExpressions().map((expr) => ({ panel: "", expr, legendFormat: "" }))],
  ] as const)("%s: every label matched, grouped by or in a legend is one of its metrics'", (_, targets) => {
    // Prometheus adds its target labels at the scrape.
    const scrapeLabels = ["instance", "job"];
    const wrong = targets().flatMap(({ expr, legendFormat }) => {
      const known = new Set([
        ...scrapeLabels,
        ...promqlMetricNames(expr).flatMap((name) => [...labelsOf(name)]),
      ]);
      const used = [
        ...promqlLabelNames(expr),
        ...[...legendFormat.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1] ?? ""),
      ];
      return used.filter((label) => !known.has(label)).map((label) => `${label} in ${expr}`);
    });
    expect(wrong).toEqual([]);
  });

  it("the label check can fail: stage is no label of tollgate_refusals_total", () => {
    expect(labelsOf("tollgate_refusals_total").has("stage")).toBe(false);
    expect(labelsOf("tollgate_funnel_total").has("stage")).toBe(true);
    expect(labelsOf("tollgate_payment_duration_seconds_bucket")).toEqual(new Set(["lane", "le"]));
  });
});
