import { TollgateError } from "@tollgate/shared";
import pg from "pg";
import { keepsEntry, type LedgerEntry, type PaymentLedger, parseLedgerEntry } from "../ledger/ledger.js";
import { abortableSleep } from "../request/abortableSleep.js";
import { openPostgresConnection, type PostgresConnectionParameters } from "./postgresPool.js";

/** Parameters of `createPostgresLedger`. */
export type CreatePostgresLedgerParameters = PostgresConnectionParameters &
  Readonly<{
    /**
     * How long a process waits for another's lease on the same logical request before `CLIENT__LEDGER_BUSY`.
     * @default 30_000
     */
    leaseWaitMs?: number;
    /**
     * How many connections the leases may hold at once, in a pool of their own (each paying request holds one while it
     * pays, so leases never starve the ledger's queries): a process paying more requests at once waits its turn.
     * @default 10
     */
    leaseConnections?: number;
    /** How many answered entries (of explicit `Idempotency-Key`s, consumed ones) are kept, oldest forgotten first. @default 10_000 */
    maxAnswered?: number;
  }>;

/** A ledger on PostgreSQL, and `close` (ends the pool it opened). */
export type PostgresLedger = PaymentLedger &
  Readonly<{
    /** Runs `run` holding the lease on the logical request `key` across processes (see `PaymentLedger.lease`). */
    lease: NonNullable<PaymentLedger["lease"]>;
    close(): Promise<void>;
  }>;

const poll = 25;

/**
 * A `PaymentLedger` on PostgreSQL (`pg`), shared by every agent process that names the same `schema` and
 * `namespace`: one row per ledger slot, each write one statement. Paying one logical request is leased across
 * processes by a session advisory lock (`pg_try_advisory_lock`, polled up to `leaseWaitMs`) on a connection held for
 * the pay-once section (from a pool of its own, `leaseConnections`); the proof is recorded on that same connection, which fences it: if the connection (and with
 * it the lock) is gone, nothing is recorded, so nothing is sent (`CLIENT__LEDGER_LEASE_LOST`). A process that crashes
 * drops its connection, and its lock with it. Missing migrations are applied at start.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createPostgresBudgetStore, createPostgresLedger } from "@tollgate/client/postgres";
 * const pool = { connectionString: process.env.DATABASE_URL };
 * const payingFetch = createPayingFetch({
 *   wallets: [wallet],
 *   policy: { budgets: [{ limit: 5_000_000n, window: "day" }] },
 *   ledger: await createPostgresLedger({ pool, namespace: "fleet-a" }),
 *   budgetStore: await createPostgresBudgetStore({ pool, namespace: "fleet-a" }),
 * });
 * ```
 * @throws `SERVER__STORE_FAILED` (the database unreachable, a migration refused; from every method when it fails),
 *   `SERVER__INVALID_CONFIG`, `CLIENT__LEDGER_BUSY`, `CLIENT__LEDGER_LEASE_LOST`
 */
