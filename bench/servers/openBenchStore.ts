import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore, type Store } from "@tollgate/server";
import { createEmbeddedStore } from "@tollgate/server/embedded";
import { createPostgresStore } from "@tollgate/server/postgres";
import { createRedisStore } from "@tollgate/server/redis";
import { Redis } from "ioredis";
import pg from "pg";

/** The stores a bench runs on. */
export type BenchStoreKind = "memory" | "embedded" | "postgres" | "redis";

/** PostgreSQL of the development machine and CI (trust auth). */
const postgresUrl = "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = "redis://127.0.0.1:6379";

/**
 * Opens a fresh store of `kind` for a bench: `memory`; `embedded` in a new temporary data directory; `postgres` in a
 * schema of its own on 127.0.0.1:5432 (database `test`); `redis` under a key prefix of its own on 127.0.0.1:6379.
 * `close` closes it and removes its directory, schema or keys.
 */
export async function openBenchStore(
  kind: BenchStoreKind,
): Promise<{ store: Store; close(): Promise<void> }> {
  const suffix = randomBytes(4).toString("hex");
  if (kind === "memory") return { store: createMemoryStore(), close: async () => {} };
  if (kind === "embedded") {
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
  if (kind === "postgres") {
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
