import { type ServedFetch, serveFetch } from "@tollgate/server";
import { adminKeyPlaceholder } from "@tollgate/server/admin";
import { isTollgateError } from "@tollgate/shared";
import { afterAll, describe, expect, it } from "vitest";
import { adminKeyOf, loadConfig } from "./config.js";
import { createPaidApi } from "./createPaidApi.js";

/** The reference server's admin API: off without `TOLLGATE_ADMIN_KEY`, refused at start with a weak one. */
const base = {
  X402_USE_UNIFIED_GATEWAY: "false",
  X402_DIRECT_CHAINS: "base",
  X402_BASE_PAYMENT_ADDRESS: "0x2222222222222222222222222222222222222222",
};
const key = "Vb3nQ8zK1xT6mR2wP9yL4cH7sD0fGj5A";

function refusal(environment: Record<string, string>): { option: string; reason: string } {
  try {
    loadConfig(environment);
  } catch (error) {
    if (isTollgateError(error, "SERVER__INVALID_CONFIG")) return error.context;
    throw error;
  }
  throw new Error("expected loadConfig to refuse");
}

const opened: ServedFetch[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

describe("the reference server's admin API", () => {
  it("is off without a key, on its own loopback port by default with one", () => {
    expect(adminKeyOf(loadConfig(base))).toBeUndefined();
    const config = loadConfig({ ...base, TOLLGATE_ADMIN_KEY: key });
    expect(adminKeyOf(config)).toBe(key);
    expect(config).toMatchObject({ TOLLGATE_ADMIN_PORT: 4029, TOLLGATE_ADMIN_HOST: "127.0.0.1" });
    expect(adminKeyOf(loadConfig({ ...base, X402_ADMIN_KEY: key }))).toBe(key);
  });

  it.each([
    ["TOLLGATE_ADMIN_KEY", { TOLLGATE_ADMIN_KEY: "" }],
    ["TOLLGATE_ADMIN_KEY", { TOLLGATE_ADMIN_KEY: "changeme" }],
    ["TOLLGATE_ADMIN_KEY", { TOLLGATE_ADMIN_KEY: adminKeyPlaceholder }],
    ["TOLLGATE_ADMIN_KEY", { TOLLGATE_ADMIN_KEY: key.slice(0, 31) }],
    ["X402_ADMIN_KEY", { X402_ADMIN_KEY: "s".repeat(40) }],
    ["X402_ADMIN_KEY", { X402_ADMIN_KEY: key, TOLLGATE_ADMIN_KEY: key }],
    ["TOLLGATE_ADMIN_PORT", { TOLLGATE_ADMIN_KEY: key, TOLLGATE_ADMIN_PORT: "admin" }],
    ["TOLLGATE_ADMIN_PORT", { TOLLGATE_ADMIN_KEY: key, TOLLGATE_ADMIN_PORT: "4020" }],
  ])("refuses to start naming %s, never echoing the key", (variable, environment) => {
    const { option, reason } = refusal({ ...base, ...environment });
    expect(option.split(", ")).toContain(variable);
    for (const value of Object.values(environment))
      if (value.length >= 16) expect(reason).not.toContain(value);
  });

  it("answers on its own listener: a token revoked there is refused by the paid API", async () => {
    const facilitator = await serveFetch({
      fetch: () => Response.json({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:8453" }] }),
    });
    opened.push(facilitator);
    const api = createPaidApi({
      config: loadConfig({
        X402_PAYAI_ENABLED: "false",
        X402_FACILITATOR_URLS: facilitator.url,
        X402_PAYAI_MERCHANT_ADDRESS: "0x1111111111111111111111111111111111111111",
        X402_DIRECT_ENABLED: "false",
        TOLLGATE_ADMIN_KEY: key,
      }),
      chains: {},
      settlementChecks: { "eip155:8453": false },
    });
    if (api.admin === undefined) throw new Error("no admin API");
    const paid = await serveFetch({ fetch: api.fetch });
    const admin = await serveFetch({ fetch: api.admin.fetch });
    opened.push(paid, admin);
    const { token } = await api.paywall.issueToken({ amount: "$1" });
    const search = () => fetch(`${paid.url}/v1/search?q=x`, { headers: { "x-payment-token": token } });
    expect((await search()).status).toBe(200);
    const post = (path: string, body: unknown) =>
      fetch(`${admin.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // The paid API's own listener has no admin routes.
    expect((await fetch(`${paid.url}/stats`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(
      404,
    );
    expect((await post("/switches", { lanes: { token: false } })).status).toBe(200);
    expect((await search()).status).toBe(402);
    expect((await post("/switches", { lanes: { token: true } })).status).toBe(200);
    expect((await search()).status).toBe(200);
    expect(await (await post("/tokens/revoke", { token })).json()).toMatchObject({ revoked: true });
    const refused = await search();
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { error: string }).error).toBe("token_unknown");
    await api.paywall.close();
  });
});
