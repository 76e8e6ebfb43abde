import { canonicalHost, canonicalOrigin } from "./canonicalOrigin.js";

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
  /** The hold's id in a shared `BudgetStore` (recorded in its proof's ledger entry); none for local holds. */
  readonly id?: string;
  readonly amount: bigint;
  readonly origin: string;
  readonly at: number;
  /** When the hold stops counting (ms); `undefined` while it counts. */
  releasedAt: number | undefined;
};

/** A budget that has no room for an amount. */
export type BudgetViolation = Readonly<{ budget: string; remaining: bigint }>;

/** A host name as URLs compare it, then in its canonical spelling (`canonicalHost`); `undefined` if it does not parse. */
function hostOf(host: string): string | undefined {
  try {
    return canonicalHost(new URL(`http://${host}`).hostname);
  } catch {
    return undefined;
  }
}

/** Whether a canonical host is an IP address (v4 dotted, or v6), to which `*.` patterns never apply. */
function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

/**
 * Whether an origin matches a list entry: an exact origin (`https://api.example.com`), a host with a port
 * (`api.example.com:8443`, any scheme), a host name (any scheme and port), or `*.` and a parent domain. Both sides
 * compare in their canonical spelling (`canonicalOrigin`: case, Unicode, trailing dots, numeric and IPv4-mapped
 * addresses, default ports, every loopback spelling), so no spelling of a listed host escapes the list.
 */
export function originMatches(entry: string, origin: string): boolean {
  const canonical = canonicalOrigin(origin);
  if (canonical === undefined) return false;
  const url = new URL(canonical);
  const host = url.hostname;
  const trimmed = entry.trim();
  if (trimmed.includes("://")) return canonicalOrigin(trimmed) === canonical;
  if (trimmed.startsWith("*.")) {
    const parent = hostOf(trimmed.slice(2));
    if (parent === undefined) return false;
    // `*.localhost` names the local machine, whose every spelling is one host.
    if (parent === canonicalHost("localhost")) return host === parent;
    if (isIpAddress(host)) return false;
    return host.endsWith(`.${parent}`);
  }
  let listed: URL;
  try {
    listed = new URL(`http://${trimmed}`);
  } catch {
    return false;
  }
  if (canonicalHost(listed.hostname) !== host) return false;
  // A port written in the entry must match; without one, every port of the host does.
  const port =
    /:[0-9]+$/.test(trimmed) && !trimmed.endsWith("]") ? trimmed.slice(trimmed.lastIndexOf(":") + 1) : "";
  if (port === "") return true;
  const effective = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
  return Number(port) === Number(effective);
}

/** A budget's name as errors and events give it: its `name`, else `<window>` or `<window>/origin`. */
export function budgetName(budget: Budget): string {
  return budget.name ?? (budget.perOrigin ? `${budget.window}/origin` : budget.window);
}

/**
 * How long holds are kept one by one after the latest time the tracker has seen: longer than the longest sliding
 * window, so a clock set back by up to a day still finds every payment of its window. Older ones are folded.
 */
const keptMs = 2 * windowMs.day;

/**
 * The holds against a set of budgets. `reserve` checks every budget and records the hold in one synchronous step,
 * so concurrent payments in one process can never overspend. Origins are compared in their canonical spelling
 * (`canonicalOrigin`), so one server spelt several ways has one per-origin tally.
 *
 * Time going backwards never forgets spending: a hold counts in a sliding window at time `t` when it was made after
 * `t − window`, however far in the "future" that is, and holds are folded away only two days behind the latest time
 * seen. When the clock goes back further than that, hour and day budgets also count every folded payment (they can
 * no longer tell which fell in the window): they may refuse until the clock catches up, never overspend.
 */
export function createBudgetTracker(parameters: Readonly<{ budgets: readonly Budget[]; now: () => number }>) {
  const { budgets, now } = parameters;
  let holds: Hold[] = [];
  /** Committed amounts of holds folded away, per origin, so the hold list stays short. */
  const folded = new Map<string, bigint>();
  /** The latest `at` of a folded hold: a window that starts before it may hold folded payments. */
  let foldedUpTo = Number.NEGATIVE_INFINITY;
  /** The latest time the clock has shown; pruning follows it, never a clock that went back. */
  let latest = Number.NEGATIVE_INFINITY;
  let lastPrune = Number.NEGATIVE_INFINITY;

  function observe(at: number): void {
    if (at > latest) latest = at;
  }

  function prune(): void {
    if (latest - lastPrune < 60_000) return;
    lastPrune = latest;
    const horizon = latest - keptMs;
    const kept: Hold[] = [];
    for (const hold of holds) {
      if (hold.releasedAt !== undefined && hold.releasedAt <= horizon) continue;
      if (hold.releasedAt === undefined && hold.at <= horizon) {
        folded.set(hold.origin, (folded.get(hold.origin) ?? 0n) + hold.amount);
        if (hold.at > foldedUpTo) foldedUpTo = hold.at;
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
    const since = at - windowMs[budget.window];
    // Folded payments are all older than `foldedUpTo`: a window starting after it holds none of them.
    if (since < foldedUpTo) {
      for (const [holdOrigin, amount] of folded) if (counts(budget, origin, holdOrigin)) sum += amount;
    }
    for (const hold of holds) {
      if (hold.at <= since) continue;
      if (hold.releasedAt !== undefined && hold.releasedAt <= at) continue;
      if (counts(budget, origin, hold.origin)) sum += hold.amount;
    }
    return sum;
  }

  function check(amount: bigint, rawOrigin: string, at: number): BudgetViolation | undefined {
    const origin = canonicalOrigin(rawOrigin) ?? rawOrigin;
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
    check(amount: bigint, origin: string): BudgetViolation | undefined {
      const at = now();
      observe(at);
      return check(amount, origin, at);
    },
    /** Checks every budget and holds `amount` in the same synchronous step. */
    reserve(amount: bigint, origin: string): { hold: Hold } | { violation: BudgetViolation } {
      const at = now();
      observe(at);
      prune();
      const violation = check(amount, origin, at);
      if (violation !== undefined) return { violation };
      const hold: Hold = { amount, origin: canonicalOrigin(origin) ?? origin, at, releasedAt: undefined };
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
