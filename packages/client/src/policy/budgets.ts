/** How long a cumulative budget looks back. */
export type BudgetWindow = "hour" | "day" | "total";

/**
 * A cumulative spending limit in atomic units (USDC: 6 decimals, `1_000_000n` = $1).
 *
 * @example
 * ```ts
 * import type { Budget } from "@tollgate/client";
 * const daily: Budget = { limit: 5_000_000n, window: "day" }; // $5 a day across all servers
 * const perApi: Budget = { limit: 1_000_000n, window: "hour", perOrigin: true }; // $1 an hour per server
 * ```
 */
export type Budget = Readonly<{
  /** Named in errors and events. @default `<window>` or `<window>/origin` */
  name?: string;
  /** The most that may leave the wallet in the window, atomic units, inclusive. */
  limit: bigint;
  /** `hour` and `day` are sliding windows; `total` is the life of the paying fetch. */
  window: BudgetWindow;
  /** Keep a separate tally for each origin (`https://api.example.com`). @default false */
  perOrigin?: boolean;
  /** Count only payments to these origins (exact origins or host names, `*.example.com` allowed). @default every origin */
  origins?: readonly string[];
}>;

const windowMs: Readonly<Record<BudgetWindow, number>> = {
  hour: 3_600_000,
  day: 86_400_000,
  total: Number.POSITIVE_INFINITY,
};

/** One amount held against the budgets: reserved before signing, released only once known not to leave. */
export type Hold = {
  readonly amount: bigint;
  readonly origin: string;
  readonly at: number;
  /** When the hold stops counting (ms); `undefined` while it counts. */
  releasedAt: number | undefined;
};

/** A budget that has no room for an amount. */
export type BudgetViolation = Readonly<{ budget: string; remaining: bigint }>;

/** A host name as URLs compare it: lowercase, punycode, without the trailing dot of a fully qualified name. */
function canonicalHost(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname.replace(/\.$/, "");
  } catch {
    return undefined;
  }
}

/**
 * Whether an origin matches a list entry: an exact origin, a host name, or `*.` and a parent domain. Host names
 * compare as URLs do (case, Unicode, a trailing dot), so no spelling of a listed host escapes the list.
 */
export function originMatches(entry: string, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/\.$/, "");
  if (entry.includes("://")) {
    try {
      const listed = new URL(entry);
      return (
        listed.protocol === url.protocol &&
        listed.port === url.port &&
        canonicalHost(listed.hostname) === host
      );
    } catch {
      return false;
    }
  }
  if (entry.startsWith("*.")) {
    const parent = canonicalHost(entry.slice(2));
    return parent !== undefined && host.endsWith(`.${parent}`);
  }
  return canonicalHost(entry) === host;
}

function budgetName(budget: Budget): string {
  return budget.name ?? (budget.perOrigin ? `${budget.window}/origin` : budget.window);
}

/**
 * The holds against a set of budgets. `reserve` checks every budget and records the hold in one synchronous step,
 * so concurrent payments in one process can never overspend.
 */
export function createBudgetTracker(parameters: Readonly<{ budgets: readonly Budget[]; now: () => number }>) {
  const { budgets, now } = parameters;
  let holds: Hold[] = [];
  /** Committed amounts older than a day, folded per origin so the hold list stays short. */
  const folded = new Map<string, bigint>();
  let lastPrune = 0;

  function prune(at: number): void {
    if (at - lastPrune < 60_000) return;
    lastPrune = at;
    const kept: Hold[] = [];
    for (const hold of holds) {
      if (hold.releasedAt !== undefined && hold.releasedAt <= at) continue;
      if (hold.releasedAt === undefined && at - hold.at > windowMs.day) {
        folded.set(hold.origin, (folded.get(hold.origin) ?? 0n) + hold.amount);
        continue;
      }
      kept.push(hold);
    }
    holds = kept;
  }

  function counts(budget: Budget, origin: string, holdOrigin: string): boolean {
    if (budget.origins !== undefined && !budget.origins.some((entry) => originMatches(entry, holdOrigin))) {
      return false;
    }
    return !budget.perOrigin || holdOrigin === origin;
  }

  function used(budget: Budget, origin: string, at: number): bigint {
    let sum = 0n;
    if (budget.window === "total") {
      for (const [holdOrigin, amount] of folded) if (counts(budget, origin, holdOrigin)) sum += amount;
    }
    const since = at - windowMs[budget.window];
    for (const hold of holds) {
      if (hold.at <= since) continue;
      if (hold.releasedAt !== undefined && hold.releasedAt <= at) continue;
      if (counts(budget, origin, hold.origin)) sum += hold.amount;
    }
    return sum;
  }

  function check(amount: bigint, origin: string, at = now()): BudgetViolation | undefined {
    for (const budget of budgets) {
      if (budget.origins !== undefined && !budget.origins.some((entry) => originMatches(entry, origin)))
        continue;
      const remaining = budget.limit - used(budget, origin, at);
      if (amount > remaining)
        return { budget: budgetName(budget), remaining: remaining < 0n ? 0n : remaining };
    }
    return undefined;
  }

  return Object.freeze({
    /** The first budget without room for `amount` at `origin`, without reserving. */
    check: (amount: bigint, origin: string) => check(amount, origin),
    /** Checks every budget and holds `amount` in the same synchronous step. */
    reserve(amount: bigint, origin: string): { hold: Hold } | { violation: BudgetViolation } {
      const at = now();
      prune(at);
      const violation = check(amount, origin, at);
      if (violation !== undefined) return { violation };
      const hold: Hold = { amount, origin, at, releasedAt: undefined };
      holds.push(hold);
      return { hold };
    },
    /** Stops counting a hold from `at` (default now): the money did not, or can no longer, leave the wallet. */
    release(hold: Hold, at: number = now()): void {
      hold.releasedAt = at;
    },
  });
}

/** The tracker of cumulative budgets. */
export type BudgetTracker = ReturnType<typeof createBudgetTracker>;
