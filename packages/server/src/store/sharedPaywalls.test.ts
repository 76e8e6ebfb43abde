import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../test/services.js";
import { createPaywall } from "../paywall.js";
import { createPostgresStore } from "./postgres/createPostgresStore.js";
import { createRedisStore } from "./redis/createRedisStore.js";
import type { Store } from "./store.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = "redis://127.0.0.1:6379";
const pgUp = await serviceForTests({ name: "PostgreSQL", port: 5432 });
const redisUp = await serviceForTests({ name: "Redis", port: 6379 });
const schema = `tollgate_shared_${process.pid}_${Date.now()}`;
const prefix = `tollgate-shared:${process.pid}:${Date.now()}:`;

afterAll(async () => {
  if (pgUp) {
    const admin = new pg.Pool({ connectionString, max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
  if (redisUp) {
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});

type Opened = Store & Readonly<{ close(): Promise<void> }>;
const backends: [name: string, up: boolean, open: () => Promise<Opened>][] = [
  [
    "PostgreSQL",
    pgUp,
    () => createPostgresStore({ pool: { connectionString, max: 5 }, schema, sweepEverySeconds: 0 }),
  ],
  ["Redis", redisUp, () => createRedisStore({ redis: redisUrl, prefix })],
];

describe("two paywalls (two servers) sharing one store", () => {
  for (const [name, up, open] of backends) {
    it.skipIf(!up)(
      `${name}: one prepaid token spent from both at once buys exactly what it holds`,
      async () => {
        const stores = [await open(), await open()] as const;
        let served = 0;
        const apps = stores.map((store) =>
          createPaywall({ routes: { "GET /paid": "$0.01" }, store }).fetch(() => {
            served++;
            return new Response("content");
          }),
        );
        // Issued by the first paywall: the second one knows it only through the shared store.
        const issuer = createPaywall({ routes: { "GET /paid": "$0.01" }, store: stores[0] });
        const { token } = await issuer.issueToken({ amount: "$0.10" });
        const responses = await Promise.all(
          Array.from({ length: 40 }, (_, i) => {
            const app = apps[i % 2];
            if (app === undefined) throw new Error("no app");
            return app(new Request("http://api.test/paid", { headers: { "x-payment-token": token } }));
          }),
        );
        const statuses = responses.map((r) => r.status);
        expect(statuses.filter((s) => s === 200)).toHaveLength(10);
        expect(statuses.filter((s) => s === 402)).toHaveLength(30);
        expect(served).toBe(10);
        for (const store of stores) await store.close();
      },
    );
  }
});
