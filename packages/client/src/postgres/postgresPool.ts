import { TollgateError } from "@tollgate/shared";
import pg from "pg";
import { checkedClientSchema, migrate } from "./migrations.js";

/** How a client store gets its PostgreSQL pool. */
export type PostgresConnectionParameters = Readonly<{
  /** A `pg` pool, or how to open one (`connectionString`, e.g. `DATABASE_URL`, pool size, timeouts). */
  pool: pg.Pool | pg.PoolConfig;
  /** The schema that holds the tables. @default "tollgate_client" */
  schema?: string;
  /** Which ledger or set of budgets of the schema this is: processes that name the same one share it. @default "default" */
  namespace?: string;
  /** Whether to apply missing migrations at start (`false`: an operator runs `migrate`). @default true */
  migrate?: boolean;
  /**
   * Receives what fails off the payment path (an idle pooled connection's error: the pool opens a fresh one).
   * @default console.warn
   */
  onBackgroundError?: (error: unknown) => void;
}>;

/** An opened pool with the store's schema and namespace. */
export type PostgresConnection = Readonly<{
  pool: pg.Pool;
  schema: string;
  namespace: string;
  /** Runs a step, turning any failure but a `TollgateError` into `SERVER__STORE_FAILED` naming `operation`. */
  guard<T>(operation: string, step: () => Promise<T>): Promise<T>;
  /** Runs `run` in one transaction on one connection. */
  transaction<T>(run: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}>;

/**
 * Opens (or adopts) the pool of a client store and applies its migrations.
 * @throws `SERVER__STORE_FAILED`, `SERVER__INVALID_CONFIG`
 */
export async function openPostgresConnection(
  parameters: PostgresConnectionParameters,
): Promise<PostgresConnection> {
  const {
    pool: poolOrConfig,
    namespace = "default",
    migrate: migrateAtStart = true,
    onBackgroundError = (error: unknown) => console.warn(error),
  } = parameters;
  const schema = checkedClientSchema(parameters.schema ?? "tollgate_client");
  const owned = !(poolOrConfig instanceof pg.Pool);
  const pool =
    poolOrConfig instanceof pg.Pool
      ? poolOrConfig
      : new pg.Pool({ connectionTimeoutMillis: 10_000, ...poolOrConfig });
  if (owned) pool.on("error", onBackgroundError);
  const guard: PostgresConnection["guard"] = async (operation, step) => {
    try {
      return await step();
    } catch (error) {
      if (error instanceof TollgateError) throw error;
      throw new TollgateError("SERVER__STORE_FAILED", { context: { operation }, cause: error });
    }
  };
  const transaction: PostgresConnection["transaction"] = async (run) => {
    const client = await pool.connect();
    let broken: unknown;
    try {
      await client.query("BEGIN");
      const result = await run(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        // The connection is unusable: the pool must discard it.
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken === undefined ? undefined : true);
    }
  };
  const close = async () => {
    if (owned) await pool.end();
  };
  if (migrateAtStart) {
    try {
      await migrate({ pool, schema });
    } catch (error) {
      await close();
      throw error;
    }
  }
  return Object.freeze({ pool, schema, namespace, guard, transaction, close });
}
