import { describe, expect, it } from "vitest";
import { eventRecord } from "./eventRecord.js";

const at = 1_800_000_000_000;

describe("eventRecord", () => {
  it("keeps an event's facts and nothing else (no transaction, asset or detail)", () => {
    expect(
      eventRecord(
        {
          type: "settled",
          route: "GET /paid",
          lane: "facilitator",
          amount: 2n ** 70n,
          network: "eip155:8453",
          asset: "0xasset",
          payer: "0xpayer",
          transaction: "0xtx",
          facilitator: "primary",
          durationMs: 12.5,
        },
        at,
      ),
    ).toEqual({
      at,
      type: "settled",
      route: "GET /paid",
      lane: "facilitator",
      amount: 2n ** 70n,
      network: "eip155:8453",
      payer: "0xpayer",
      facilitator: "primary",
      durationMs: 12.5,
    });
    expect(eventRecord({ type: "payment_required", route: "GET /paid" }, at)).toEqual({
      at,
      type: "payment_required",
      route: "GET /paid",
    });
    expect(eventRecord({ type: "not_charged", route: "GET /paid", lane: "token", status: 500 }, at)).toEqual({
      at,
      type: "not_charged",
      route: "GET /paid",
      lane: "token",
    });
  });

  it("names a facilitator call's endpoint and outcome, an RPC call's outcome and a failover's path as the reason", () => {
    expect(
      eventRecord(
        {
          type: "facilitator_call",
          facilitator: "payai",
          endpoint: "settle",
          outcome: "unavailable",
          detail: "timeout",
          durationMs: 3,
        },
        at,
      ),
    ).toEqual({
      at,
      type: "facilitator_call",
      facilitator: "payai",
      reason: "settle:unavailable",
      durationMs: 3,
    });
    expect(
      eventRecord({ type: "rpc_call", network: "eip155:8453", outcome: "answer", durationMs: 1 }, at),
    ).toEqual({ at, type: "rpc_call", network: "eip155:8453", reason: "answer", durationMs: 1 });
    expect(
      eventRecord(
        { type: "failed_over", route: "GET /paid", from: "payai", to: "ours", reason: "timeout" },
        at,
      ),
    ).toEqual({ at, type: "failed_over", route: "GET /paid", facilitator: "payai", reason: "timeout->ours" });
  });
});
