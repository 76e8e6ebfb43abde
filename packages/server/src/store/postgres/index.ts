export {
  type CreatePostgresStoreParameters,
  createPostgresStore,
  type PostgresStore,
  poolExecutor,
} from "./createPostgresStore.js";
export {
  type CreateSqlStoreParameters,
  createSqlStore,
  type SqlStore,
  type SweepParameters,
} from "./createSqlStore.js";
export { type MigrateParameters, type MigrateReturnType, migrate, schemaVersion } from "./migrations.js";
export type { SqlExecutor, SqlQuery } from "./sqlExecutor.js";
