import { type ServedFetch, serveFetch } from "@tollgate/server";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { createPaidApi, type PaidApi } from "./createPaidApi.js";

/** `payments()` keeps only the latest `maxPaymentRecords` payments (a ring buffer), so it cannot grow forever. */
const closers: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of closers) await c.close();
});

type ClockedApi = Readonly<{ api: PaidApi; clock: { t: number } }>;

async function paidApi(maxPaymentRecords?: number): Promise<ClockedApi> {
  const facilitator: ServedFetch = await serveFetch({
    fetch: () =>
      Response.json({
        kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:8453" }],
        extensions: [],
        signers: {},
      }),
  });
  const clock = { t: 1_000 };
  const api = createPaidApi({
    config: loadConfig({
      X402_PAYAI_ENABLED: "false",
      X402_FACILITATOR_URLS: facilitator.url,
      X402_PAYAI_MERCHANT_ADDRESS: "0x1111111111111111111111111111111111111111",
      X402_DIRECT_ENABLED: "false",
    }),
    chains: {},
    // Token payments only here: no facilitator-lane settlement can lose its answer.
    settlementChecks: { "eip155:8453": false },
    now: () => clock.t,
    ...(maxPaymentRecords === undefined ? {} : { maxPaymentRecords }),
  });
  closers.push(facilitator, api.paywall);
  return { api, clock };
}

/** Buys `count` searches with one token, one per clock tick; answers the payments' times. */
async function buy({ api, clock }: ClockedApi, count: number): Promise<number[]> {
  const { token } = await api.paywall.issueToken({ amount: "$100" });
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    clock.t += 1;
    const response = await api.fetch(
      new Request("http://127.0.0.1/v1/search?q=x", { headers: { "x-payment-token": token } }),
    );
    expect(response.status).toBe(200);
    times.push(clock.t);
  }
  return times;
}

describe("the reference paid API's payments()", () => {
  it("keeps the latest maxPaymentRecords payments, oldest first, across many wraps of the ring", async () => {
    const clocked = await paidApi(3);
    const { api } = clocked;
    const two = await buy(clocked, 2);
    expect(api.payments().map((p) => p.at)).toEqual(two);
    const more = await buy(clocked, 10);
    expect(api.payments().map((p) => p.at)).toEqual(more.slice(-3));
    expect(api.payments()[0]).toMatchObject({ route: "GET /v1/search", lane: "token", amount: 10_000n });
  });

  it("keeps 1000 by default", async () => {
    const clocked = await paidApi();
    const times = await buy(clocked, 1_005);
    expect(clocked.api.payments().map((p) => p.at)).toEqual(times.slice(-1_000));
  });

  it("refuses a maxPaymentRecords that is not a positive integer", async () => {
    await expect(paidApi(0)).rejects.toThrow(RangeError);
    await expect(paidApi(1.5)).rejects.toThrow(RangeError);
  });
});
