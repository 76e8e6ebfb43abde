import { applySqlMigrations, checkedSchemaName, type SqlMigration, TollgateError } from "@tollgate/shared";
import type pg from "pg";

/** One versioned step of the client stores' schema. Versions only grow; a published step never changes. */
type Migration = SqlMigration;

/** The schema, step by step. Money is NUMERIC(78, 0) (any `bigint`), times are milliseconds (BIGINT). */
const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "ledger entries, budget holds and their buckets",
    statements: (s) => [
      `CREATE TABLE ${s}.ledger_entries (
        namespace text NOT NULL,
        key text NOT NULL,
        slot text NOT NULL,
        state text NOT NULL,
        updated_at bigint NOT NULL,
        entry text NOT NULL,
        PRIMARY KEY (namespace, key, slot)
      )`,
      `CREATE INDEX ledger_entries_pending ON ${s}.ledger_entries (namespace) WHERE state = 'pending'`,
      `CREATE INDEX ledger_entries_answered ON ${s}.ledger_entries (namespace, updated_at) WHERE state <> 'pending'`,
      `CREATE TABLE ${s}.budget_holds (
        namespace text NOT NULL,
        id text NOT NULL,
        amount numeric(78, 0) NOT NULL CHECK (amount >= 0),
        at bigint NOT NULL,
        PRIMARY KEY (namespace, id)
      )`,
      `CREATE TABLE ${s}.budget_hold_buckets (
        namespace text NOT NULL,
        bucket text NOT NULL,
        hold_id text NOT NULL,
        at bigint NOT NULL,
        amount numeric(78, 0) NOT NULL,
        windowed boolean NOT NULL,
        PRIMARY KEY (namespace, bucket, hold_id)
      )`,
      `CREATE INDEX budget_hold_buckets_at ON ${s}.budget_hold_buckets (namespace, bucket, at)`,
      `CREATE INDEX budget_hold_buckets_hold ON ${s}.budget_hold_buckets (namespace, hold_id)`,
    ],
  },
];

/** The newest schema version this build needs. */
export const clientSchemaVersion: number = migrations.at(-1)?.version ?? 0;

/** The schema name, checked (it is spliced into statements, so only a plain identifier is accepted). */
export const checkedClientSchema: (schema: string) => string = checkedSchemaName;

/** Parameters of `migrate`. */
export type MigrateClientParameters = Readonly<{
  /** A `pg` pool (or client) to run the statements on. */
  pool: pg.Pool;
  /** The schema that holds the tables (created when missing). @default "tollgate_client" */
  schema?: string;
}>;

/** What `migrate` did. */
export type MigrateClientReturnType = Readonly<{ applied: readonly number[]; version: number }>;

/**
 * Brings the client stores' tables up to the newest version: the missing steps run in one transaction with their
 * entries in `<schema>.migrations`, under a transaction-scoped advisory lock, so agent processes starting together
 * apply each step once. `createPostgresLedger` and `createPostgresBudgetStore` call it at start unless
 * `migrate: false`; operators who run migrations separately call it themselves.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { migrate } from "@tollgate/client/postgres";
 * await migrate({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * ```
 * @throws `SERVER__STORE_FAILED` (the database refuses a statement or cannot be reached), `SERVER__INVALID_CONFIG`
 *   (a schema name that is not a plain identifier)
 */
export async function migrate(parameters: MigrateClientParameters): Promise<MigrateClientReturnType> {
  const { pool } = parameters;
  const schema = checkedClientSchema(parameters.schema ?? "tollgate_client");
  let client: pg.PoolClient | undefined;
  let broken = false;
  try {
    client = await pool.connect();
    await client.query("BEGIN");
    const connection = client;
    const applied = await applySqlMigrations({
      query: async (text, values) => (await connection.query(text, values as unknown[])).rows,
      schema,
      lockName: "tollgate-client:migrate",
      migrations,
    });
    await client.query("COMMIT");
    return { applied, version: clientSchemaVersion };
  } catch (error) {
    await client?.query("ROLLBACK").catch(() => {
      // The connection is unusable: the pool must discard it.
      broken = true;
    });
    throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "migrate" }, cause: error });
  } finally {
    client?.release(broken ? true : undefined);
  }
}
