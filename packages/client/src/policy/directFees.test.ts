import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createFeeTracker } from "./directFees.js";

const origin = "https://api.example.com";

function thrown(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("createFeeTracker", () => {
  it("holds a transfer's maximum fee, then counts what it paid, so the budget is not used up by estimates", () => {
    const fees = createFeeTracker({
      limits: [{ network: "eip155:*", budgets: [{ limit: 150n, window: "total" }] }],
      now: () => 0,
    });
    fees.reserve({ tx: "a", network: "eip155:8453", origin, fee: 100n });
    const full = thrown(() => fees.reserve({ tx: "b", network: "eip155:8453", origin, fee: 100n }));
    expect(isTollgateError(full, "CLIENT__FEE_LIMIT_EXCEEDED")).toBe(true);
    expect((full as { context: unknown }).context).toEqual({
      network: "eip155:8453",
      fee: "100",
      limit: "total",
      remaining: "50",
    });
    fees.settle("a", 40n);
    fees.reserve({ tx: "b", network: "eip155:8453", origin, fee: 100n });
    fees.release("b");
    fees.reserve({ tx: "c", network: "eip155:8453", origin, fee: 110n });
  });

  it("a fee the wallet cannot tell passes only where no limit applies", () => {
    const fees = createFeeTracker({
      limits: [{ network: "solana:*", maxPerPayment: 10_000n }],
      now: () => 0,
    });
    fees.reserve({ tx: "a", network: "eip155:8453", origin, fee: undefined });
    const unknown = thrown(() => fees.reserve({ tx: "b", network: "solana:x", origin, fee: undefined }));
    expect(isTollgateError(unknown, "CLIENT__FEE_LIMIT_EXCEEDED")).toBe(true);
    expect((unknown as { context: unknown }).context).toMatchObject({
      fee: "unknown",
      limit: "maxPerPayment",
    });
  });
});
