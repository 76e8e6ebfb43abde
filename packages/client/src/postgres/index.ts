/**
 * `@tollgate/client/postgres`: a payment ledger and a budget store on PostgreSQL (`pg`), so a fleet of agent
 * processes shares one ledger (never pay one request twice) and one set of budgets (never overspend).
 * @packageDocumentation
 */
export {
  type CreatePostgresBudgetStoreParameters,
  createPostgresBudgetStore,
  type PostgresBudgetStore,
} from "./createPostgresBudgetStore.js";
export {
  type CreatePostgresLedgerParameters,
  createPostgresLedger,
  type PostgresLedger,
} from "./createPostgresLedger.js";
export {
  clientSchemaVersion,
  type MigrateClientParameters,
  type MigrateClientReturnType,
  migrate,
} from "./migrations.js";
export type { PostgresConnectionParameters } from "./postgresPool.js";
