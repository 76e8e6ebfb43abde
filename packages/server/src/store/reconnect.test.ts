import { isTollgateError } from "@tollgate/shared";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../test/services.js";
import { startTcpProxy } from "../../test/tcpProxy.js";
import { createPostgresStore } from "./postgres/createPostgresStore.js";
import { createRedisStore } from "./redis/createRedisStore.js";
import type { Store } from "./store.js";

const pgUp = await serviceForTests({ name: "PostgreSQL", port: 5432 });
const redisUp = await serviceForTests({ name: "Redis", port: 6379 });
const schema = `tollgate_reconnect_${process.pid}_${Date.now()}`;
const prefix = `tollgate-reconnect:${process.pid}:${Date.now()}:`;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const claim = (owner: string) => ({ state: "pending" as const, owner, proofHash: "p" });

/** Retries `step` until it resolves (the client reconnecting), for at most 15 s. */
async function eventually<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= 150) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The store fails with SERVER__STORE_FAILED while its server is away, and works again once it is back. */
async function outageAndBack(store: Store, proxy: Awaited<ReturnType<typeof startTcpProxy>>): Promise<void> {
  expect(await store.claim({ key: "before", claim: claim("a") })).toEqual({ claimed: true });
  await proxy.down();
  const failure = await store.claim({ key: "during", claim: claim("a") }).catch((e) => e);
  expect(isTollgateError(failure, "SERVER__STORE_FAILED")).toBe(true);
  await proxy.up();
  expect(await eventually(() => store.claim({ key: "after", claim: claim("a") }))).toEqual({ claimed: true });
  expect(await store.getClaim("before")).toMatchObject({ owner: "a" });
}

describe("a store whose server goes away and comes back", () => {
  it.skipIf(!pgUp)(
    "PostgreSQL: fails with SERVER__STORE_FAILED, then works again without a restart",
    async () => {
      const proxy = await startTcpProxy(5432);
      const store = await createPostgresStore({
        pool: {
          host: "127.0.0.1",
          port: proxy.port,
          user: "postgres",
          database: "test",
          connectionTimeoutMillis: 2_000,
        },
        schema,
        sweepEverySeconds: 0,
        onBackgroundError: () => {},
      });
      cleanups.push(async () => {
        await store.close();
        await proxy.down();
        const admin = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/test", max: 1 });
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      });
      await outageAndBack(store, proxy);
    },
  );

  it.skipIf(!redisUp)(
    "Redis: fails with SERVER__STORE_FAILED, then works again without a restart",
    async () => {
      const proxy = await startTcpProxy(6379);
      const store = await createRedisStore({
        redis: `redis://127.0.0.1:${proxy.port}`,
        prefix,
        onBackgroundError: () => {},
      });
      cleanups.push(async () => {
        await store.close().catch(() => undefined);
        await proxy.down();
        const redis = new Redis("redis://127.0.0.1:6379");
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      });
      await outageAndBack(store, proxy);
    },
  );
});
