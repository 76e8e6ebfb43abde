import { createMemoryStore, type Store } from "@tollgate/server";
import { describe, expect, it } from "vitest";
import { createReadiness } from "./readiness.js";

/** The memory store whose `getClaim` waits until `release()` (a store that stopped answering), counting calls. */
function heldStore(): Readonly<{ store: Store; calls: () => number; release(): void }> {
  const memory = createMemoryStore();
  let calls = 0;
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    store: {
      ...memory,
      getClaim: async (key) => {
        calls++;
        await held;
        return memory.getClaim(key);
      },
    },
    calls: () => calls,
    release: () => release(),
  };
}

describe("createReadiness", () => {
  it("answers timeout (not ready) when the store does not answer within timeoutMs", async () => {
    const held = heldStore();
    const readiness = createReadiness({
      store: held.store,
      facilitators: () => ({}),
      facilitatorLaneOnly: false,
      timeoutMs: 20,
    });
    expect(await readiness.check()).toEqual({
      status: "not_ready",
      notReady: ["store"],
      store: "timeout",
      facilitators: {},
    });
    held.release();
  });

  it("shares one store read between concurrent checks, and reads again for the next check", async () => {
    const held = heldStore();
    const readiness = createReadiness({
      store: held.store,
      facilitators: () => ({}),
      facilitatorLaneOnly: false,
    });
    const checks = Array.from({ length: 50 }, () => readiness.check());
    held.release();
    const answers = await Promise.all(checks);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set(["ready"]));
    expect(held.calls()).toBe(1);
    await readiness.check();
    expect(held.calls()).toBe(2);
  });

  it("answers down when the store rejects", async () => {
    const memory = createMemoryStore();
    const failing: Store = { ...memory, getClaim: () => Promise.reject(new Error("connection refused")) };
    const readiness = createReadiness({
      store: failing,
      facilitators: () => ({}),
      facilitatorLaneOnly: false,
    });
    expect(await readiness.check()).toMatchObject({ status: "not_ready", store: "down" });
  });

  it("counts facilitators only when they are the only lane, and only when every one is down", async () => {
    const store = createMemoryStore();
    const check = (facilitatorLaneOnly: boolean, states: Record<string, "up" | "down" | "unknown">) =>
      createReadiness({ store, facilitators: () => states, facilitatorLaneOnly }).check();
    expect((await check(true, { a: "down", b: "down" })).notReady).toEqual(["facilitators"]);
    expect((await check(true, { a: "down", b: "unknown" })).notReady).toEqual([]);
    expect((await check(true, { a: "down", b: "up" })).notReady).toEqual([]);
    expect((await check(false, { a: "down", b: "down" })).notReady).toEqual([]);
    expect((await check(true, {})).notReady).toEqual([]);
  });

  it("refuses a timeoutMs that is not a positive integer", () => {
    const store = createMemoryStore();
    for (const timeoutMs of [0, -1, 1.5, Number.NaN]) {
      expect(() =>
        createReadiness({ store, facilitators: () => ({}), facilitatorLaneOnly: false, timeoutMs }),
      ).toThrow(RangeError);
    }
  });
});
