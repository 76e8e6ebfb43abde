import { tokenHeaderNames } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import type { Store, StoreRecord } from "../store/store.js";

const start = 1_800_000_000_000;

/** A memory store whose analytics writes wait until released, or fail; `batches` counts the queue's writes. */
function analyticsStore(mode: "stall" | "fail" | "pass") {
  const inner = createMemoryStore({ now: () => start });
  const written: StoreRecord[] = [];
  const batches: number[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const store: Store = {
    ...inner,
    async record() {
      throw new Error("the analytics queue writes batches");
    },
    async recordBatch(records) {
      batches.push(records.length);
      if (mode === "fail") throw new Error("store down");
      if (mode === "stall") await gate;
      written.push(...records);
    },
  };
  return { store, written, batches, release };
}

function setup(store: Store, errors: unknown[] = [], maxQueue = 8) {
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    store,
    now: () => start,
    analytics: { maxQueue, batchSize: 4, flushIntervalMs: 60_000 },
    onEvent: (event) => {
      if (event.type === "error") errors.push(event.where);
    },
  });
  const app = paywall.fetch(async () => Response.json({ ok: true }));
  return { paywall, app };
}

describe("the analytics queue", () => {
  it("serves every payment while the store stalls, keeps at most maxQueue records and counts the rest", async () => {
    const { store, written, release } = analyticsStore("stall");
    const { paywall, app } = setup(store);
    const { token } = await paywall.issueToken({ amount: "$1" });
    for (let i = 0; i < 10; i++) {
      const response = await app(
        new Request("http://api.test/paid", { headers: { [tokenHeaderNames.token]: token } }),
      );
      expect(response.status).toBe(200);
    }
    // 10 spends × 5 events (received, checked, verified, settled, paid) = 50 records: at most one batch (4) is
    // being written (stalled) and 8 wait; the rest were dropped and counted, none lost unaccounted.
    const dropped = paywall.analytics.dropped();
    expect(dropped).toBeGreaterThanOrEqual(50 - 12);
    release();
    await paywall.analytics.flush();
    expect(written.length + dropped).toBe(50);
    expect(written.map((r) => r.type).slice(0, 5)).toEqual([
      "proof_received",
      "proof_checked",
      "verified",
      "settled",
      "paid",
    ]);
  });

  it("writes the queue in batches, in order, not one store call per record", async () => {
    const { store, written, batches } = analyticsStore("pass");
    const { paywall, app } = setup(store, [], 100);
    const { token } = await paywall.issueToken({ amount: "$1" });
    for (let i = 0; i < 4; i++) {
      const response = await app(
        new Request("http://api.test/paid", { headers: { [tokenHeaderNames.token]: token } }),
      );
      expect(response.status).toBe(200);
    }
    await paywall.analytics.flush();
    // 4 spends × 5 records, a flush once 4 wait (batchSize): at most 5 writes, never one per record.
    expect(written).toHaveLength(20);
    expect(batches.length).toBeLessThanOrEqual(5);
    expect(written.filter((r) => r.type === "paid")).toHaveLength(4);
    expect(written.map((r) => r.type).slice(0, 5)).toEqual([
      "proof_received",
      "proof_checked",
      "verified",
      "settled",
      "paid",
    ]);
    expect(paywall.analytics.dropped()).toBe(0);
  });

  it("serves payments when every write fails, reporting each failed batch as an error event", async () => {
    const { store, batches } = analyticsStore("fail");
    const errors: unknown[] = [];
    const { paywall, app } = setup(store, errors);
    const { token } = await paywall.issueToken({ amount: "$1" });
    const response = await app(
      new Request("http://api.test/paid", { headers: { [tokenHeaderNames.token]: token } }),
    );
    expect(response.status).toBe(200);
    await paywall.analytics.flush();
    // 5 records, in batches of at most 4 (batchSize): each failed write is one error, no record left unwritten.
    expect(batches.reduce((a, b) => a + b, 0)).toBe(5);
    expect(errors).toEqual(Array(batches.length).fill("store.record"));
    expect(paywall.analytics.dropped()).toBe(0);
  });
});
