import type { SqlQuery } from "@tollgate/shared";

/** One SQL statement with positional parameters (`$1`, `$2`, …), answering its rows. */
export type { SqlQuery };

/**
 * The seam between Tollgate's SQL and a PostgreSQL driver: `pg`'s pool and PGlite both implement it, so the
 * PostgreSQL store and the embedded store run the very same statements.
 *
 * @example
 * ```ts
 * import type { SqlExecutor } from "@tollgate/server/postgres";
 * const executor: SqlExecutor = {
 *   query: async (text, params) => (await pool.query(text, params as unknown[])).rows,
 *   transaction: async (run) => { … BEGIN; await run(query); COMMIT … },
 * };
 * ```
 */
export type SqlExecutor = Readonly<{
  /** Runs one statement on any connection (each statement is atomic on its own). */
  query: SqlQuery;
  /** Runs `run` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction: <T>(run: (query: SqlQuery) => Promise<T>) => Promise<T>;
}>;
