import pg from "pg";
import { serviceForTests } from "../../../../packages/server/test/services.js";
import { describeAnalyticsScenarios } from "./analyticsScenarios.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
// With CI=true a missing PostgreSQL is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// A schema per scenario, of this file only: parallel runs do not collide, and they are dropped at the end.
const schemaOf = (store: string) => `tollgate_analytics_${process.pid}_${startedAt}_${store}`;
const startedAt = Date.now();
const schemas = new Set<string>();

describeAnalyticsScenarios({
  name: "PostgreSQL store (DATABASE_URL)",
  skip: !up,
  storeEnvironment: (store) => {
    const schema = schemaOf(store);
    schemas.add(schema);
    return { DATABASE_URL: connectionString, TOLLGATE_POSTGRES_SCHEMA: schema };
  },
  cleanup: async () => {
    const pool = new pg.Pool({ connectionString, max: 1 });
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  },
});
