import pg from "pg";
import { serviceForTests } from "../../../../packages/server/test/services.js";
import { describeStoreOutage } from "./storeOutageScenario.js";

// With CI=true a missing PostgreSQL is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// A schema of this file only: parallel runs do not collide, and it is dropped at the end.
const schema = `tollgate_readyz_${process.pid}_${Date.now()}`;

describeStoreOutage({
  name: "PostgreSQL store (DATABASE_URL)",
  skip: !up,
  servicePort: 5432,
  storeEnvironment: (port) => ({
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test`,
    TOLLGATE_POSTGRES_SCHEMA: schema,
  }),
  cleanup: async () => {
    if (!up) return;
    const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:5432/test", max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  },
});
