import { TollgateError } from "@tollgate/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { storeOperations } from "./boundedLabels.js";
import { createPaywallMetrics, type PaywallMetrics } from "./createPaywallMetrics.js";

const base = "eip155:8453";
const usdc = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
const search = "GET /v1/search";

const metricsForTests = () =>
  createPaywallMetrics({
    routes: [search, "GET /v1/report"],
    facilitators: ["PayAI Network", "self"],
    networks: { [base]: usdc },
  });

/** The value of the series of `name` whose labels are exactly `labels` (`metric`: a histogram's `_bucket` …). */
async function sampleOf(
  metrics: PaywallMetrics,
  name: string,
  labels: Record<string, string | number> = {},
  metric = name,
): Promise<number | undefined> {
  const found = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  const wanted = Object.entries(labels);
  const series = found.values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === metric &&
      Object.keys(v.labels).length === wanted.length &&
      wanted.every(([key, value]) => v.labels[key] === value),
  );
  return series?.value;
}

/** Every series of the registry as `name{label="value",…}` lines (the label sets of the exposition). */
async function seriesOf(
  metrics: PaywallMetrics,
): Promise<{ name: string; labels: Record<string, unknown> }[]> {
  return (await metrics.registry.getMetricsAsJSON()).flatMap((m) =>
    m.values.map((v) => ({
      name: (v as { metricName?: string }).metricName ?? m.name,
      labels: v.labels as Record<string, unknown>,
    })),
  );
}

const storeFailed = (operation: string) =>
  new TollgateError("SERVER__STORE_FAILED", { context: { operation }, cause: new Error("ECONNREFUSED") });

