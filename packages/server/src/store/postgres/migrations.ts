import { applySqlMigrations, checkedSchemaName, type SqlMigration, TollgateError } from "@tollgate/shared";
import type { SqlExecutor } from "./sqlExecutor.js";

/** One versioned step of the store's schema. Versions only grow; a published step never changes. */
type Migration = SqlMigration;

/** The store's schema, step by step. Money is NUMERIC(78, 0) (any `bigint`), times are Unix seconds (BIGINT). */
const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "claims, tokens, debit operations, idempotency records, analytics records",
    statements: (s) => [
      `CREATE TABLE ${s}.claims (
        key text PRIMARY KEY,
        state text NOT NULL,
        owner text NOT NULL,
        proof_hash text NOT NULL,
        idempotency_key text,
        nonce text NOT NULL,
        expires_at bigint
      )`,
      `CREATE INDEX claims_expires_at ON ${s}.claims (expires_at) WHERE expires_at IS NOT NULL`,
      `CREATE TABLE ${s}.tokens (
        token_hash text PRIMARY KEY,
        balance numeric(78, 0) NOT NULL CHECK (balance >= 0),
        expires_at bigint NOT NULL
      )`,
      `CREATE INDEX tokens_expires_at ON ${s}.tokens (expires_at)`,
      `CREATE TABLE ${s}.debit_operations (
        operation_key text PRIMARY KEY,
        balance numeric(78, 0),
        token_expires_at bigint,
        expires_at bigint NOT NULL
      )`,
      `CREATE INDEX debit_operations_expires_at ON ${s}.debit_operations (expires_at)`,
      `CREATE TABLE ${s}.idempotency (
        key text PRIMARY KEY,
        state text NOT NULL,
        owner text,
        proof_hash text NOT NULL,
        status integer,
        headers jsonb,
        body bytea,
        nonce text NOT NULL,
        expires_at bigint NOT NULL
      )`,
      `CREATE INDEX idempotency_expires_at ON ${s}.idempotency (expires_at)`,
      `CREATE TABLE ${s}.records (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        type text NOT NULL,
        route text,
        lane text,
        reason text,
        facilitator text,
        network text,
        amount numeric(78, 0),
        payer text,
        duration_ms double precision
      )`,
      `CREATE INDEX records_at ON ${s}.records (at)`,
    ],
  },
  {
    version: 2,
    name: "claims.moved_at: when a claim was made or last moved (the stale-pending rule)",
    statements: (s) => [
      // Rows of before (and rows a not yet upgraded process writes) count as moved now: never stale at once.
      `ALTER TABLE ${s}.claims
        ADD COLUMN moved_at bigint NOT NULL DEFAULT (floor(extract(epoch FROM now())))::bigint`,
    ],
  },
];

/** The newest schema version this build of the store needs. */
export const schemaVersion: number = migrations.at(-1)?.version ?? 0;

/** The schema name, checked (it is spliced into statements, so only a plain identifier is accepted). */
export const checkedSchema: (schema: string) => string = checkedSchemaName;

/** Parameters of `migrate`. */
export type MigrateParameters = Readonly<{
  /** Where to run the statements (`pg` pool or PGlite behind the `SqlExecutor` seam). */
  executor: SqlExecutor;
  /**
   * The PostgreSQL schema that holds the store's tables (created when missing).
   * @default "tollgate"
   */
  schema?: string;
}>;

/** What `migrate` did. */
export type MigrateReturnType = Readonly<{ applied: readonly number[]; version: number }>;

/**
 * Brings the store's tables up to the newest version: the missing steps run in one transaction with their
 * entries in `<schema>.migrations`, under a transaction-scoped advisory lock, so processes starting together
 * apply each step once. `createPostgresStore` calls it at start unless `migrate: false`; operators who run
 * migrations separately call it themselves.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { migrate, poolExecutor } from "@tollgate/server/postgres";
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate({ executor: poolExecutor(pool) });
 * ```
 * @throws `SERVER__STORE_FAILED` when the database refuses a statement or cannot be reached.
 * @throws `SERVER__INVALID_CONFIG` for a schema name that is not a plain identifier.
 */
export async function migrate(parameters: MigrateParameters): Promise<MigrateReturnType> {
  const { executor } = parameters;
  const schema = checkedSchema(parameters.schema ?? "tollgate");
  try {
    return await executor.transaction(async (query) => {
      const applied = await applySqlMigrations({ query, schema, lockName: "tollgate:migrate", migrations });
      return { applied, version: schemaVersion };
    });
  } catch (error) {
    throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "migrate" }, cause: error });
  }
}
