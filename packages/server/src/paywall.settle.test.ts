import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall, type PaywallEvent } from "./index.js";

describe("paywall.handle and paywall.settle, used directly", () => {
  it("settles a decision once; a second settle or a made-up decision is a caller mistake answered with 500", async () => {
    const errors: unknown[] = [];
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      onEvent: (event: PaywallEvent) => {
        if (event.type === "error") errors.push(event.error);
      },
    });
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const request = new Request("http://api.test/paid", { headers: { "x-payment-token": token } });
    const decision = await paywall.handle(request);
    expect(decision).toMatchObject({ action: "serve", lane: "token", route: "GET /paid" });
    const served = await paywall.settle(decision, Response.json({ content: "paid" }));
    expect(served.status).toBe(200);
    expect(served.headers.get("x-payment-token-balance")).toBe("40000");

    const again = await paywall.settle(decision, Response.json({ content: "paid" }));
    expect(again.status).toBe(500);
    const madeUp = await paywall.settle(
      { action: "serve", lane: "token", route: "GET /paid" },
      Response.json({ content: "paid" }),
    );
    expect(madeUp.status).toBe(500);
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(isTollgateError(error, "SERVER__UNKNOWN_DECISION")).toBe(true);
  });
});
