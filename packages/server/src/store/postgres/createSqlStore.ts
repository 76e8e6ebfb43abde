import { TollgateError } from "@tollgate/shared";
import type {
  Claim,
  ClaimResult,
  ClaimState,
  DebitResult,
  IdempotencyRecord,
  ListedClaim,
  ReserveResponseResult,
  Store,
  StoreAdmin,
  StoredResponse,
  StoreRecord,
  TokenBalance,
} from "../store.js";
import { checkedSchema } from "./migrations.js";
import type { SqlExecutor, SqlQuery } from "./sqlExecutor.js";

/** Parameters of `createSqlStore`. */
export type CreateSqlStoreParameters = Readonly<{
  /** Where the statements run (a `pg` pool, PGlite). */
  executor: SqlExecutor;
  /**
   * The PostgreSQL schema that holds the tables (`migrate` creates them).
   * @default "tollgate"
   */
  schema?: string;
  /**
   * The clock, in milliseconds since the epoch: expiries are compared with it (not with the database's clock).
   * @default Date.now
   */
  now?: () => number;
  /**
   * How long a debit's operation key is remembered, in seconds.
   * @default 86_400
   */
  operationTtlSeconds?: number;
  /**
   * How long an expired token is kept (a debit answers `expired` rather than `unknown`), in seconds.
   * @default 2_592_000 (30 days)
   */
  expiredTokenRetentionSeconds?: number;
  /**
   * How long analytics records are kept, in seconds.
   * @default 2_592_000 (30 days)
   */
  recordRetentionSeconds?: number;
}>;

/** Parameters of a store's `sweep`. */
export type SweepParameters = Readonly<{
  /**
   * The most rows deleted from each table in one call.
   * @default 1_000
   */
  batchSize?: number;
}>;

/** A SQL-backed `Store`, with the sweep of its expired rows. */
export type SqlStore = Store &
  StoreAdmin &
  Readonly<{
    /**
     * Deletes at most `batchSize` expired rows from each table (expired claims, reservations, responses and
     * operation keys; tokens and records past their retention). Reads ignore expired rows already, so a sweep
     * only frees space; run it off the paid path (the stores' timer does).
     */
    sweep(parameters?: SweepParameters): Promise<Readonly<{ deleted: number }>>;
  }>;

type ClaimRow = {
  state: string;
  owner: string;
  proof_hash: string;
  idempotency_key: string | null;
  moved_at: string | number;
  nonce: string;
};
type IdempotencyRow = {
  state: string;
  owner: string | null;
  proof_hash: string;
  status: number | null;
  headers: unknown;
  body: Uint8Array | null;
  nonce: string;
};
type TokenRow = { balance: string; expires_at: string };

/** How many analytics records one `INSERT` takes. */
const recordsPerInsert = 1_000;

const claimColumns = [
  "state",
  "owner",
  "proof_hash",
  "idempotency_key",
  "nonce",
  "expires_at",
  "moved_at",
] as const;
/** What a claim read answers. */
const claimReturning = "state, owner, proof_hash, idempotency_key, moved_at, nonce";
const idempotencyColumns = [
  "state",
  "owner",
  "proof_hash",
  "status",
  "headers",
  "body",
  "nonce",
  "expires_at",
] as const;

/** `SET` items that take the proposed row only when the existing one expired, so one upsert both claims and reads. */
const takeOverWhen = (table: string, columns: readonly string[], condition: string): string =>
  columns.map((c) => `${c} = CASE WHEN ${condition} THEN excluded.${c} ELSE ${table}.${c} END`).join(", ");

const claimOf = (row: ClaimRow): Claim => ({
  state: row.state as ClaimState,
  owner: row.owner,
  proofHash: row.proof_hash,
  ...(row.idempotency_key === null ? {} : { idempotencyKey: row.idempotency_key }),
  movedAt: Number(row.moved_at),
});

const headersOf = (value: unknown): readonly (readonly [string, string])[] =>
  (typeof value === "string" ? JSON.parse(value) : value) as [string, string][];

