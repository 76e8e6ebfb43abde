import { tokenHeaderNames } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../../paywall.js";
import { createMemoryStore } from "../../store/memory.js";
import type { PaywallEvent } from "../laneContext.js";

const start = 1_800_000_000_000;

function setup() {
  const events: PaywallEvent[] = [];
  const store = createMemoryStore({ now: () => start });
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01", "GET /fails": "$0.01" },
    store,
    now: () => start,
    onEvent: (event) => events.push(event),
  });
  const app = paywall.fetch(async (request) =>
    new URL(request.url).pathname === "/fails"
      ? Response.json({ error: "broken" }, { status: 500 })
      : Response.json({ ok: true }),
  );
  return { paywall, app, events };
}

describe("the token lane's events", () => {
  it("walks the funnel to paid (served) on a spend", async () => {
    const { paywall, app, events } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const response = await app(
      new Request("http://api.test/paid", { headers: { [tokenHeaderNames.token]: token } }),
    );
    expect(response.status).toBe(200);
    expect(events.map((e) => e.type)).toEqual([
      "proof_received",
      "proof_checked",
      "verified",
      "settled",
      "paid",
    ]);
    expect(JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(
      token,
    );
  });

  it("records a given-back debit as refunded, never as paid", async () => {
    const { paywall, app, events } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const response = await app(
      new Request("http://api.test/fails", { headers: { [tokenHeaderNames.token]: token } }),
    );
    expect(response.status).toBe(500);
    const types = events.map((e) => e.type);
    expect(types).not.toContain("paid");
    expect(events.at(-1)).toEqual({
      type: "refunded",
      route: "GET /fails",
      lane: "token",
      amount: 10_000n,
      reason: "handler_failed",
    });
  });
});
