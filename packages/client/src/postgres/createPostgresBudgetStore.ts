import type pg from "pg";
import type { BudgetStore } from "../policy/budgetStore.js";
import { keptHoldMs } from "../policy/budgetStore.js";
import { openPostgresConnection, type PostgresConnectionParameters } from "./postgresPool.js";

/** Parameters of `createPostgresBudgetStore`. */
export type CreatePostgresBudgetStoreParameters = PostgresConnectionParameters;

/** A budget store on PostgreSQL, and `close` (ends the pool it opened). */
export type PostgresBudgetStore = BudgetStore & Readonly<{ close(): Promise<void> }>;

/**
 * A `BudgetStore` on PostgreSQL (`pg`), shared by every agent process that names the same `schema` and `namespace`.
 * Each reservation is one transaction: it takes a transaction-scoped advisory lock per bucket of the payment (in one
 * order, so two reservations never deadlock), sums each bucket's live holds, and records the hold in every bucket or
 * none. Why locks and not a conditional `UPDATE`: a sliding window's room is a sum over holds by time, not one counter
 * a single `UPDATE … WHERE used + amount <= limit` could guard; the lock serialises only reservations that share a
 * bucket, and is released by the commit (or by a crash). Amounts are NUMERIC(78, 0): any `bigint`.
 *
 * @example
 * ```ts
 * import { createPostgresBudgetStore } from "@tollgate/client/postgres";
 * const budgetStore = await createPostgresBudgetStore({ pool: { connectionString: process.env.DATABASE_URL } });
 * ```
 * @throws `SERVER__STORE_FAILED` (the database unreachable, a migration refused; from every method when it fails),
 *   `SERVER__INVALID_CONFIG`
 */
export async function createPostgresBudgetStore(
  parameters: CreatePostgresBudgetStoreParameters,
): Promise<PostgresBudgetStore> {
  const connection = await openPostgresConnection(parameters);
  const { pool, schema, namespace, guard, transaction } = connection;
  const holds = `${schema}.budget_holds`;
  const rows = `${schema}.budget_hold_buckets`;
  const lockName = (bucket: string) => `tollgate-client:budget:${schema}:${namespace}:${bucket}`;

  /** Each bucket's live holds at `at`, in the order given. */
  async function sums(
    on: pg.Pool | pg.PoolClient,
    buckets: readonly Readonly<{ key: string; windowMs: number | undefined }>[],
    at: number,
  ): Promise<bigint[]> {
    const { rows: found } = await on.query<{ i: string; used: string }>(
      `SELECT b.i, COALESCE(SUM(h.amount), 0)::text AS used
       FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS b(bucket, since, i)
       LEFT JOIN ${rows} h ON h.namespace = $1 AND h.bucket = b.bucket AND (b.since IS NULL OR h.at > b.since)
       GROUP BY b.i ORDER BY b.i`,
      [
        namespace,
        buckets.map((b) => b.key),
        buckets.map((b) => (b.windowMs === undefined ? null : at - b.windowMs)),
      ],
    );
    return found.map((row) => BigInt(row.used));
  }

  const store: PostgresBudgetStore = {
    reserve: ({ id, amount, at, buckets }) =>
      guard("budget reserve", () =>
        transaction(async (client) => {
          for (const key of [...new Set(buckets.map((b) => b.key))].sort()) {
            await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockName(key)]);
          }
          const known = await client.query(`SELECT 1 FROM ${holds} WHERE namespace = $1 AND id = $2`, [
            namespace,
            id,
          ]);
          if (known.rowCount !== 0) return { ok: true } as const;
          // Holds two days behind this reservation no longer count in any window; never pruned past two days behind
          // the database's clock, so one agent whose clock runs far ahead cannot erase the fleet's recent holds.
          const keys = buckets.map((b) => b.key);
          const { rows: horizons } = await client.query<{ horizon: string }>(
            `SELECT LEAST($1::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2::bigint)::text
               AS horizon`,
            [at - keptHoldMs, keptHoldMs],
          );
          const horizon = horizons[0]?.horizon ?? String(at - keptHoldMs);
          await client.query(
            `WITH pruned AS (
               DELETE FROM ${rows} WHERE namespace = $1 AND bucket = ANY($2) AND windowed AND at <= $3
               RETURNING hold_id)
             DELETE FROM ${holds} h USING pruned p
             WHERE h.namespace = $1 AND h.id = p.hold_id AND NOT EXISTS (
               SELECT 1 FROM ${rows} r WHERE r.namespace = $1 AND r.hold_id = p.hold_id
                 AND NOT (r.bucket = ANY($2) AND r.windowed AND r.at <= $3))`,
            [namespace, keys, horizon],
          );
          const used = await sums(client, buckets, at);
          for (const [index, bucket] of buckets.entries()) {
            const remaining = bucket.limit - (used[index] ?? 0n);
            if (amount > remaining) {
              return { ok: false, bucket: bucket.key, remaining: remaining < 0n ? 0n : remaining } as const;
            }
          }
          await client.query(`INSERT INTO ${holds} (namespace, id, amount, at) VALUES ($1, $2, $3, $4)`, [
            namespace,
            id,
            amount.toString(),
            at,
          ]);
          await client.query(
            `INSERT INTO ${rows} (namespace, bucket, hold_id, at, amount, windowed)
             SELECT $1, b.bucket, $3, $4, $5, b.windowed FROM unnest($2::text[], $6::boolean[]) AS b(bucket, windowed)
             ON CONFLICT DO NOTHING`,
            [namespace, keys, id, at, amount.toString(), buckets.map((b) => b.windowMs !== undefined)],
          );
          return { ok: true } as const;
        }),
      ),
    release: ({ id }) =>
      guard("budget release", async () => {
        await pool.query(
          `WITH gone AS (DELETE FROM ${holds} WHERE namespace = $1 AND id = $2)
           DELETE FROM ${rows} WHERE namespace = $1 AND hold_id = $2`,
          [namespace, id],
        );
      }),
    used: ({ buckets, at }) =>
      guard("budget used", async () => (buckets.length === 0 ? [] : sums(pool, buckets, at))),
    close: () => connection.close(),
  };
  return Object.freeze(store);
}
