// The 402's PAYMENT-REQUIRED header embeds `resource.url`, and a header may not exceed 8 KiB
// (WIRE__ENCODE_FAILED). A priced request with a query string of ~8 KiB (well under Node's 16 KiB header
// limit) must still get its 402: the offer leaves a long query out of the resource URL. A path that long is
// the resource itself, so it is answered 414; never 500.
import { describe, expect, it } from "vitest";
import { payee, paymentRequiredOf } from "../../test/fixtures.js";
import { createPaywall } from "../paywall.js";
import type { PaywallEvent } from "../verify/laneContext.js";

function searchPaywall(events: PaywallEvent[]) {
  return createPaywall({
    routes: { "GET /v1/search": "$0.01", "GET /files/*": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    // Never called for a bare 402 of an EVM route.
    facilitators: [{ url: "http://127.0.0.1:9", name: "primary" }],
    onEvent: (e) => events.push(e),
  });
}

describe("the offer's resource URL", () => {
  it("keeps a short query", async () => {
    const paywall = searchPaywall([]);
    const app = paywall.fetch(() => Response.json({ results: [] }));
    const response = await app(new Request("http://api.test/v1/search?q=usdc"));
    expect(response.status).toBe(402);
    expect(paymentRequiredOf(response).resource).toMatchObject({ url: "http://api.test/v1/search?q=usdc" });
    await paywall.close();
  });

  it("leaves out a long query, so the request is answered 402, never 500", async () => {
    const events: PaywallEvent[] = [];
    const paywall = searchPaywall(events);
    const app = paywall.fetch(() => Response.json({ results: [] }));
    const response = await app(new Request(`http://api.test/v1/search?q=${"a".repeat(8_000)}`));
    expect(response.status).not.toBe(500);
    expect([402, 414, 431]).toContain(response.status);
    expect(paymentRequiredOf(response).resource).toMatchObject({ url: "http://api.test/v1/search" });
    expect(events.some((e) => e.type === "error")).toBe(false);
    await paywall.close();
  });

  it("answers a path too long to describe 414, never 500", async () => {
    const events: PaywallEvent[] = [];
    const paywall = searchPaywall(events);
    const app = paywall.fetch(() => Response.json({ file: "x" }));
    const response = await app(new Request(`http://api.test/files/${"a".repeat(8_000)}`));
    expect(response.status).toBe(414);
    expect(await response.json()).toEqual({ error: "uri_too_long" });
    expect(events.some((e) => e.type === "error")).toBe(false);
    await paywall.close();
  });

  it("answers a priced request with a ~7 KB Host (well under Node's 16 KiB header limit) 414, never 500", async () => {
    const events: PaywallEvent[] = [];
    const paywall = searchPaywall(events);
    const app = paywall.fetch(() => Response.json({ results: [] }));
    const response = await app(new Request(`http://${"a".repeat(7_000)}.test/v1/search`));
    expect(response.status).toBe(414);
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    await paywall.close();
  });
});
