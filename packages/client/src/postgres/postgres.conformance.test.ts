import pg from "pg";
import { serviceForTests } from "../../../server/test/services.js";
import { describeBudgetStoreConformance, describeLedgerConformance } from "../../test/storeConformance.js";
import { createPostgresBudgetStore } from "./createPostgresBudgetStore.js";
import { createPostgresLedger } from "./createPostgresLedger.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// A schema of this file only: parallel runs do not collide, and it is dropped at the end.
const schema = `tollgate_client_conformance_${process.pid}_${Date.now()}`;

async function dropSchema(): Promise<void> {
  const pool = new pg.Pool({ connectionString, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
}

describeBudgetStoreConformance({
  name: "postgres",
  skip: !up,
  shared: true,
  open: async () => {
    const store = await createPostgresBudgetStore({ pool: { connectionString, max: 10 }, schema });
    return {
      store,
      close: async () => {
        await store.close();
        await dropSchema();
      },
    };
  },
});

describeLedgerConformance({
  name: "postgres",
  skip: !up,
  shared: true,
  open: async ({ leaseWaitMs }) => {
    const store = await createPostgresLedger({
      pool: { connectionString, max: 10 },
      schema: `${schema}_ledger`,
      leaseWaitMs,
    });
    return {
      store,
      close: async () => {
        await store.close();
        const pool = new pg.Pool({ connectionString, max: 1 });
        await pool.query(`DROP SCHEMA IF EXISTS ${schema}_ledger CASCADE`);
        await pool.end();
      },
    };
  },
});
