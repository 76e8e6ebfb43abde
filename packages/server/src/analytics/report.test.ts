import { tokenHeaderNames } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import { latencyRelativeAccuracy, report } from "./report.js";

const start = 1_800_000_000_000;

describe("report", () => {
  it("gives exact counts, funnel and volume from a scripted token-lane mix, latency within the sketch's bound", async () => {
    let now = start;
    const store = createMemoryStore({ now: () => now });
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01", "GET /fails": "$0.01" },
      store,
      now: () => now,
    });
    const app = paywall.fetch(async (request) => {
      now += 7; // the handler takes 7 ms of the paywall's clock
      return new URL(request.url).pathname === "/fails"
        ? Response.json({ error: "broken" }, { status: 500 })
        : Response.json({ ok: true });
    });
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const get = (path: string, headers: Record<string, string> = {}) =>
      app(new Request(`http://api.test${path}`, { headers }));
    const paying = { [tokenHeaderNames.token]: token };
    for (let i = 0; i < 3; i++) expect((await get("/paid")).status).toBe(402); // 3 × payment_required
    for (let i = 0; i < 4; i++) expect((await get("/paid", paying)).status).toBe(200); // 4 served
    expect((await get("/fails", paying)).status).toBe(500); // refunded
    expect((await get("/paid", paying)).status).toBe(200); // the 5th spend (the refund gave 0.01 back)
    expect((await get("/paid", paying)).status).toBe(402); // token_insufficient_balance
    expect((await get("/paid", { [tokenHeaderNames.token]: "x" })).status).toBe(402); // token_unknown
    await paywall.analytics.flush();

    const result = report({ records: store.records(), since: start, until: now + 1 });
    const token_ = result.byLane.token;
    expect(token_?.attempts).toBe(8);
    expect(token_?.successes).toBe(5);
    expect(token_?.successRate).toBe(5 / 8);
    expect(token_?.refunds).toBe(1);
    expect(token_?.volume).toEqual({ "": 50_000n });
    expect(result.topFailureReasons).toEqual([
      { reason: "token_insufficient_balance", count: 1 },
      { reason: "token_unknown", count: 1 },
    ]);
    expect(result.funnel.map((s) => [s.step, s.count])).toEqual([
      ["payment_required", 3],
      ["proof_received", 8],
      ["proof_checked", 7],
      ["verified", 6],
      ["settled", 6],
      ["paid", 5],
    ]);
    expect(result.funnel[5]?.conversion).toBe(5 / 6);
    // The token lane settles with the debit, before the handler runs: 0 ms on this clock.
    expect(result.byLane.token?.latencyMs?.p99).toBeLessThanOrEqual(1 + latencyRelativeAccuracy);
    expect(result.markdown).toContain("| token | 8 | 5 | 62.5 % | 1 |");
    // A window that excludes everything is empty.
    expect(report({ records: store.records(), since: now + 1 }).total.attempts).toBe(0);
    // A window end no Date holds is reported as open, not thrown on (it was a RangeError from toISOString).
    const allTime = report({ records: store.records(), until: Number.MAX_SAFE_INTEGER });
    expect(allTime.total.attempts).toBe(result.total.attempts);
    expect(allTime.markdown).toContain("From 1970-01-01T00:00:00.000Z to now.");
  });
});
