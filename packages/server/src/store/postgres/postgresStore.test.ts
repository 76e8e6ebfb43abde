import { isTollgateError } from "@tollgate/shared";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../../test/services.js";
import { createPostgresStore, poolExecutor } from "./createPostgresStore.js";
import { migrate, schemaVersion } from "./migrations.js";

const connectionString = "postgres://postgres@127.0.0.1:5432/test";
const up = await serviceForTests({ name: "PostgreSQL", port: 5432 });
// Schemas of this file only, dropped at the end.
const base = `tollgate_pg_${process.pid}_${Date.now()}`;
const admin = new pg.Pool({ connectionString, max: 2 });
let schemas = 0;
const freshSchema = () => `${base}_${++schemas}`;

afterAll(async () => {
  for (let i = 1; i <= schemas; i++) await admin.query(`DROP SCHEMA IF EXISTS ${base}_${i} CASCADE`);
  await admin.end();
});

const claim = (owner: string) => ({ state: "pending" as const, owner, proofHash: "p" });

describe.skipIf(!up)("createPostgresStore", () => {
  it("applies versioned migrations once, also when processes start together", async () => {
    const schema = freshSchema();
    const executor = poolExecutor(admin);
    const runs = await Promise.all([migrate({ executor, schema }), migrate({ executor, schema })]);
    expect(runs.flatMap((r) => r.applied)).toEqual([1, 2]);
    expect(schemaVersion).toBe(2);
    expect(await migrate({ executor, schema })).toEqual({ applied: [], version: schemaVersion });
    const { rows } = await admin.query(`SELECT version FROM ${schema}.migrations ORDER BY version`);
    expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    const store = await createPostgresStore({ pool: { connectionString }, schema, sweepEverySeconds: 0 });
    expect(await store.claim({ key: "k", claim: claim("a") })).toEqual({ claimed: true });
    await store.close();
  });

  it("upgrades a version 1 schema: its claims get a moved_at and stay claimed", async () => {
    const schema = freshSchema();
    const executor = poolExecutor(admin);
    await migrate({ executor, schema });
    // Back to version 1, as a database of an earlier release, with a claim of then.
    await admin.query(`ALTER TABLE ${schema}.claims DROP COLUMN moved_at`);
    await admin.query(`DELETE FROM ${schema}.migrations WHERE version = 2`);
    await admin.query(
      `INSERT INTO ${schema}.claims (key, state, owner, proof_hash, nonce) VALUES ('old', 'pending', 'a', 'p', 'n')`,
    );
    expect(await migrate({ executor, schema })).toEqual({ applied: [2], version: 2 });
    const store = await createPostgresStore({ pool: { connectionString }, schema, sweepEverySeconds: 0 });
    const old = await store.getClaim("old");
    expect(old).toMatchObject({ state: "pending", owner: "a", proofHash: "p" });
    expect(old?.movedAt).toBeGreaterThan(1_600_000_000);
    expect(await store.claim({ key: "old", claim: claim("b") })).toMatchObject({ claimed: false });
  });

  it("writes an analytics batch as rows, in order and exact, across several INSERT statements", async () => {
    const schema = freshSchema();
    const store = await createPostgresStore({ pool: { connectionString }, schema, sweepEverySeconds: 0 });
    const batch = Array.from({ length: 1_001 }, (_, i) => ({
      at: 1_800_000_000_000 + i,
      type: i % 2 ? "paid" : "refused",
      ...(i % 2
        ? { lane: "token" as const, amount: 2n ** 70n + BigInt(i), durationMs: i / 4 }
        : { reason: `r${i}` }),
    }));
    await store.recordBatch(batch);
    await store.recordBatch([]);
    const { rows } = await admin.query(
      `SELECT at::text, type, lane, reason, amount::text, duration_ms FROM ${schema}.records ORDER BY at`,
    );
    expect(rows).toHaveLength(1_001);
    expect(rows[0]).toEqual({
      at: "1800000000000",
      type: "refused",
      lane: null,
      reason: "r0",
      amount: null,
      duration_ms: null,
    });
    expect(rows[1_000]?.reason).toBe("r1000");
    expect(rows[999]).toEqual({
      at: "1800000000999",
      type: "paid",
      lane: "token",
      reason: null,
      amount: (2n ** 70n + 999n).toString(),
      duration_ms: 249.75,
    });
    await store.close();
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    const failure = await createPostgresStore({
      pool: { connectionString },
      schema: "x; DROP TABLE y",
    }).catch((e) => e);
    expect(isTollgateError(failure, "SERVER__INVALID_CONFIG")).toBe(true);
  });

  it("keeps claims, balances and responses across a restart, exact beyond 64 bits", async () => {
    const schema = freshSchema();
    const open = () => createPostgresStore({ pool: { connectionString }, schema, sweepEverySeconds: 0 });
    const first = await open();
    await first.claim({ key: "k", claim: claim("a") });
    await first.credit({ tokenHash: "t", amount: 2n ** 80n, expiresAt: 4_000_000_000 });
    await first.debit({ tokenHash: "t", amount: 1n, nowSeconds: 1, operationKey: "op" });
    const response = {
      proofHash: "p",
      status: 200,
      headers: [["a", "b"]] as [string, string][],
      body: new Uint8Array([0, 255]),
    };
    await first.reserveResponse({ key: "r", owner: "a", proofHash: "p", expiresAt: 4_000_000_000 });
    const kept = { state: "kept" as const, response };
    await first.finishResponse({ key: "r", owner: "a", record: kept, expiresAt: 4_000_000_000 });
    await first.close();
    const second = await open();
    expect(await second.claim({ key: "k", claim: claim("b") })).toMatchObject({ claimed: false });
    expect(await second.debit({ tokenHash: "t", amount: 1n, nowSeconds: 1, operationKey: "op" })).toEqual({
      ok: true,
      balance: 2n ** 80n - 1n,
      expiresAt: 4_000_000_000,
      replayed: true,
    });
    expect(
      await second.reserveResponse({ key: "r", owner: "b", proofHash: "p", expiresAt: 4_000_000_000 }),
    ).toEqual({ reserved: false, existing: kept });
    await second.close();
  });

  it("gives one proof to exactly one of 200 claims split between two pools (two servers)", async () => {
    const schema = freshSchema();
    const a = await createPostgresStore({ pool: { connectionString, max: 5 }, schema, sweepEverySeconds: 0 });
    const b = await createPostgresStore({ pool: { connectionString, max: 5 }, schema, sweepEverySeconds: 0 });
    await a.credit({ tokenHash: "t", amount: 10n, expiresAt: 4_000_000_000 });
    const [claims, debits] = await Promise.all([
      Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).claim({ key: "proof", claim: claim(`r${i}`) })),
      ),
      Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).debit({ tokenHash: "t", amount: 1n, nowSeconds: 1 }),
        ),
      ),
    ]);
    expect(claims.filter((r) => r.claimed)).toHaveLength(1);
    expect(debits.filter((r) => r.ok)).toHaveLength(10);
    expect(await b.refund({ tokenHash: "t", amount: 0n })).toEqual({ balance: 0n, expiresAt: 4_000_000_000 });
    await Promise.all([a.close(), b.close()]);
  });

  it("ignores expired rows, and sweeps them in bounded batches", async () => {
    const schema = freshSchema();
    let now = 1_000_000;
    const store = await createPostgresStore({
      pool: { connectionString },
      schema,
      now: () => now,
      sweepEverySeconds: 0,
    });
    for (let i = 0; i < 5; i++) await store.claim({ key: `c${i}`, claim: claim("a"), expiresAt: 1_010 });
    await store.claim({ key: "permanent", claim: claim("a") });
    now = 1_010_000;
    expect(await store.getClaim("c0")).toBeUndefined();
    const count = async () =>
      Number((await admin.query(`SELECT count(*) FROM ${schema}.claims`)).rows[0].count);
    expect(await count()).toBe(6);
    expect(await store.sweep({ batchSize: 2 })).toEqual({ deleted: 2 });
    expect(await count()).toBe(4);
    expect(await store.sweep({ batchSize: 10 })).toEqual({ deleted: 3 });
    expect(await store.sweep()).toEqual({ deleted: 0 });
    expect(await store.getClaim("permanent")).toMatchObject({ owner: "a" });
    await store.close();
  });
});
