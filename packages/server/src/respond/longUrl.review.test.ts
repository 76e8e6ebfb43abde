// Review: the 402's PAYMENT-REQUIRED header embeds `resource.url` (origin + path + the whole query string).
// encodeHeaderJson refuses to write a header over 8 KiB (WIRE__ENCODE_FAILED), so any request to a priced
// route with a query string of ~8 KiB (well under Node's 16 KiB header limit) makes `handle` throw: the
// paywall answers 500 internal_error instead of a 402 (and emits an error event per request).
import { describe, expect, it } from "vitest";
import { payee } from "../../test/fixtures.js";
import { createPaywall } from "../paywall.js";
import type { PaywallEvent } from "../verify/laneContext.js";

describe("review: a priced request with a long query string", () => {
  it("is answered 402 (or 414), never 500", async () => {
    const events: PaywallEvent[] = [];
    const paywall = createPaywall({
      routes: { "GET /v1/search": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      // Never called for a bare 402 of an EVM route.
      facilitators: [{ url: "http://127.0.0.1:9", name: "primary" }],
      onEvent: (e) => events.push(e),
    });
    const app = paywall.fetch(() => Response.json({ results: [] }));
    const response = await app(new Request(`http://api.test/v1/search?q=${"a".repeat(8_000)}`));
    // Actual: 500 {"error":"internal_error"}, with an error event WIRE__ENCODE_FAILED.
    expect(response.status).not.toBe(500);
    expect([402, 414, 431]).toContain(response.status);
    expect(events.some((e) => e.type === "error")).toBe(false);
    await paywall.close();
  });
});
