import pg from "pg";
import { serviceForTests } from "../../../test/services.js";
import { describeStoreConformance } from "../../../test/storeConformance.js";
import { createPostgresStore } from "./createPostgresStore.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// A schema of this file only: parallel runs do not collide, and it is dropped at the end.
const schema = `tollgate_conformance_${process.pid}_${Date.now()}`;

describeStoreConformance({
  name: "postgres",
  skip: !up,
  open: async (now) => {
    const store = await createPostgresStore({
      pool: { connectionString, max: 10 },
      schema,
      now,
      sweepEverySeconds: 0,
    });
    return {
      store,
      close: async () => {
        await store.close();
        const pool = new pg.Pool({ connectionString, max: 1 });
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
        await pool.end();
      },
    };
  },
});
