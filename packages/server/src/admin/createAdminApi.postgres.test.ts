import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../test/services.js";
import { serveFetch } from "../adapters/node.js";
import { createRuntimeSwitches } from "../config/runtimeSwitches.js";
import { createPaywall } from "../paywall.js";
import { createPostgresStore } from "../store/postgres/createPostgresStore.js";
import { createAdminApi } from "./createAdminApi.js";

/** The admin API over real HTTP on a PostgreSQL store shared with a paywall. */
const connectionString = "postgres://postgres@127.0.0.1:5432/test";
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// A schema of this file only, dropped at the end.
const schema = `tollgate_admin_${process.pid}_${Date.now()}`;
const key = "Lm4qR8vT2xZ6nB0wK3yP7cF1hJ5sD9gA";

afterAll(async () => {
  if (!up) return;
  const pool = new pg.Pool({ connectionString, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
});

describe.skipIf(!up)("the admin API on PostgreSQL", () => {
  it("reports the paywall's records, lists pending settlements, and revokes a token the paywall then refuses", async () => {
    const store = await createPostgresStore({ pool: { connectionString }, schema, sweepEverySeconds: 0 });
    const switches = createRuntimeSwitches();
    const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store, switches });
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    const admin = await serveFetch({ fetch: createAdminApi({ key, store, switches }).fetch });
    try {
      const call = async (path: string, body?: unknown) => {
        const response = await fetch(`${admin.url}${path}`, {
          method: body === undefined ? "GET" : "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const pay = (token: string) =>
        app(new Request("http://api.test/paid", { headers: { "x-payment-token": token } }));
      const { token } = await paywall.issueToken({ amount: "$0.02" });
      expect((await pay(token)).status).toBe(200);
      await paywall.analytics.flush();
      expect((await call("/stats")).body).toMatchObject({ total: { attempts: 1, successes: 1 } });

      const payer = `0x${"cd".repeat(20)}`;
      const nonce = `0x${"34".repeat(32)}`;
      const claimKey = `x402:eip155:8453:${payer}:${nonce}`;
      await store.claim({ key: claimKey, claim: { state: "pending", owner: "o", proofHash: "p" } });
      await store.transitionClaim({ key: claimKey, from: ["pending"], to: "pending_settlement" });
      expect((await call("/settlements/pending")).body).toEqual({
        settlements: [
          {
            key: claimKey,
            network: "eip155:8453",
            family: "evm",
            payer,
            nonce,
            resolution: { status: "unresolvable", detail: "no resolver configured for eip155:8453" },
          },
        ],
        complete: true,
      });

      expect((await call("/tokens/lookup", { token })).body).toMatchObject({ balance: "10000" });
      expect((await call("/tokens/revoke", { token })).body).toMatchObject({ revoked: true });
      const refused = await pay(token);
      expect(refused.status).toBe(402);
      expect(((await refused.json()) as { error: string }).error).toBe("token_unknown");
    } finally {
      await admin.close();
      await paywall.close();
      await store.close();
    }
  });
});
