import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../paywall.js";

/** What a call throws, or `undefined`. */
function thrown(build: () => unknown): unknown {
  try {
    build();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("route prices", () => {
  it.each(["$0", "0", "$0.000000", "-$1", "$-0.01", "1e-2", "$"])(
    "refuses the configured price %s",
    (price) => {
      const error = thrown(() => createPaywall({ routes: { "GET /paid": price } }));
      expect(isTollgateError(error, "SERVER__INVALID_CONFIG")).toBe(true);
      expect((error as { context: { option: string } }).context.option).toBe('routes["GET /paid"].price');
    },
  );

  it("fails closed when a price function answers zero or garbage: no content, no debit", async () => {
    let handled = 0;
    const prices = ["$0", "free", "$0.01"];
    const paywall = createPaywall({
      routes: { "GET /paid": { price: () => prices.shift() ?? "$0.01" } },
    });
    const app = paywall.fetch(() => {
      handled++;
      return Response.json({ content: "paid" });
    });
    const { token } = await paywall.issueToken({ amount: "$1" });
    const get = () => app(new Request("http://api.test/paid", { headers: { "x-payment-token": token } }));
    for (const _ of [1, 2]) {
      const refused = await get();
      expect(refused.status).toBe(500);
      expect(await refused.json()).toEqual({ error: "internal_error" });
    }
    expect(handled).toBe(0);
    const paid = await get();
    expect(paid.status).toBe(200);
    expect(paid.headers.get("x-payment-token-balance")).toBe("990000");
    expect(handled).toBe(1);
  });
});