describe("createPaywallMetrics: events become the contract's metrics", () => {
  it("counts the funnel, every exit, the volume and the latencies of fed events", async () => {
    const metrics = metricsForTests();
    const lane = "facilitator" as const;
    const events: PaywallEvent[] = [
      { type: "payment_required", route: search },
      { type: "payment_required", route: search },
      { type: "proof_received", route: search, lane, network: base },
      { type: "proof_checked", route: search, lane, network: base },
      { type: "verified", route: search, lane, network: base, facilitator: "PayAI Network", durationMs: 40 },
      {
        type: "settled",
        route: search,
        lane,
        amount: 10_000n,
        network: base,
        asset: usdc,
        payer: "0xabc",
        facilitator: "PayAI Network",
        durationMs: 1_500,
      },
      { type: "paid", route: search, lane, amount: 10_000n, network: base, payer: "0xabc" },
      { type: "paid", route: search, lane: "token", amount: 20_000n },
      { type: "refused", route: search, lane, reason: "invalid_exact_evm_signature", status: 402 },
      { type: "refused", route: search, reason: "multiple_payment_proofs", status: 400 },
      {
        type: "refunded",
        route: search,
        lane: "direct",
        amount: 10_000n,
        network: base,
        reason: "handler_failed",
      },
      { type: "settlement_pending", route: search, lane, network: base, facilitator: "self" },
      { type: "not_charged", route: search, lane, status: 500 },
      { type: "failed_over", route: search, from: "PayAI Network", to: "self", reason: "timeout" },
      { type: "failed_over", route: search, from: "self", to: "direct", reason: "timeout" },
      {
        type: "facilitator_call",
        facilitator: "PayAI Network",
        endpoint: "settle",
        outcome: "answer",
        durationMs: 250,
      },
      {
        type: "facilitator_call",
        facilitator: "self",
        endpoint: "verify",
        outcome: "unavailable",
        detail: "timeout",
        durationMs: 5_000,
      },
      { type: "rpc_call", network: base, outcome: "answer", durationMs: 12 },
      { type: "token_issued", route: search, amount: 5n },
    ];
    for (const event of events) metrics.observe(event);

    expect(await sampleOf(metrics, "tollgate_payment_required_total", { route: search })).toBe(2);
    expect(await sampleOf(metrics, "tollgate_payment_required_total", { route: "GET /v1/report" })).toBe(0);
    for (const stage of ["proof_received", "proof_checked", "verified", "settled", "served"]) {
      expect(await sampleOf(metrics, "tollgate_funnel_total", { route: search, lane, stage })).toBe(1);
    }
    expect(
      await sampleOf(metrics, "tollgate_funnel_total", { route: search, lane: "token", stage: "served" }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_refusals_total", {
        route: search,
        lane,
        reason: "invalid_exact_evm_signature",
      }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_refusals_total", {
        route: search,
        lane: "none",
        reason: "multiple_payment_proofs",
      }),
    ).toBe(1);
    expect(await sampleOf(metrics, "tollgate_refunds_total", { route: search, lane: "direct" })).toBe(1);
    expect(await sampleOf(metrics, "tollgate_settlement_pending_total", { route: search, lane })).toBe(1);
    expect(await sampleOf(metrics, "tollgate_not_charged_total", { route: search, lane })).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_failovers_total", {
        route: search,
        from: "PayAI Network",
        to: "self",
      }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_failovers_total", { route: search, from: "self", to: "direct" }),
    ).toBe(1);
    // Volume: served requests' amounts; a token spend carries no network, so its network and asset are `other`.
    expect(await sampleOf(metrics, "tollgate_paid_atomic_total", { lane, network: base, asset: usdc })).toBe(
      10_000,
    );
    expect(
      await sampleOf(metrics, "tollgate_paid_atomic_total", {
        lane: "token",
        network: "other",
        asset: "other",
      }),
    ).toBe(20_000);
    // Latency: 1.5 s falls in the 2 s bucket and not in the 1 s one.
    const duration = "tollgate_payment_duration_seconds";
    expect(await sampleOf(metrics, duration, { lane, le: 1 }, `${duration}_bucket`)).toBe(0);
    expect(await sampleOf(metrics, duration, { lane, le: 2 }, `${duration}_bucket`)).toBe(1);
    expect(await sampleOf(metrics, duration, { lane }, `${duration}_sum`)).toBe(1.5);
    expect(await sampleOf(metrics, duration, { lane }, `${duration}_count`)).toBe(1);

    const calls = "tollgate_facilitator_requests_total";
    expect(
      await sampleOf(metrics, calls, { facilitator: "PayAI Network", endpoint: "settle", outcome: "answer" }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, calls, { facilitator: "self", endpoint: "verify", outcome: "unavailable" }),
    ).toBe(1);
    const callDuration = "tollgate_facilitator_request_duration_seconds";
    expect(
      await sampleOf(
        metrics,
        callDuration,
        { facilitator: "self", endpoint: "verify" },
        `${callDuration}_sum`,
      ),
    ).toBe(5);
    expect(await sampleOf(metrics, "tollgate_facilitator_up", { facilitator: "PayAI Network" })).toBe(1);
    expect(await sampleOf(metrics, "tollgate_facilitator_up", { facilitator: "self" })).toBe(0);
    expect(await sampleOf(metrics, "tollgate_rpc_requests_total", { network: base, outcome: "answer" })).toBe(
      1,
    );
    expect(await sampleOf(metrics, "tollgate_rpc_up", { network: base })).toBe(1);
  });

  it("sets a facilitator's and a network's gauge from its last call", async () => {
    const metrics = metricsForTests();
    const call = (outcome: "answer" | "unavailable"): PaywallEvent => ({
      type: "facilitator_call",
      facilitator: "PayAI Network",
      endpoint: "supported",
      outcome,
      durationMs: 1,
    });
    const rpc = (outcome: "answer" | "unavailable"): PaywallEvent => ({
      type: "rpc_call",
      network: base,
      outcome,
      durationMs: 1,
    });
    metrics.observe(call("unavailable"));
    metrics.observe(rpc("unavailable"));
    expect(await sampleOf(metrics, "tollgate_facilitator_up", { facilitator: "PayAI Network" })).toBe(0);
    expect(await sampleOf(metrics, "tollgate_rpc_up", { network: base })).toBe(0);
    metrics.observe(call("answer"));
    metrics.observe(rpc("answer"));
    expect(await sampleOf(metrics, "tollgate_facilitator_up", { facilitator: "PayAI Network" })).toBe(1);
    expect(await sampleOf(metrics, "tollgate_rpc_up", { network: base })).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_rpc_requests_total", { network: base, outcome: "unavailable" }),
    ).toBe(1);
  });

  it("maps anything outside the configuration to `other`, and never labels a payer, URL or proof", async () => {
    const metrics = metricsForTests();
    metrics.observe({ type: "payment_required", route: "GET /v1/search?q=secret-looking" });
    metrics.observe({ type: "refused", route: "GET /a | POST /a", reason: "made up by a peer", status: 402 });
    metrics.observe({
      type: "paid",
      route: search,
      lane: "direct",
      amount: 1n,
      network: "eip155:1",
      payer: "0xp",
    });
    metrics.observe({
      type: "facilitator_call",
      facilitator: "evil.example",
      endpoint: "supported",
      outcome: "answer",
      durationMs: 1,
    });
    metrics.observe({ type: "failed_over", route: search, from: "evil.example", to: "x", reason: "timeout" });
    metrics.observe({ type: "rpc_call", network: "eip155:666", outcome: "answer", durationMs: 1 });

    expect(await sampleOf(metrics, "tollgate_payment_required_total", { route: "other" })).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_refusals_total", { route: "other", lane: "none", reason: "other" }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_paid_atomic_total", {
        lane: "direct",
        network: "other",
        asset: "other",
      }),
    ).toBe(1);
    expect(await sampleOf(metrics, "tollgate_facilitator_up", { facilitator: "other" })).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_failovers_total", { route: search, from: "other", to: "other" }),
    ).toBe(1);
    expect(await sampleOf(metrics, "tollgate_rpc_up", { network: "other" })).toBe(1);
    const labelNames = new Set((await seriesOf(metrics)).flatMap((s) => Object.keys(s.labels)));
    expect([...labelNames].sort()).toEqual(
      [
        "asset",
        "endpoint",
        "facilitator",
        "from",
        "lane",
        "le",
        "network",
        "operation",
        "outcome",
        "reason",
        "route",
        "stage",
        "to",
      ].sort(),
    );
  });

  it("keeps the number of series bounded whatever routes, reasons and networks the events carry", async () => {
    const metrics = metricsForTests();
    const text = fc.string({ maxLength: 40 });
    const events = fc.array(
      fc.oneof(
        fc.record({ type: fc.constant("payment_required" as const), route: text }),
        fc.record({
          type: fc.constant("refused" as const),
          route: text,
          lane: fc.constantFrom("facilitator" as const, "direct" as const, "token" as const),
          reason: text,
          status: fc.constant(402),
        }),
        fc.record({
          type: fc.constant("paid" as const),
          route: text,
          lane: fc.constant("direct" as const),
          amount: fc.bigInt({ min: 0n, max: 10n ** 12n }),
          network: text,
          payer: text,
        }),
        fc.record({
          type: fc.constant("rpc_call" as const),
          network: text,
          outcome: fc.constant("answer" as const),
          durationMs: fc.nat(),
        }),
      ),
      { maxLength: 50 },
    );
    const before = (await seriesOf(metrics)).length;
    await fc.assert(
      fc.asyncProperty(events, async (batch) => {
        for (const event of batch) metrics.observe(event);
        // Whatever the text: payment_required{other}, refusals{other, 3 lanes, other}, funnel{other, direct,
        // served}, paid_atomic{direct, other, other}, rpc_requests{other, answer} and rpc_up{other}: 8 series at
        // most beside the initial ones.
        expect((await seriesOf(metrics)).length).toBeLessThanOrEqual(before + 8);
      }),
      { numRuns: 50 },
    );
  });

  it("counts SERVER__STORE_FAILED errors by operation and sets the store down, other errors not", async () => {
    const metrics = metricsForTests();
    expect(await sampleOf(metrics, "tollgate_store_errors_total", { operation: "debit" })).toBe(0);
    metrics.observe({ type: "error", where: "handle", error: storeFailed("debit") });
    metrics.observe({ type: "error", where: "store.finishResponse", error: storeFailed("finishResponse") });
    metrics.observe({ type: "error", where: "store.record", error: storeFailed("INSERT analytics") });
    metrics.observe({ type: "error", where: "handle", error: new Error("a bug") });
    metrics.observe({ type: "error", where: "settlementCheck", error: new Error("rpc down") });
    expect(await sampleOf(metrics, "tollgate_store_errors_total", { operation: "debit" })).toBe(1);
    expect(await sampleOf(metrics, "tollgate_store_errors_total", { operation: "finishResponse" })).toBe(1);
    // The store's own step name is not an operation: the `where` names it.
    expect(await sampleOf(metrics, "tollgate_store_errors_total", { operation: "record" })).toBe(1);
    const total = (await seriesOf(metrics)).filter((s) => s.name === "tollgate_store_errors_total");
    expect(total.map((s) => s.labels.operation).sort()).toEqual([...storeOperations].sort());
    expect(await sampleOf(metrics, "tollgate_store_up")).toBe(0);
  });

  it("sets tollgate_store_up back to 1 when an operation of the instrumented store succeeds", async () => {
    const metrics = metricsForTests();
    const store = metrics.instrumentStore(createMemoryStore());
    expect(await sampleOf(metrics, "tollgate_store_up")).toBe(1);
    metrics.observe({ type: "error", where: "handle", error: storeFailed("claim") });
    expect(await sampleOf(metrics, "tollgate_store_up")).toBe(0);
    expect(await store.getClaim("nothing")).toBeUndefined();
    expect(await sampleOf(metrics, "tollgate_store_up")).toBe(1);
  });

  it("counts a real paywall's 402s, refusals, spends and facilitator calls", async () => {
    const metrics = createPaywallMetrics({ routes: ["GET /paid"] });
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      store: metrics.instrumentStore(createMemoryStore()),
      onEvent: metrics.observe,
    });
    const app = paywall.fetch(() => new Response("the paid content"));
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const get = (headers: Record<string, string> = {}) =>
      app(new Request("http://api.test/paid", { headers })).then((r) => r.status);
    expect(await get()).toBe(402);
    expect(await get({ "x-payment-token": token })).toBe(200);
    expect(await get({ "x-payment-token": token })).toBe(402); // spent
    expect(await sampleOf(metrics, "tollgate_payment_required_total", { route: "GET /paid" })).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_funnel_total", {
        route: "GET /paid",
        lane: "token",
        stage: "served",
      }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_refusals_total", {
        route: "GET /paid",
        lane: "token",
        reason: "token_insufficient_balance",
      }),
    ).toBe(1);
    expect(
      await sampleOf(metrics, "tollgate_paid_atomic_total", {
        lane: "token",
        network: "other",
        asset: "other",
      }),
    ).toBe(10_000);
    const response = await metrics.response();
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await response.text()).toContain('tollgate_payment_required_total{route="GET /paid"} 1');
  });

  it("keeps the series of two paywalls apart (one registry each)", async () => {
    const a = metricsForTests();
    const b = metricsForTests();
    a.observe({ type: "payment_required", route: search });
    expect(await sampleOf(a, "tollgate_payment_required_total", { route: search })).toBe(1);
    expect(await sampleOf(b, "tollgate_payment_required_total", { route: search })).toBe(0);
  });

  it("counts dropped analytics records", async () => {
    const metrics = metricsForTests();
    metrics.analyticsDropped(3);
    metrics.analyticsDropped();
    metrics.analyticsDropped(-1);
    expect(await sampleOf(metrics, "tollgate_analytics_dropped_total")).toBe(4);
  });
});
