import pg from "pg";
import type { CreateSqlStoreParameters, SqlStore } from "./createSqlStore.js";
import { defaultOnBackgroundError, openSqlStore, type SqlStoreSweepOptions } from "./openSqlStore.js";
import type { SqlExecutor, SqlQuery } from "./sqlExecutor.js";

/**
 * The `SqlExecutor` of a `pg` pool: statements on any pooled connection, transactions on one checked-out
 * connection (`BEGIN` … `COMMIT`, `ROLLBACK` when the work throws).
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { migrate, poolExecutor } from "@tollgate/server/postgres";
 * await migrate({ executor: poolExecutor(new pg.Pool({ connectionString: process.env.DATABASE_URL })) });
 * ```
 */
export function poolExecutor(pool: pg.Pool): SqlExecutor {
  const on =
    (client: pg.Pool | pg.PoolClient): SqlQuery =>
    async (text, params) =>
      (await client.query(text, params as unknown[] | undefined)).rows;
  return Object.freeze({
    query: on(pool),
    async transaction<T>(run: (query: SqlQuery) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query("BEGIN");
        const result = await run(on(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: unknown) => {
          // The connection is unusable: the pool must discard it rather than hand it out again.
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.release(broken === undefined ? undefined : true);
      }
    },
  });
}

/** Parameters of `createPostgresStore`. */
export type CreatePostgresStoreParameters = Omit<CreateSqlStoreParameters, "executor"> &
  Omit<SqlStoreSweepOptions, "onBackgroundError"> &
  Readonly<{
    /** A `pg` pool, or how to open one (`connectionString`, e.g. `DATABASE_URL`, pool size, timeouts). */
    pool: pg.Pool | pg.PoolConfig;
    /**
     * Whether to apply missing migrations at start (`false`: an operator runs `migrate` separately).
     * @default true
     */
    migrate?: boolean;
    /**
     * Receives what fails off the paid path: a background sweep's `SERVER__STORE_FAILED` (the next sweep tries
     * again), and an idle pooled connection's error (the pool opens a fresh one).
     * @default console.warn
     */
    onBackgroundError?: (error: unknown) => void;
  }>;

/** A PostgreSQL store: a `Store` with `sweep`, and `close` (stops the sweeps; ends the pool it opened). */
export type PostgresStore = SqlStore & Readonly<{ close(): Promise<void> }>;

/**
 * A `Store` on PostgreSQL (`pg`), for several server processes sharing one database: claims, token balances,
 * idempotent responses and analytics records in the tables of `schema`, each step one atomic statement (or
 * one transaction), so concurrent processes never serve one proof twice or take a balance below zero. Missing
 * migrations are applied at start. The pool reconnects on its own after an outage; meanwhile every method
 * rejects with `SERVER__STORE_FAILED` and the paywall fails closed.
 *
 * @example
 * ```ts
 * import { createPaywall } from "@tollgate/server";
 * import { createPostgresStore } from "@tollgate/server/postgres";
 * const store = await createPostgresStore({ pool: { connectionString: process.env.DATABASE_URL } });
 * const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store, … });
 * ```
 * @throws `SERVER__STORE_FAILED` when the migrations cannot run (database unreachable, no permission).
 * @throws `SERVER__INVALID_CONFIG` for a schema name that is not a plain identifier.
 */
export async function createPostgresStore(parameters: CreatePostgresStoreParameters): Promise<PostgresStore> {
  const {
    pool: poolOrConfig,
    migrate: migrateAtStart = true,
    onBackgroundError = defaultOnBackgroundError,
    ...rest
  } = parameters;
  const owned = !(poolOrConfig instanceof pg.Pool);
  const pool = poolOrConfig instanceof pg.Pool ? poolOrConfig : new pg.Pool(poolOrConfig);
  // An idle connection that breaks must not crash the process: it is reported, the next query gets a fresh one.
  if (owned) pool.on("error", onBackgroundError);
  return openSqlStore({
    ...rest,
    executor: poolExecutor(pool),
    migrate: migrateAtStart,
    onBackgroundError,
    release: async () => {
      if (owned) await pool.end();
    },
  });
}