const responseOf = (row: Omit<IdempotencyRow, "nonce" | "owner" | "state">): StoredResponse => ({
  proofHash: row.proof_hash,
  status: Number(row.status),
  headers: headersOf(row.headers),
  // A plain copy: drivers answer a Buffer (pg) or a view into their own memory (PGlite).
  body: new Uint8Array(row.body ?? new Uint8Array()),
});

const recordOf = (row: IdempotencyRow): IdempotencyRecord => {
  if (row.state === "kept") return { state: "kept", response: responseOf(row) };
  if (row.state === "not_kept") return { state: "not_kept", proofHash: row.proof_hash };
  return { state: "in_flight", owner: row.owner ?? "", proofHash: row.proof_hash };
};

const balanceOf = (row: TokenRow): TokenBalance => ({
  balance: BigInt(row.balance),
  expiresAt: Number(row.expires_at),
});

/**
 * The `Store` in SQL, shared by the PostgreSQL store and the embedded (PGlite) store. Every method is one
 * statement (`INSERT … ON CONFLICT … RETURNING`, `UPDATE … WHERE state = ANY(…) RETURNING`, a data-modifying
 * `WITH`) or, for a debit under an operation key, one transaction; none reads a row and writes it back, so
 * processes sharing the database never serve one proof twice or take a balance below zero. Balances are
 * NUMERIC, read as text into `bigint` without loss. Expired rows are ignored by every read; `sweep` deletes them.
 *
 * @example
 * ```ts
 * import { createSqlStore, migrate, type SqlExecutor } from "@tollgate/server/postgres";
 * await migrate({ executor });
 * const store = createSqlStore({ executor });
 * ```
 * @throws `SERVER__STORE_FAILED` from every method when the database fails (the paywall then fails closed).
 * @throws `SERVER__INVALID_CONFIG` for a schema name that is not a plain identifier.
 */
