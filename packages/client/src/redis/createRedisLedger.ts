import { createHash, randomUUID } from "node:crypto";
import { TollgateError } from "@tollgate/shared";
import {
  keepsEntry,
  type LedgerEntry,
  ledgerSlot,
  type PaymentLedger,
  parseLedgerEntry,
} from "../ledger/ledger.js";
import { abortableSleep } from "../request/abortableSleep.js";
import { openRedisConnection, type RedisConnectionParameters } from "./redisClient.js";

/** Parameters of `createRedisLedger`. */
export type CreateRedisLedgerParameters = RedisConnectionParameters &
  Readonly<{
    /**
     * How long a process waits for another's lease on the same logical request before `CLIENT__LEDGER_BUSY`.
     * @default 30_000
     */
    leaseWaitMs?: number;
    /**
     * How long a lease lives unless renewed (it is renewed every third of this while held): how long a crashed
     * process blocks its request.
     * @default 15_000
     */
    leaseTtlMs?: number;
    /** How many answered entries (of explicit `Idempotency-Key`s, consumed ones) are kept, oldest forgotten first. @default 10_000 */
    maxAnswered?: number;
  }>;

/** A ledger on Redis, and `close` (quits the client it opened). */
export type RedisLedger = PaymentLedger &
  Readonly<{
    /** Runs `run` holding the lease on the logical request `key` across processes (see `PaymentLedger.lease`). */
    lease: NonNullable<PaymentLedger["lease"]>;
    close(): Promise<void>;
  }>;

const poll = 25;

/**
 * A `PaymentLedger` on Redis (`ioredis`), shared by every agent process that names the same `prefix` and
 * `namespace`: entries live in hashes under one hash tag (one Cluster slot per ledger), each write one Lua script.
 * Paying one logical request is leased across processes (`SET NX PX` with a random owner, renewed while held, freed
 * by a compare-and-delete), so two processes never both sign for it; the lease fences the ledger: a process whose
 * lease was lost cannot record a proof, so it sends none (`CLIENT__LEDGER_LEASE_LOST`). Entries must outlive Redis's
 * memory policy: the ledger refuses to start unless `maxmemory-policy` is `noeviction`; run Redis with persistence
 * (AOF, `appendfsync everysec` or `always`) too, or a crash of Redis forgets proofs.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createRedisBudgetStore, createRedisLedger } from "@tollgate/client/redis";
 * const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
 * const payingFetch = createPayingFetch({
 *   wallets: [wallet],
 *   policy: { budgets: [{ limit: 5_000_000n, window: "day" }] },
 *   ledger: await createRedisLedger({ redis, namespace: "fleet-a" }),
 *   budgetStore: await createRedisBudgetStore({ redis, namespace: "fleet-a" }),
 * });
 * ```
 * @throws `SERVER__INVALID_CONFIG` (an evicting `maxmemory-policy`, `{` or `}` in a name), `SERVER__STORE_FAILED`
 *   (Redis unreachable; from every method when it fails), `CLIENT__LEDGER_BUSY`, `CLIENT__LEDGER_LEASE_LOST`
 */
export async function createRedisLedger(parameters: CreateRedisLedgerParameters): Promise<RedisLedger> {
  const {
    leaseWaitMs = 30_000,
    leaseTtlMs = 15_000,
    maxAnswered = 10_000,
    onBackgroundError = (error: unknown) => console.warn(error),
  } = parameters;
  const connection = await openRedisConnection({ ...parameters, kind: "ledger" });
  const { redis, tag, run, guard } = connection;
  const pendingKey = `${tag}:pending`;
  const answeredKey = `${tag}:answered`;
  const answeredAtKey = `${tag}:answered-at`;
  const leaseKey = (key: string) => `${tag}:lease:${createHash("sha256").update(key).digest("hex")}`;
  /** The owner of each lease this ledger holds, by ledger key, and whether it was lost. */
  const held = new Map<string, { owner: string; lost: boolean }>();

  return Object.freeze({
    get: (key: string) =>
      guard("ledger get", async () => {
        const value = (await redis.hget(pendingKey, key)) ?? (await redis.hget(answeredKey, key));
        return value === null ? undefined : parseLedgerEntry(value);
      }),
    pending: () =>
      guard("ledger pending", async () =>
        (await redis.hvals(pendingKey)).flatMap((value) => parseLedgerEntry(value) ?? []),
      ),
    put: (entry: LedgerEntry) =>
      guard("ledger put", async () => {
        const lease = held.get(entry.key);
        const mode = !keepsEntry(entry) ? "drop" : entry.state === "pending" ? "pending" : "answered";
        const done = await run(
          "tollgateLedgerPut",
          [pendingKey, answeredKey, answeredAtKey, leaseKey(entry.key)],
          [
            ledgerSlot(entry),
            JSON.stringify(entry),
            mode,
            String(entry.updatedAt),
            lease?.owner ?? "",
            String(maxAnswered),
          ],
        );
        if (Number(done) !== 1) {
          if (lease !== undefined) lease.lost = true;
          throw new TollgateError("CLIENT__LEDGER_LEASE_LOST", { context: { store: "redis" } });
        }
      }),
    async lease<T>(key: string, runLeased: () => Promise<T>): Promise<T> {
      const owner = randomUUID();
      const lock = leaseKey(key);
      const deadline = Date.now() + leaseWaitMs;
      for (;;) {
        const taken = await guard("ledger lease", () => redis.set(lock, owner, "PX", leaseTtlMs, "NX"));
        if (taken === "OK") break;
        if (Date.now() >= deadline) {
          throw new TollgateError("CLIENT__LEDGER_BUSY", {
            context: { store: "redis", waitMs: leaseWaitMs },
          });
        }
        await abortableSleep(poll, undefined);
      }
      const state = { owner, lost: false };
      held.set(key, state);
      const renew = setInterval(
        () => {
          run("tollgateLeaseRenew", [lock], [owner, String(leaseTtlMs)]).then(
            (renewed) => {
              if (Number(renewed) !== 1) state.lost = true;
            },
            // A failed renewal is retried at the next tick; the fence in `put` decides.
            (error: unknown) => onBackgroundError(error),
          );
        },
        Math.max(1, Math.floor(leaseTtlMs / 3)),
      );
      renew.unref?.();
      try {
        return await runLeased();
      } finally {
        clearInterval(renew);
        held.delete(key);
        await run("tollgateLeaseRelease", [lock], [owner]).catch((error: unknown) => {
          // It expires on its own within leaseTtlMs.
          onBackgroundError(error);
        });
      }
    },
    close: () => connection.close(),
  });
}
