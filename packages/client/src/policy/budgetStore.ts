import type { Budget, BudgetWindow } from "./budgets.js";
import { budgetName, originMatches } from "./budgets.js";

/**
 * One tally a budget keeps: the whole budget, or one origin's share of a `perOrigin` budget. A reservation names
 * every bucket that applies to its payment, with the limit and window the paying fetch's policy gives it.
 */
export type BudgetBucket = Readonly<{
  /**
   * The tally's identity in the store: the budget's name, window and `origins` list, and the origin for a
   * `perOrigin` budget. Processes whose policies name the same budget share its tally; the limit is not part of it
   * (each process checks its own limit against the shared tally).
   */
  key: string;
  /** The budget's name, for errors and events. */
  name: string;
  /** The most the bucket may hold, atomic units, inclusive. */
  limit: bigint;
  /** The sliding window in milliseconds; `undefined` for `total` (every hold counts until released). */
  windowMs: number | undefined;
}>;

/** Parameters of `BudgetStore.reserve`. */
export type BudgetReserveParameters = Readonly<{
  /** The hold's id (random, unique): what `release` names, and what the ledger entry of its proof records. */
  id: string;
  /** What the payment may take from the wallet, atomic units. */
  amount: bigint;
  /** When, milliseconds since the epoch (the paying fetch's clock). */
  at: number;
  /** Every bucket that applies to the payment (at least one). */
  buckets: readonly BudgetBucket[];
}>;

/** What `BudgetStore.reserve` did: held the amount in every bucket, or nothing, naming a bucket without room. */
export type BudgetReserveResult =
  | Readonly<{ ok: true }>
  | Readonly<{ ok: false; bucket: string; remaining: bigint }>;

/**
 * Where the holds against the budgets are kept: the paying fetch reserves before signing and releases only once
 * the money provably did not (and cannot) leave. A store implements storage, not policy: which budgets apply to a
 * payment, and their buckets, are decided outside (`budgetBuckets`).
 *
 * Its contract, for every implementation (a conformance suite runs it against each):
 * - `reserve` is one atomic step across every bucket it names, all or nothing: when each bucket's live holds plus
 *   `amount` stay within its limit, the hold is recorded in all of them; else in none. Concurrent reservations,
 *   from any number of processes, never take a bucket past its limit.
 * - A hold counts in a bucket with a window at time `t` when it was made after `t − window` (however far ahead of
 *   `t` that is); in a `total` bucket for ever; in both until released.
 * - `release` stops a hold counting, in every bucket, for every process; releasing an unknown or released hold
 *   does nothing. A hold is never released on its own: a process that crashed keeps its holds (never overspend).
 *
 * @example
 * ```ts
 * import { createMemoryBudgetStore, createPayingFetch } from "@tollgate/client";
 * const payingFetch = createPayingFetch({
 *   wallets: [wallet],
 *   policy: { budgets: [{ limit: 1_000_000n, window: "day" }] },
 *   budgetStore: createMemoryBudgetStore(),
 * });
 * ```
 */
export type BudgetStore = Readonly<{
  /** Holds `amount` in every bucket, or in none (one atomic step). */
  reserve(parameters: BudgetReserveParameters): Promise<BudgetReserveResult>;
  /** Stops the hold `id` counting from `at`. */
  release(parameters: Readonly<{ id: string; at: number }>): Promise<void>;
  /** How much each bucket holds at `at`, in the order given (for explanations; reserve decides). */
  used(parameters: Readonly<{ buckets: readonly BudgetBucket[]; at: number }>): Promise<readonly bigint[]>;
}>;

/** The sliding windows in milliseconds; `total` has none. */
export const budgetWindowMs: Readonly<Record<BudgetWindow, number | undefined>> = Object.freeze({
  hour: 3_600_000,
  day: 86_400_000,
  total: undefined,
});

/**
 * The buckets of `budgets` that a payment to `origin` (canonical) counts in: every budget whose `origins` list (if
 * any) matches, one bucket per budget (per origin for `perOrigin` ones).
 *
 * @example
 * ```ts
 * budgetBuckets({ budgets: [{ limit: 10n, window: "day", perOrigin: true }], origin: "https://api.example.com" });
 * // [{ key: "day/origin|day|*|https://api.example.com", name: "day/origin", limit: 10n, windowMs: 86400000 }]
 * ```
 */
export function budgetBuckets(
  parameters: Readonly<{ budgets: readonly Budget[]; origin: string }>,
): readonly BudgetBucket[] {
  const { budgets, origin } = parameters;
  return budgets.flatMap((budget) => {
    if (budget.origins !== undefined && !budget.origins.some((entry) => originMatches(entry, origin))) {
      return [];
    }
    const name = budgetName(budget);
    const origins = budget.origins === undefined ? "*" : [...budget.origins].sort().join(",");
    const key = `${name}|${budget.window}|${origins}${budget.perOrigin ? `|${origin}` : ""}`;
    return [{ key, name, limit: budget.limit, windowMs: budgetWindowMs[budget.window] }];
  });
}

/**
 * How long holds of windowed buckets are kept after the latest time a store has seen: longer than the longest
 * window, so a clock set back by up to a day still finds every payment of its window.
 */
export const keptHoldMs = 2 * 86_400_000;
