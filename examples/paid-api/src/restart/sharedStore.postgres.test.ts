import pg from "pg";
import { serviceForTests } from "../../../../packages/server/test/services.js";
import { describeSharedStoreScenarios } from "./sharedStoreScenarios.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
// With CI=true a missing PostgreSQL is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// A schema of this file only: parallel runs do not collide, and it is dropped at the end.
const schema = `tollgate_shared_procs_${process.pid}_${Date.now()}`;

describeSharedStoreScenarios({
  name: "PostgreSQL store (DATABASE_URL)",
  skip: !up,
  storeEnvironment: () => ({ DATABASE_URL: connectionString, TOLLGATE_POSTGRES_SCHEMA: schema }),
  cleanup: async () => {
    const pool = new pg.Pool({ connectionString, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  },
});
