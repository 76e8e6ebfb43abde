import { afterAll, describe, expect, it } from "vitest";
import {
  acceptingFacilitator,
  closeAll,
  payee,
  paymentRequiredOf,
  unsignedPayment,
} from "../../test/fixtures.js";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { createRuntimeSwitches } from "./runtimeSwitches.js";

afterAll(closeAll);

const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

async function setup() {
  const one = await acceptingFacilitator();
  const two = await acceptingFacilitator();
  const switches = createRuntimeSwitches();
  const events: PaywallEvent[] = [];
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    facilitators: [
      { url: one.url, name: "one" },
      { url: two.url, name: "two" },
    ],
    store: createMemoryStore(),
    switches,
    onEvent: (event) => events.push(event),
  });
  await paywall.ready();
  const app = paywall.fetch(() => Response.json({ content: "paid" }));
  const get = (headers: Record<string, string> = {}) => app(new Request("http://api.test/paid", { headers }));
  /** The 402's payment options, by type. */
  const offered = async () => {
    const body = (await (await get()).json()) as { payment_options: { type: string }[] };
    return body.payment_options.map((o) => o.type);
  };
  const requirement = async () => {
    const [first] = paymentRequiredOf(await get()).accepts;
    if (first === undefined) throw new Error("no facilitator requirement");
    return first;
  };
  /** Calls to a facilitator beyond `/supported`. */
  const paidCalls = (facilitator: { calls: string[] }) => facilitator.calls.filter((c) => c !== "/supported");
  return { one, two, switches, paywall, get, offered, requirement, paidCalls, events };
}

describe("run-time switches", () => {
  it("declares the paywall's facilitators, each on; every lane on", async () => {
    const { switches, paywall } = await setup();
    expect(switches.state()).toEqual({
      lanes: { facilitator: true, direct: true, token: true },
      facilitators: { one: true, two: true },
    });
    expect(switches.setFacilitator("unknown", false)).toBe(false);
    expect(switches.state().facilitators).toEqual({ one: true, two: true });
    await paywall.close();
  });

  it("a facilitator lane switched off is neither offered nor accepted; switched on again it is both", async () => {
    const { switches, paywall, get, offered, requirement, one, paidCalls } = await setup();
    const held = await requirement();
    expect(await offered()).toContain("facilitator");

    switches.setLane("facilitator", false);
    expect(await offered()).not.toContain("facilitator");
    const refused = await get({ "payment-signature": unsignedPayment(held) });
    expect(refused.status).toBe(402);
    expect(await errorOf(refused)).toBe("facilitator_lane_disabled");
    expect(paidCalls(one)).toEqual([]);

    switches.setLane("facilitator", true);
    expect(await offered()).toContain("facilitator");
    const paid = await get({ "payment-signature": unsignedPayment(held) });
    expect(paid.status).toBe(200);
    expect(paidCalls(one)).toEqual(["/verify", "/settle"]);
    await paywall.close();
  });

  it("a token lane switched off refuses a good token and drops the option; switched on again it spends it", async () => {
    const { switches, paywall, get, offered } = await setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    expect(await offered()).toContain("prepaid_token");

    switches.setLane("token", false);
    expect(await offered()).not.toContain("prepaid_token");
    const refused = await get({ "x-payment-token": token });
    expect(refused.status).toBe(402);
    expect(await errorOf(refused)).toBe("token_lane_disabled");

    switches.setLane("token", true);
    const paid = await get({ "x-payment-token": token });
    expect(paid.status).toBe(200);
    expect(paid.headers.get("x-payment-token-balance")).toBe("40000");
    await paywall.close();
  });

  it("a facilitator switched off is skipped by the failover; switched on again it is first again", async () => {
    const { switches, paywall, get, requirement, one, two, paidCalls } = await setup();
    const held = await requirement();

    expect(switches.setFacilitator("one", false)).toBe(true);
    const viaTwo = await get({ "payment-signature": unsignedPayment(held) });
    expect(viaTwo.status).toBe(200);
    expect(paidCalls(one)).toEqual([]);
    expect(paidCalls(two)).toEqual(["/verify", "/settle"]);

    switches.setFacilitator("two", false);
    const none = await get({ "payment-signature": unsignedPayment(held) });
    expect(await errorOf(none)).toBe("facilitator_unavailable");
    expect(paidCalls(two)).toHaveLength(2);

    switches.setFacilitator("one", true);
    const viaOne = await get({ "payment-signature": unsignedPayment(held) });
    expect(viaOne.status).toBe(200);
    expect(paidCalls(one)).toEqual(["/verify", "/settle"]);
    expect(paidCalls(two)).toHaveLength(2);
    await paywall.close();
  });

  it("never widens the configuration: a lane the paywall has off stays off when its switch is on", async () => {
    const switches = createRuntimeSwitches();
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      tokens: { enabled: false },
      store: createMemoryStore(),
      switches,
    });
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    switches.setLane("token", true);
    const refused = await app(
      new Request("http://api.test/paid", { headers: { "x-payment-token": "a".repeat(43) } }),
    );
    expect(await errorOf(refused)).toBe("token_lane_disabled");
    await paywall.close();
  });
});
