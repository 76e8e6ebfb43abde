import { TollgateError } from "../errors/TollgateError.js";

/** One versioned step of a store's SQL schema: its statements, given the schema name. */
export type SqlMigration = Readonly<{
  version: number;
  name: string;
  statements: (schema: string) => string[];
}>;

/** Runs one SQL statement inside the caller's transaction and answers its rows. */
export type SqlQuery = <R extends Record<string, unknown>>(
  text: string,
  params?: readonly unknown[],
) => Promise<readonly R[]>;

/** A PostgreSQL schema name: spliced into statements, so only a plain identifier is accepted. */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The schema name, checked: it is spliced into SQL statements, so only a plain identifier (lower case, digits and
 * `_`, at most 63 characters) is accepted.
 *
 * @example
 * ```ts
 * import { checkedSchemaName } from "@tollgate/shared";
 * const s = checkedSchemaName("tollgate"); // "tollgate"
 * ```
 * @throws `SERVER__INVALID_CONFIG` for anything else.
 */
export function checkedSchemaName(schema: string): string {
  if (!schemaPattern.test(schema)) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "schema", reason: "a plain identifier: lower case, digits and _ (at most 63)" },
    });
  }
  return schema;
}

/** Parameters of `applySqlMigrations`. */
export type ApplySqlMigrationsParameters = Readonly<{
  /** Runs a statement in the transaction the caller opened (and commits or rolls back). */
  query: SqlQuery;
  /** The schema that holds the tables (checked; created when missing). */
  schema: string;
  /** Names the advisory lock, so processes starting together apply each step once (e.g. `tollgate:migrate`). */
  lockName: string;
  /** Every step, oldest first. */
  migrations: readonly SqlMigration[];
}>;

/**
 * Applies the steps a schema lacks, inside the caller's transaction: takes a transaction-scoped advisory lock named
 * after `lockName` and the schema, creates the schema and its `migrations` table when missing, runs each missing
 * step's statements and records it. The server's store and the client's shared ledger both use it.
 *
 * @example
 * ```ts
 * import { applySqlMigrations } from "@tollgate/shared";
 * const applied = await applySqlMigrations({ query, schema: "tollgate", lockName: "tollgate:migrate", migrations });
 * ```
 * @returns The versions applied now.
 */
export async function applySqlMigrations(parameters: ApplySqlMigrationsParameters): Promise<number[]> {
  const { query, lockName, migrations } = parameters;
  const schema = checkedSchemaName(parameters.schema);
  await query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${lockName}:${schema}`]);
  await query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await query(
    `CREATE TABLE IF NOT EXISTS ${schema}.migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const done = await query<{ version: number }>(`SELECT version FROM ${schema}.migrations`);
  const have = new Set(done.map((row) => Number(row.version)));
  const applied: number[] = [];
  for (const migration of migrations) {
    if (have.has(migration.version)) continue;
    for (const statement of migration.statements(schema)) await query(statement);
    await query(`INSERT INTO ${schema}.migrations (version, name) VALUES ($1, $2)`, [
      migration.version,
      migration.name,
    ]);
    applied.push(migration.version);
  }
  return applied;
}