export function createSqlStore(parameters: CreateSqlStoreParameters): SqlStore {
  const {
    executor,
    now = Date.now,
    operationTtlSeconds = 86_400,
    expiredTokenRetentionSeconds = 2_592_000,
    recordRetentionSeconds = 2_592_000,
  } = parameters;
  const s = checkedSchema(parameters.schema ?? "tollgate");
  const { query } = executor;
  const seconds = () => Math.floor(now() / 1000);
  const nonce = () => crypto.randomUUID();

  /** Runs one step; a driver's failure becomes `SERVER__STORE_FAILED` with the step's name. */
  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw new TollgateError("SERVER__STORE_FAILED", { context: { operation }, cause: error });
    }
  };

  /**
   * Inserts analytics records: one statement per `recordsPerInsert`, its rows one JSON parameter (amounts as
   * decimal strings), so the client serialises a batch once instead of ten parameters per record.
   */
  const insertRecords = async (records: readonly StoreRecord[]): Promise<void> => {
    for (let first = 0; first < records.length; first += recordsPerInsert) {
      const rows = records.slice(first, first + recordsPerInsert).map((record) => ({
        ...record,
        amount: record.amount?.toString(),
      }));
      await query(
        `INSERT INTO ${s}.records
          (at, type, route, lane, reason, facilitator, network, amount, payer, duration_ms)
        SELECT at, type, route, lane, reason, facilitator, network, amount, payer, "durationMs"
        FROM jsonb_to_recordset($1::jsonb) AS r(at bigint, type text, route text, lane text, reason text,
          facilitator text, network text, amount numeric, payer text, "durationMs" double precision)`,
        [JSON.stringify(rows)],
      );
    }
  };

  const claimSql = `INSERT INTO ${s}.claims AS c (${claimColumns.join(", ")}, key)
    VALUES ($1, $2, $3, $4, $5, $6, $8, $7)
    ON CONFLICT (key) DO UPDATE SET ${takeOverWhen("c", claimColumns, "c.expires_at <= $8")}
    RETURNING ${claimReturning}`;

  const debitSql = `WITH debited AS (
      UPDATE ${s}.tokens SET balance = balance - $2::numeric
      WHERE token_hash = $1 AND expires_at > $3 AND balance >= $2::numeric
      RETURNING balance, expires_at)
    SELECT true AS ok, balance::text AS balance, expires_at::text AS expires_at FROM debited
    UNION ALL
    SELECT false, balance::text, expires_at::text FROM ${s}.tokens
    WHERE token_hash = $1 AND NOT EXISTS (SELECT 1 FROM debited)`;

  /** One debit statement: all or nothing, never below zero (the row lock orders concurrent debits). */
  const debitOnce = async (
    q: SqlQuery,
    tokenHash: string,
    amount: bigint,
    at: number,
  ): Promise<DebitResult> => {
    const [row] = await q<TokenRow & { ok: boolean }>(debitSql, [tokenHash, amount.toString(), at]);
    if (row === undefined) return { ok: false, reason: "unknown" };
    const { balance, expiresAt } = balanceOf(row);
    if (row.ok) return { ok: true, balance, expiresAt, replayed: false };
    return { ok: false, reason: expiresAt <= at ? "expired" : "insufficient", balance };
  };

  const reserveSql = `INSERT INTO ${s}.idempotency AS i (${idempotencyColumns.join(", ")}, key)
    VALUES ('in_flight', $1, $2, NULL, NULL, NULL, $3, $4, $5)
    ON CONFLICT (key) DO UPDATE SET ${takeOverWhen("i", idempotencyColumns, "i.expires_at <= $6")}
    RETURNING state, owner, proof_hash, status, headers, body, nonce`;

  const sweepSql = (table: string, column: string) =>
    `DELETE FROM ${s}.${table} WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM ${s}.${table} WHERE ${column} <= $1 LIMIT $2)) RETURNING 1 AS deleted`;

  return Object.freeze({
    claim: ({ key, claim, expiresAt }): Promise<ClaimResult> =>
      guard("claim", async () => {
        const mine = nonce();
        const [row] = await query<ClaimRow>(claimSql, [
          claim.state,
          claim.owner,
          claim.proofHash,
          claim.idempotencyKey ?? null,
          mine,
          expiresAt ?? null,
          key,
          seconds(),
        ]);
        if (row === undefined) throw new Error("the claim upsert answered no row");
        return row.nonce === mine ? { claimed: true } : { claimed: false, existing: claimOf(row) };
      }),

    transitionClaim: (parameters): Promise<boolean> =>
      guard("transitionClaim", async () => {
        const { key, from, to, owner, newOwner, proofHash, unmovedForSeconds } = parameters;
        const rows = await query(
          `UPDATE ${s}.claims SET state = $3, owner = COALESCE($5::text, owner), moved_at = $6
          WHERE key = $1 AND state = ANY($2::text[]) AND ($4::text IS NULL OR owner = $4::text)
            AND (expires_at IS NULL OR expires_at > $6)
            AND ($7::text IS NULL OR proof_hash = $7::text)
            AND ($8::bigint IS NULL OR moved_at + $8::bigint <= $6)
          RETURNING 1 AS moved`,
          [
            key,
            [...from],
            to,
            owner ?? null,
            newOwner ?? null,
            seconds(),
            proofHash ?? null,
            unmovedForSeconds ?? null,
          ],
        );
        return rows.length === 1;
      }),

    releaseClaim: ({ key, owner, from }): Promise<void> =>
      guard("releaseClaim", async () => {
        await query(
          `DELETE FROM ${s}.claims WHERE key = $1 AND owner = $2 AND state = ANY($4::text[])
            AND (expires_at IS NULL OR expires_at > $3)`,
          [key, owner, seconds(), [...from]],
        );
      }),

    getClaim: (key: string): Promise<Claim | undefined> =>
      guard("getClaim", async () => {
        const [row] = await query<ClaimRow>(
          `SELECT ${claimReturning} FROM ${s}.claims
          WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)`,
          [key, seconds()],
        );
        return row === undefined ? undefined : claimOf(row);
      }),

    credit: ({ tokenHash, amount, expiresAt }): Promise<TokenBalance> =>
      guard("credit", async () => {
        const [row] = await query<TokenRow>(
          `INSERT INTO ${s}.tokens AS t (token_hash, balance, expires_at) VALUES ($1, $2::numeric, $3)
          ON CONFLICT (token_hash) DO UPDATE SET balance = t.balance + excluded.balance,
            expires_at = GREATEST(t.expires_at, excluded.expires_at)
          RETURNING balance::text AS balance, expires_at::text AS expires_at`,
          [tokenHash, amount.toString(), expiresAt],
        );
        if (row === undefined) throw new Error("the credit upsert answered no row");
        return balanceOf(row);
      }),

    debit: ({ tokenHash, amount, nowSeconds: at, operationKey }): Promise<DebitResult> =>
      guard("debit", async () => {
        if (operationKey === undefined) return debitOnce(query, tokenHash, amount, at);
        return executor.transaction(async (q) => {
          // The operation key's row is taken first: a concurrent debit under the same key waits on it here,
          // then finds the committed result and replays it.
          const t = seconds();
          const taken = await q(
            `INSERT INTO ${s}.debit_operations AS o (operation_key, expires_at) VALUES ($1, $2)
            ON CONFLICT (operation_key) DO UPDATE SET balance = NULL, token_expires_at = NULL,
              expires_at = excluded.expires_at
            WHERE o.expires_at <= $3
            RETURNING 1 AS taken`,
            [operationKey, t + operationTtlSeconds, t],
          );
          if (taken.length === 0) {
            const [previous] = await q<{ balance: string; token_expires_at: string }>(
              `SELECT balance::text AS balance, token_expires_at::text AS token_expires_at
              FROM ${s}.debit_operations WHERE operation_key = $1`,
              [operationKey],
            );
            if (previous === undefined) throw new Error("a held operation key vanished");
            return {
              ok: true,
              balance: BigInt(previous.balance),
              expiresAt: Number(previous.token_expires_at),
              replayed: true,
            };
          }
          const result = await debitOnce(q, tokenHash, amount, at);
          if (result.ok) {
            await q(
              `UPDATE ${s}.debit_operations SET balance = $2::numeric, token_expires_at = $3
              WHERE operation_key = $1`,
              [operationKey, result.balance.toString(), result.expiresAt],
            );
          } else {
            await q(`DELETE FROM ${s}.debit_operations WHERE operation_key = $1`, [operationKey]);
          }
          return result;
        });
      }),

    refund: ({ tokenHash, amount, operationKey }): Promise<TokenBalance | undefined> =>
      guard("refund", async () => {
        const [row] = await query<TokenRow>(
          `WITH forgotten AS (DELETE FROM ${s}.debit_operations WHERE operation_key = $3::text)
          UPDATE ${s}.tokens SET balance = balance + $2::numeric WHERE token_hash = $1
          RETURNING balance::text AS balance, expires_at::text AS expires_at`,
          [tokenHash, amount.toString(), operationKey ?? null],
        );
        return row === undefined ? undefined : balanceOf(row);
      }),

    reserveResponse: ({ key, owner, proofHash, expiresAt }): Promise<ReserveResponseResult> =>
      guard("reserveResponse", async () => {
        const mine = nonce();
        const [row] = await query<IdempotencyRow>(reserveSql, [
          owner,
          proofHash,
          mine,
          expiresAt,
          key,
          seconds(),
        ]);
        if (row === undefined) throw new Error("the reservation upsert answered no row");
        return row.nonce === mine ? { reserved: true } : { reserved: false, existing: recordOf(row) };
      }),

    finishResponse: ({ key, owner, record, expiresAt }): Promise<boolean> =>
      guard("finishResponse", async () => {
        const response = record.state === "kept" ? record.response : undefined;
        const rows = await query(
          `UPDATE ${s}.idempotency SET state = $3, proof_hash = $4, status = $5, headers = $6::jsonb,
            body = $7, expires_at = $8
          WHERE key = $1 AND state = 'in_flight' AND owner = $2 AND expires_at > $9
          RETURNING 1 AS finished`,
          [
            key,
            owner,
            record.state,
            response?.proofHash ?? (record.state === "not_kept" ? record.proofHash : ""),
            response?.status ?? null,
            response === undefined ? null : JSON.stringify(response.headers),
            response?.body ?? null,
            expiresAt,
            seconds(),
          ],
        );
        return rows.length === 1;
      }),

    releaseResponse: ({ key, owner }): Promise<void> =>
      guard("releaseResponse", async () => {
        await query(
          `DELETE FROM ${s}.idempotency
          WHERE key = $1 AND state = 'in_flight' AND owner = $2 AND expires_at > $3`,
          [key, owner, seconds()],
        );
      }),

    record: (record: StoreRecord): Promise<void> => guard("record", () => insertRecords([record])),
    recordBatch: (records: readonly StoreRecord[]): Promise<void> =>
      guard("recordBatch", () => insertRecords(records)),

    sweep: ({ batchSize = 1_000 }: SweepParameters = {}) =>
      guard("sweep", async () => {
        const t = seconds();
        const batches: [table: string, column: string, upTo: number][] = [
          ["claims", "expires_at", t],
          ["idempotency", "expires_at", t],
          ["debit_operations", "expires_at", t],
          ["tokens", "expires_at", t - expiredTokenRetentionSeconds],
          ["records", "at", (t - recordRetentionSeconds) * 1000],
        ];
        let deleted = 0;
        for (const [table, column, upTo] of batches) {
          deleted += (await query(sweepSql(table, column), [upTo, batchSize])).length;
        }
        return { deleted };
      }),

    getToken: (tokenHash: string): Promise<TokenBalance | undefined> =>
      guard("getToken", async () => {
        const [row] = await query<TokenRow>(
          `SELECT balance::text AS balance, expires_at::text AS expires_at FROM ${s}.tokens WHERE token_hash = $1`,
          [tokenHash],
        );
        return row === undefined ? undefined : balanceOf(row);
      }),

    revokeToken: (tokenHash: string): Promise<boolean> =>
      guard("revokeToken", async () => {
        const rows = await query(`DELETE FROM ${s}.tokens WHERE token_hash = $1 RETURNING 1 AS revoked`, [
          tokenHash,
        ]);
        return rows.length === 1;
      }),

    listClaims: ({ state, limit }) =>
      guard("listClaims", async () => {
        const rows = await query<ClaimRow & { key: string; expires_at: string | null }>(
          `SELECT key, state, owner, proof_hash, idempotency_key, nonce, moved_at, expires_at::text AS expires_at
          FROM ${s}.claims WHERE state = $1 AND (expires_at IS NULL OR expires_at > $2)
          ORDER BY key LIMIT $3`,
          [state, seconds(), limit + 1],
        );
        const claims: ListedClaim[] = rows.slice(0, limit).map((row) => ({
          key: row.key,
          claim: claimOf(row),
          ...(row.expires_at === null ? {} : { expiresAt: Number(row.expires_at) }),
        }));
        return { claims, complete: rows.length <= limit };
      }),

    readRecords: ({ since, until, limit }): Promise<readonly StoreRecord[]> =>
      guard("readRecords", async () => {
        const rows = await query<RecordRow>(
          `SELECT at::text AS at, type, route, lane, reason, facilitator, network, amount::text AS amount, payer,
            duration_ms FROM ${s}.records WHERE at >= $1 AND at < $2 ORDER BY at, id LIMIT $3`,
          [since, Number.isFinite(until) ? until : Number.MAX_SAFE_INTEGER, limit],
        );
        return rows.map(storeRecordOf);
      }),
  });
}

type RecordRow = {
  at: string;
  type: string;
  route: string | null;
  lane: string | null;
  reason: string | null;
  facilitator: string | null;
  network: string | null;
  amount: string | null;
  payer: string | null;
  duration_ms: number | null;
};

/** An analytics row as the record it was written from (absent columns left out). */
function storeRecordOf(row: RecordRow): StoreRecord {
  const optional = {
    route: row.route,
    lane: row.lane,
    reason: row.reason,
    facilitator: row.facilitator,
    network: row.network,
    payer: row.payer,
  };
  return {
    at: Number(row.at),
    type: row.type,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== null)),
    ...(row.amount === null ? {} : { amount: BigInt(row.amount) }),
    ...(row.duration_ms === null ? {} : { durationMs: Number(row.duration_ms) }),
  } as StoreRecord;
}
