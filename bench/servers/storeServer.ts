/**
 * The paid server of the store benches, in its own process so its CPU can be read alone: Tollgate's paywall on
 * node:http (`serveFetch`) with one store (`memory`, `embedded` in a temporary data directory, `postgres` in a
 * schema of its own on 127.0.0.1:5432, `redis` under a key prefix of its own on 127.0.0.1:6379), analytics on or
 * off (`maxQueue: 0`: every record dropped before it is built or written). argv[2] is a JSON `StoreServerConfig`.
 * Serves `GET /paid` ($0.01) on the facilitator lane (the facilitator at `facilitatorUrl`) and the token lane, and
 * beside it: `GET /__cpu` (its CPU microseconds and dropped analytics records), `POST /__token` (issues a token
 * worth $1,000,000) and `POST /__close` (flushes analytics, closes the store, removes its data, exits).
 * Prints `URL http://…` once listening.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore, createPaywall, type Store, serveFetch } from "@tollgate/server";
import { createEmbeddedStore } from "@tollgate/server/embedded";
import { createPostgresStore } from "@tollgate/server/postgres";
import { createRedisStore } from "@tollgate/server/redis";
import { Redis } from "ioredis";
import pg from "pg";

/** What `storeServer.ts` runs: its store, whether analytics records are kept, its facilitator and payee. */
export type StoreServerConfig = Readonly<{
  store: "memory" | "embedded" | "postgres" | "redis";
  analytics: boolean;
  facilitatorUrl: string;
  payTo: string;
}>;

/** PostgreSQL of the development machine and CI (trust auth). */
const postgresUrl = "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = "redis://127.0.0.1:6379";

const config = JSON.parse(process.argv[2] ?? "{}") as StoreServerConfig;
const suffix = randomBytes(4).toString("hex");

async function openStore(): Promise<{ store: Store; close(): Promise<void> }> {
  if (config.store === "memory") return { store: createMemoryStore(), close: async () => {} };
  if (config.store === "embedded") {
    const dataDir = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
    const store = await createEmbeddedStore({ dataDir });
    return {
      store,
      close: async () => {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  if (config.store === "postgres") {
    const schema = `bench_${suffix}`;
    const pool = new pg.Pool({ connectionString: postgresUrl });
    const store = await createPostgresStore({ pool, schema });
    return {
      store,
      close: async () => {
        await store.close();
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      },
    };
  }
  const prefix = `bench:${suffix}:`;
  const redis = new Redis(redisUrl);
  const store = await createRedisStore({ redis, prefix });
  return {
    store,
    close: async () => {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== "0");
      redis.disconnect();
    },
  };
}

async function start(): Promise<string> {
  const opened = await openStore();
  const paywall = createPaywall({
    routes: { "GET /paid": { price: "$0.01", description: "paid" } },
    networks: ["eip155:84532"],
    payTo: config.payTo,
    settlementChecks: { "base-sepolia": false },
    facilitators: [{ url: config.facilitatorUrl }],
    lanes: { direct: false },
    store: opened.store,
    ...(config.analytics ? {} : { analytics: { maxQueue: 0 } }),
  });
  await paywall.ready();
  const app = paywall.fetch(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/__cpu") {
      const usage = process.cpuUsage();
      return Response.json({ micros: usage.user + usage.system, dropped: paywall.analytics.dropped() });
    }
    if (path === "/__token" && request.method === "POST") {
      const { token } = await paywall.issueToken({ amount: "1000000" });
      return Response.json({ token });
    }
    if (path === "/__close" && request.method === "POST") {
      setImmediate(async () => {
        await paywall.close();
        await opened.close();
        process.exit(0);
      });
      return Response.json({ closing: true });
    }
    return Response.json({ ok: true });
  });
  return (await serveFetch({ fetch: app })).url;
}

start().then(
  (url) => process.stdout.write(`URL ${url}\n`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
