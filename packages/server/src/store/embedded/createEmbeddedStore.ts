import { PGlite } from "@electric-sql/pglite";
import { TollgateError } from "@tollgate/shared";
import type { CreateSqlStoreParameters, SqlStore } from "../postgres/createSqlStore.js";
import { openSqlStore, type SqlStoreSweepOptions } from "../postgres/openSqlStore.js";
import type { SqlExecutor, SqlQuery } from "../postgres/sqlExecutor.js";
import { takeWriterLock } from "./writerLock.js";

/**
 * The `SqlExecutor` of a PGlite database. PGlite runs one statement or transaction at a time, so a
 * transaction never interleaves with another caller's statements.
 *
 * @example
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { pgliteExecutor } from "@tollgate/server/embedded";
 * const executor = pgliteExecutor(await PGlite.create("./data"));
 * ```
 */
export function pgliteExecutor(db: PGlite): SqlExecutor {
  const query: SqlQuery = async (text, params) =>
    (await db.query<never>(text, params as unknown[] | undefined)).rows;
  return Object.freeze({
    query,
    transaction: <T>(run: (q: SqlQuery) => Promise<T>): Promise<T> =>
      db.transaction(async (tx) =>
        run(async (text, params) => (await tx.query<never>(text, params as unknown[] | undefined)).rows),
      ),
  });
}

/** Parameters of `createEmbeddedStore`. */
export type CreateEmbeddedStoreParameters = Omit<CreateSqlStoreParameters, "executor" | "schema"> &
  SqlStoreSweepOptions &
  Readonly<{
    /**
     * The directory that holds the database (created when missing). One process writes it at a time: a second
     * one is refused. `memory://` keeps it in memory (tests).
     */
    dataDir: string;
  }>;

/** An embedded store: a `Store` with `sweep`, and `close` (stops the sweeps, closes the database, unlocks). */
export type EmbeddedStore = SqlStore & Readonly<{ close(): Promise<void> }>;

/**
 * A durable `Store` in a local data directory, with no server to run: PostgreSQL compiled to WASM (PGlite)
 * running the PostgreSQL store's own SQL and migrations. For one server process: a lock file in the directory
 * refuses a second writer (several processes share state through `@tollgate/server/postgres` instead).
 * Opening takes a few seconds (PGlite starts PostgreSQL); open once at start.
 *
 * @example
 * ```ts
 * import { createPaywall } from "@tollgate/server";
 * import { createEmbeddedStore } from "@tollgate/server/embedded";
 * const store = await createEmbeddedStore({ dataDir: process.env.TOLLGATE_DATA_DIR ?? "./tollgate-data" });
 * const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store, … });
 * ```
 * @throws `SERVER__STORE_FAILED` when another live process holds the directory, or PGlite cannot open it.
 */
export async function createEmbeddedStore(parameters: CreateEmbeddedStoreParameters): Promise<EmbeddedStore> {
  const { dataDir, ...rest } = parameters;
  const unlock = dataDir.includes("://") ? () => {} : takeWriterLock(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    unlock();
    throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "open" }, cause: error });
  }
  return openSqlStore({
    ...rest,
    executor: pgliteExecutor(db),
    migrate: true,
    release: async () => {
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  });
}
