import type { BudgetBucket, BudgetStore } from "./budgetStore.js";
import { keptHoldMs } from "./budgetStore.js";

/** One hold in one bucket. */
type BucketHold = Readonly<{ amount: bigint; at: number }>;

/**
 * A `BudgetStore` in memory: one process's holds, with the shared stores' contract (the conformance suite runs it
 * too). Each reservation is one synchronous step, so concurrent payments in the process never overspend. Holds of
 * windowed buckets are forgotten two days behind the latest time seen.
 *
 * @example
 * ```ts
 * import { createMemoryBudgetStore } from "@tollgate/client";
 * const budgetStore = createMemoryBudgetStore();
 * ```
 */
export function createMemoryBudgetStore(): BudgetStore {
  /** Each bucket's window and holds, by hold id. */
  const buckets = new Map<string, { windowMs: number | undefined; holds: Map<string, BucketHold> }>();
  /** The buckets of each hold, for `release`. */
  const holdBuckets = new Map<string, readonly string[]>();
  let latest = Number.NEGATIVE_INFINITY;

  function prune(): void {
    const horizon = latest - keptHoldMs;
    const dropped = new Set<string>();
    for (const bucket of buckets.values()) {
      if (bucket.windowMs === undefined) continue;
      for (const [id, hold] of bucket.holds) {
        if (hold.at > horizon) continue;
        bucket.holds.delete(id);
        dropped.add(id);
      }
    }
    // A hold no bucket keeps any more has nothing left to release.
    for (const id of dropped) {
      const keys = holdBuckets.get(id) ?? [];
      if (!keys.some((key) => buckets.get(key)?.holds.has(id) === true)) holdBuckets.delete(id);
    }
  }

  function used(bucket: BudgetBucket, at: number): bigint {
    const since = bucket.windowMs === undefined ? Number.NEGATIVE_INFINITY : at - bucket.windowMs;
    let sum = 0n;
    for (const hold of buckets.get(bucket.key)?.holds.values() ?? []) if (hold.at > since) sum += hold.amount;
    return sum;
  }

  return Object.freeze({
    async reserve({ id, amount, at, buckets: wanted }) {
      if (at > latest) {
        latest = at;
        prune();
      }
      if (holdBuckets.has(id)) return { ok: true } as const;
      for (const bucket of wanted) {
        const remaining = bucket.limit - used(bucket, at);
        if (amount > remaining) {
          return { ok: false, bucket: bucket.key, remaining: remaining < 0n ? 0n : remaining } as const;
        }
      }
      for (const bucket of wanted) {
        let held = buckets.get(bucket.key);
        if (held === undefined) {
          held = { windowMs: bucket.windowMs, holds: new Map() };
          buckets.set(bucket.key, held);
        }
        held.holds.set(id, { amount, at });
      }
      holdBuckets.set(
        id,
        wanted.map((b) => b.key),
      );
      return { ok: true } as const;
    },
    async release({ id }) {
      for (const key of holdBuckets.get(id) ?? []) buckets.get(key)?.holds.delete(id);
      holdBuckets.delete(id);
    },
    async used({ buckets: wanted, at }) {
      return wanted.map((bucket) => used(bucket, at));
    },
  });
}
