import { isTollgateError } from "@tollgate/shared";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../../server/test/services.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { createPostgresLedger } from "./createPostgresLedger.js";
import { clientSchemaVersion, migrate } from "./migrations.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
const schema = `tollgate_client_ledger_${process.pid}_${Date.now()}`;

afterAll(async () => {
  if (!up) return;
  const pool = new pg.Pool({ connectionString, max: 1 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
});

const entry = (key: string): LedgerEntry => ({
  key,
  idempotencyKey: "k",
  state: "pending",
  url: "http://127.0.0.1:1/paid",
  method: "GET",
  lane: "facilitator",
  proof: { name: "PAYMENT-SIGNATURE", value: "proof" },
  offer: { network: "eip155:84532", asset: "0xasset", payTo: "0xpayee", amount: "10000" },
  claim: "0x1",
  createdAt: 1,
  updatedAt: 1,
});

describe.skipIf(!up)("createPostgresLedger", () => {
  it("applies its migrations once; migrate run again applies nothing", async () => {
    const pool = new pg.Pool({ connectionString, max: 2 });
    try {
      const ledger = await createPostgresLedger({ pool, schema });
      expect(await migrate({ pool, schema })).toEqual({ applied: [], version: clientSchemaVersion });
      await ledger.close();
    } finally {
      await pool.end();
    }
  });

  it("a process whose lease connection broke records nothing (CLIENT__LEDGER_LEASE_LOST)", async () => {
    const ledger = await createPostgresLedger({
      pool: { connectionString, max: 2 },
      schema,
      onBackgroundError: () => undefined,
    });
    const admin = new pg.Pool({ connectionString, max: 1 });
    const key = `sha256:${crypto.randomUUID()}`;
    try {
      const error = await ledger
        .lease(key, async () => {
          // The connection holding the advisory lock dies (a network cut, a failover): the lock goes with it.
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_locks
             WHERE locktype = 'advisory' AND granted
               AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
            [`tollgate-client:ledger:${schema}:default:${key}`],
          );
          await ledger.put(entry(key));
        })
        .catch((e: unknown) => e);
      expect(isTollgateError(error, "CLIENT__LEDGER_LEASE_LOST")).toBe(true);
      expect(await ledger.get(key)).toBeUndefined();
      // The lock is free again: the next lease on the request is granted.
      expect(await ledger.lease(key, async () => "granted")).toBe("granted");
    } finally {
      await admin.end();
      await ledger.close();
    }
  });
});
