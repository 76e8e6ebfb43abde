import type { LedgerEntry } from "../ledger/ledger.js";
import { type BudgetStore, budgetBuckets } from "./budgetStore.js";
import {
  type Budget,
  type BudgetTracker,
  type BudgetViolation,
  createBudgetTracker,
  type Hold,
} from "./budgets.js";
import { canonicalOrigin } from "./canonicalOrigin.js";

/** The budgets of a paying fetch (`createBudgetHolds`). */
export type BudgetHolds = Readonly<{
  /** A synchronous check of the budgets' room for payments to `origin`, as of now (for selection; `reserve` decides). */
  room(origin: string): Promise<Pick<BudgetTracker, "check">>;
  /** Checks every budget that applies and holds `amount` in one atomic step, or names a budget without room. */
  reserve(amount: bigint, origin: string): Promise<{ hold: Hold } | { violation: BudgetViolation }>;
  /** Stops counting a hold from `at` (default now): the money did not, or can no longer, leave the wallet. */
  release(hold: Hold, at?: number): void;
  /** The shared hold a ledger entry recorded (`holdId`), to release once its proof is provably dead. */
  holdOf(entry: LedgerEntry): Hold | undefined;
}>;

/** Parameters of `createBudgetHolds`. */
export type CreateBudgetHoldsParameters = Readonly<{
  budgets: readonly Budget[];
  now: () => number;
  /** A shared store of holds; without one, the holds live in this process (`createBudgetTracker`). */
  store?: BudgetStore;
}>;

/**
 * The paying fetch's budgets: holds reserved before signing and released only once the money provably did not leave,
 * in this process (no store: today's `createBudgetTracker`, one synchronous step) or in a shared `BudgetStore` (one
 * atomic step across every bucket of the payment, so a fleet of processes never overspends). A release that fails
 * leaves the hold counting (never overspend) and is tried again before the next reservation.
 *
 * @example
 * ```ts
 * const holds = createBudgetHolds({ budgets: [{ limit: 100n, window: "total" }], now: Date.now, store });
 * const reservation = await holds.reserve(10n, "https://api.example.com");
 * if ("hold" in reservation) holds.release(reservation.hold);
 * ```
 */
export function createBudgetHolds(parameters: CreateBudgetHoldsParameters): BudgetHolds {
  const { budgets, now, store } = parameters;
  if (store === undefined) {
    const tracker = createBudgetTracker({ budgets, now });
    return Object.freeze({
      async room(_origin: string): Promise<Pick<BudgetTracker, "check">> {
        return tracker;
      },
      async reserve(
        amount: bigint,
        origin: string,
      ): Promise<{ hold: Hold } | { violation: BudgetViolation }> {
        return tracker.reserve(amount, origin);
      },
      release(hold: Hold, at?: number): void {
        tracker.release(hold, at);
      },
      // Local holds die with their process.
      holdOf(_entry: LedgerEntry): Hold | undefined {
        return undefined;
      },
    });
  }
  /** Releases that failed, tried again before the next reservation. */
  const unreleased = new Map<string, number>();

  const bucketsOf = (rawOrigin: string) => {
    const origin = canonicalOrigin(rawOrigin) ?? rawOrigin;
    return { origin, buckets: budgetBuckets({ budgets, origin }) };
  };

  function releaseLater(id: string, at: number): void {
    store?.release({ id, at }).then(
      () => unreleased.delete(id),
      // The hold keeps counting (never overspend) until a later release succeeds.
      () => unreleased.set(id, at),
    );
  }

  return Object.freeze({
    async room(rawOrigin: string): Promise<Pick<BudgetTracker, "check">> {
      const { buckets } = bucketsOf(rawOrigin);
      const used = buckets.length === 0 ? [] : await store.used({ buckets, at: now() });
      return {
        check(amount: bigint): BudgetViolation | undefined {
          for (const [index, bucket] of buckets.entries()) {
            const remaining = bucket.limit - (used[index] ?? 0n);
            if (amount > remaining)
              return { budget: bucket.name, remaining: remaining < 0n ? 0n : remaining };
          }
          return undefined;
        },
      };
    },
    async reserve(
      amount: bigint,
      rawOrigin: string,
    ): Promise<{ hold: Hold } | { violation: BudgetViolation }> {
      for (const [id, at] of [...unreleased]) {
        unreleased.delete(id);
        releaseLater(id, at);
      }
      const at = now();
      const { origin, buckets } = bucketsOf(rawOrigin);
      // No budget applies: nothing to hold in the store.
      if (buckets.length === 0) return { hold: { amount, origin, at, releasedAt: undefined } };
      const id = crypto.randomUUID();
      const result = await store.reserve({ id, amount, at, buckets });
      if (!result.ok) {
        const bucket = buckets.find((b) => b.key === result.bucket);
        return { violation: { budget: bucket?.name ?? result.bucket, remaining: result.remaining } };
      }
      return { hold: { id, amount, origin, at, releasedAt: undefined } };
    },
    release(hold: Hold, at: number = now()): void {
      if (hold.releasedAt !== undefined) return;
      hold.releasedAt = at;
      if (hold.id !== undefined) releaseLater(hold.id, at);
    },
    holdOf(entry: LedgerEntry): Hold | undefined {
      if (entry.holdId === undefined) return undefined;
      const origin = canonicalOrigin(new URL(entry.url).origin) ?? new URL(entry.url).origin;
      return {
        id: entry.holdId,
        amount: BigInt(entry.offer.amount),
        origin,
        at: entry.createdAt,
        releasedAt: undefined,
      };
    },
  });
}
