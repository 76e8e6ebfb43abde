import { createHash } from "node:crypto";
import { TollgateError } from "@tollgate/shared";
import type { BudgetBucket, BudgetStore } from "../policy/budgetStore.js";
import { keptHoldMs } from "../policy/budgetStore.js";
import { openRedisConnection, type RedisConnectionParameters } from "./redisClient.js";

/** Parameters of `createRedisBudgetStore`. */
export type CreateRedisBudgetStoreParameters = RedisConnectionParameters;

/** A budget store on Redis, and `close` (quits the client it opened). */
export type RedisBudgetStore = BudgetStore & Readonly<{ close(): Promise<void> }>;

/** Lua numbers are doubles: amounts and limits stay exact up to 2^53 − 1 atomic units ($9 billion of USDC). */
const maxExact = BigInt(Number.MAX_SAFE_INTEGER);

function exact(option: string, value: bigint): string {
  if (value < 0n || value > maxExact) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option, reason: `the Redis budget store counts 0 to ${maxExact} atomic units` },
    });
  }
  return value.toString();
}

/**
 * A `BudgetStore` on Redis (`ioredis`), shared by every agent process that names the same `prefix` and `namespace`:
 * each reservation is one Lua script that checks every bucket of the payment and holds the amount in all of them or
 * none, so a fleet never overspends (a budget of 10 payments split across 4 processes pays exactly 10). Every key of
 * one set of budgets has one hash tag: one Cluster slot. `total` buckets are counters; windowed ones sorted sets of
 * hold ids by time (pruned two days behind). Holds must outlive Redis's memory policy: the store refuses to start
 * unless `maxmemory-policy` is `noeviction`; run Redis with persistence (AOF) too, or a restart of Redis forgets
 * spending. Amounts and limits up to 2^53 − 1 atomic units.
 *
 * @example
 * ```ts
 * import { createRedisBudgetStore } from "@tollgate/client/redis";
 * const budgetStore = await createRedisBudgetStore({ redis: "redis://127.0.0.1:6379", namespace: "fleet-a" });
 * ```
 * @throws `SERVER__INVALID_CONFIG` (an evicting `maxmemory-policy`, `{` or `}` in a name; from `reserve`, an amount or
 *   limit past 2^53 − 1), `SERVER__STORE_FAILED` (Redis unreachable; from every method when it fails)
 */
export async function createRedisBudgetStore(
  parameters: CreateRedisBudgetStoreParameters,
): Promise<RedisBudgetStore> {
  const connection = await openRedisConnection({ ...parameters, kind: "budgets" });
  const { redis, tag, run, guard } = connection;
  const holdsKey = `${tag}:holds`;
  const amountsKey = `${tag}:amounts`;
  const bucketKey = (bucket: Pick<BudgetBucket, "key">) =>
    `${tag}:bucket:${createHash("sha256").update(bucket.key).digest("hex").slice(0, 32)}`;
  const since = (bucket: BudgetBucket, at: number) =>
    bucket.windowMs === undefined ? "" : String(at - bucket.windowMs);

  const store: RedisBudgetStore = {
    reserve: ({ id, amount, at, buckets }) =>
      guard("budget reserve", async () => {
        const args = [id, exact("amount", amount), String(at), String(at - keptHoldMs)];
        for (const bucket of buckets) {
          args.push(exact(`budget ${bucket.name} limit`, bucket.limit));
          args.push(bucket.windowMs === undefined ? "" : String(bucket.windowMs), since(bucket, at));
        }
        const reply = (await run(
          "tollgateBudgetReserve",
          [holdsKey, amountsKey, ...buckets.map(bucketKey)],
          args,
        )) as [1] | [0, number, number];
        if (reply[0] === 1) return { ok: true } as const;
        const bucket = buckets[reply[1]];
        return { ok: false, bucket: bucket?.key ?? "", remaining: BigInt(reply[2]) } as const;
      }),
    release: ({ id }) =>
      guard("budget release", async () => {
        const record = await redis.hget(holdsKey, id);
        if (record === null) return;
        const hold = JSON.parse(record) as { w?: string[] | object; t?: string[] | object };
        const keys = [hold.w, hold.t].flatMap((list) => (Array.isArray(list) ? list : []));
        await run("tollgateBudgetRelease", [holdsKey, amountsKey, ...keys], [id]);
      }),
    used: ({ buckets, at }) =>
      guard("budget used", async () => {
        if (buckets.length === 0) return [];
        const args = [String(at - keptHoldMs)];
        for (const bucket of buckets) {
          args.push(bucket.windowMs === undefined ? "" : String(bucket.windowMs), since(bucket, at));
        }
        const sums = (await run(
          "tollgateBudgetUsed",
          [holdsKey, amountsKey, ...buckets.map(bucketKey)],
          args,
        )) as string[];
        return sums.map((sum) => BigInt(sum));
      }),
    close: () => connection.close(),
  };
  return Object.freeze(store);
}
