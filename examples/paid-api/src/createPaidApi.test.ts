import { type ServedFetch, serveFetch } from "@tollgate/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { createPaidApi, type PaidApi } from "./createPaidApi.js";

/**
 * The reference API over real HTTP on loopback, facilitator lane only (a stub on loopback in PayAI's place, never
 * asked to verify here): its paid endpoints are sold for GET (and HEAD), and no other method reaches them.
 */
let facilitator: ServedFetch;
let served: ServedFetch;
let api: PaidApi;

beforeAll(async () => {
  facilitator = await serveFetch({
    fetch: () =>
      Response.json({
        kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:8453" }],
        extensions: [],
        signers: {},
      }),
  });
  api = createPaidApi({
    config: loadConfig({
      X402_PAYAI_ENABLED: "false",
      X402_FACILITATOR_URLS: facilitator.url,
      X402_PAYAI_MERCHANT_ADDRESS: "0x1111111111111111111111111111111111111111",
      X402_DIRECT_ENABLED: "false",
    }),
    chains: {},
    // Nothing is settled here; a lost /settle answer on Base would stay settlement_pending, and the paywall
    // requires saying so.
    settlementChecks: { "eip155:8453": false },
  });
  served = await serveFetch({ fetch: api.fetch });
});
afterAll(async () => {
  await served?.close();
  await facilitator?.close();
  await api?.paywall.close();
});

const content = { "/v1/report": "All systems paid.", "/v1/search": "result 1" } as const;

describe("the reference paid API", () => {
  it.each(
    (["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const).flatMap((method) =>
      (Object.keys(content) as (keyof typeof content)[]).map((path) => [method, path] as const),
    ),
  )("answers %s %s with 405 and no content, even with a valid token", async (method, path) => {
    const { token } = await api.paywall.issueToken({ amount: "$1" });
    for (const headers of [{}, { "x-payment-token": token }] as Record<string, string>[]) {
      const response = await fetch(`${served.url}${path}?q=x402`, { method, headers });
      const text = await response.text();
      expect(text).not.toContain(content[path]);
      expect({ status: response.status, allow: response.headers.get("allow") }).toEqual({
        status: 405,
        allow: "GET, HEAD",
      });
    }
    expect(api.payments()).toEqual([]);
  });

  it("still sells GET, and answers HEAD as the GET it is priced as", async () => {
    expect((await fetch(`${served.url}/v1/report`)).status).toBe(402);
    expect((await fetch(`${served.url}/v1/search`, { method: "HEAD" })).status).toBe(402);
    const { token } = await api.paywall.issueToken({ amount: "$0.02" });
    const paid = await fetch(`${served.url}/v1/report`, { headers: { "x-payment-token": token } });
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain(content["/v1/report"]);
    expect((await fetch(`${served.url}/health`)).status).toBe(200);
  });
});