export async function createPostgresLedger(
  parameters: CreatePostgresLedgerParameters,
): Promise<PostgresLedger> {
  const {
    leaseWaitMs = 30_000,
    maxAnswered = 10_000,
    leaseConnections = 10,
    onBackgroundError = (error: unknown) => console.warn(error),
  } = parameters;
  const connection = await openPostgresConnection(parameters);
  const { pool, schema, namespace, guard } = connection;
  // The leases' own pool, on the same database: a lease holds its connection for the whole pay-once section.
  const leasePool = new pg.Pool({
    ...pool.options,
    max: leaseConnections,
    connectionTimeoutMillis: leaseWaitMs,
  });
  leasePool.on("error", onBackgroundError);
  const table = `${schema}.ledger_entries`;
  /** The connection holding each lease this ledger holds, by ledger key. */
  const held = new Map<string, pg.PoolClient>();
  const lockName = (key: string) => `tollgate-client:ledger:${schema}:${namespace}:${key}`;

  async function write(on: pg.Pool | pg.PoolClient, entry: LedgerEntry): Promise<void> {
    // A row per `ledgerSlot`: the request's key and its slot ('' for the request's own entry).
    const slot = entry.slot ?? "";
    if (!keepsEntry(entry)) {
      await on.query(`DELETE FROM ${table} WHERE namespace = $1 AND key = $2 AND slot = $3`, [
        namespace,
        entry.key,
        slot,
      ]);
      return;
    }
    await on.query(
      `INSERT INTO ${table} (namespace, key, slot, state, updated_at, entry) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (namespace, key, slot) DO UPDATE SET state = EXCLUDED.state,
         updated_at = EXCLUDED.updated_at, entry = EXCLUDED.entry`,
      [namespace, entry.key, slot, entry.state, entry.updatedAt, JSON.stringify(entry)],
    );
    if (entry.state === "pending") return;
    await on.query(
      `DELETE FROM ${table} WHERE namespace = $1 AND (key, slot) IN (
         SELECT key, slot FROM ${table} WHERE namespace = $1 AND state <> 'pending'
         ORDER BY updated_at DESC OFFSET $2)`,
      [namespace, maxAnswered],
    );
  }

  return Object.freeze({
    get: (key: string) =>
      guard("ledger get", async () => {
        const { rows } = await pool.query<{ entry: string }>(
          `SELECT entry FROM ${table} WHERE namespace = $1 AND key = $2 AND slot = ''`,
          [namespace, key],
        );
        return rows[0] === undefined ? undefined : parseLedgerEntry(rows[0].entry);
      }),
    pending: () =>
      guard("ledger pending", async () => {
        const { rows } = await pool.query<{ entry: string }>(
          `SELECT entry FROM ${table} WHERE namespace = $1 AND state = 'pending' ORDER BY updated_at`,
          [namespace],
        );
        return rows.flatMap((row) => parseLedgerEntry(row.entry) ?? []);
      }),
    put: (entry: LedgerEntry) =>
      guard("ledger put", async () => {
        const lease = held.get(entry.key);
        if (lease === undefined) return write(pool, entry);
        try {
          await write(lease, entry);
        } catch (cause) {
          // The lease's connection broke: its advisory lock is gone with it, so the proof is not recorded.
          throw new TollgateError("CLIENT__LEDGER_LEASE_LOST", { context: { store: "postgres" }, cause });
        }
      }),
    async lease<T>(key: string, run: () => Promise<T>): Promise<T> {
      const deadline = Date.now() + leaseWaitMs;
      const busy = () =>
        new TollgateError("CLIENT__LEDGER_BUSY", { context: { store: "postgres", waitMs: leaseWaitMs } });
      const client = await leasePool.connect().catch((cause: unknown) => {
        // Every lease connection stayed taken by this process's other payments for the whole wait.
        if (Date.now() >= deadline) throw busy();
        throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "ledger lease" }, cause });
      });
      /** Set when the connection failed: the pool discards it (which frees any lock it held). */
      let broken: unknown;
      // A held connection that breaks between statements reports here (else its error would end the process); the
      // next statement on it fails, which the fence in `put` turns into CLIENT__LEDGER_LEASE_LOST.
      const onError = (error: unknown) => {
        broken = error;
        onBackgroundError(error);
      };
      client.on("error", onError);
      try {
        for (;;) {
          const { rows } = await guard("ledger lease", () =>
            client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [
              lockName(key),
            ]),
          ).catch((error: unknown) => {
            broken = error;
            throw error;
          });
          if (rows[0]?.ok === true) break;
          if (Date.now() >= deadline) throw busy();
          await abortableSleep(poll, undefined);
        }
        held.set(key, client);
        try {
          return await run();
        } finally {
          held.delete(key);
          await client
            .query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [lockName(key)])
            .catch((error: unknown) => {
              broken = error;
            });
        }
      } finally {
        client.off("error", onError);
        client.release(broken === undefined ? undefined : true);
      }
    },
    close: async () => {
      await leasePool.end();
      await connection.close();
    },
  });
}
