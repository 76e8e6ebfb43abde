import { describe, expect, it } from "vitest";
import { createLockout } from "./lockout.js";

function setup(parameters: Parameters<typeof createLockout>[0] extends infer P ? Partial<P> : never = {}) {
  let now = 1_000_000;
  const lockout = createLockout({ ...parameters, now: () => now });
  return { lockout, advance: (ms: number) => (now += ms) };
}

describe("admin lockout", () => {
  it("locks an address out at its 5th failure in a window, for 15 minutes", () => {
    const { lockout, advance } = setup();
    for (let i = 0; i < 4; i++) expect(lockout.fail("a")).toEqual({ locked: false });
    expect(lockout.fail("a")).toEqual({ locked: true, scope: "address", retryAfterSeconds: 900 });
    expect(lockout.check("b")).toEqual({ locked: false });
    advance(899_000);
    expect(lockout.check("a")).toEqual({ locked: true, scope: "address", retryAfterSeconds: 1 });
    advance(1_000);
    expect(lockout.check("a")).toEqual({ locked: false });
  });

  it("forgets failures older than the window", () => {
    const { lockout, advance } = setup();
    for (let i = 0; i < 4; i++) lockout.fail("a");
    advance(60_000);
    for (let i = 0; i < 4; i++) expect(lockout.fail("a").locked).toBe(false);
  });

  it("locks every address out once all of them failed 50 times in a window (address rotation)", () => {
    const { lockout } = setup();
    for (let i = 0; i < 49; i++) expect(lockout.fail(`10.0.0.${i}`).locked).toBe(false);
    expect(lockout.fail("10.0.1.1")).toEqual({ locked: true, scope: "global", retryAfterSeconds: 900 });
    expect(lockout.check("192.168.0.1")).toMatchObject({ locked: true, scope: "global" });
  });

  it("counts a new address towards the global budget when too many are tracked", () => {
    const { lockout } = setup({ maxTrackedAddresses: 2, maxGlobalFailures: 100 });
    lockout.fail("a");
    lockout.fail("b");
    for (let i = 0; i < 10; i++) expect(lockout.fail("c").locked).toBe(false);
    expect(lockout.check("c")).toEqual({ locked: false });
  });
});
