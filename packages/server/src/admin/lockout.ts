import { invalidConfig } from "../config/invalidConfig.js";

/** Parameters of `createLockout`. */
export type CreateLockoutParameters = Readonly<{
  /**
   * Failures from one client address within `windowMs` that lock that address out.
   * @default 5
   */
  maxFailures?: number;
  /**
   * Failures from all addresses together within `windowMs` that lock every address out, so rotating addresses
   * buys no more guesses.
   * @default 50
   */
  maxGlobalFailures?: number;
  /**
   * The window failures are counted in, in milliseconds.
   * @default 60_000
   */
  windowMs?: number;
  /**
   * How long a lockout lasts, in milliseconds.
   * @default 900_000 (15 minutes)
   */
  lockoutMs?: number;
  /**
   * Most client addresses tracked at once; past it, a new address counts towards the global budget only.
   * @default 10_000
   */
  maxTrackedAddresses?: number;
  /** The clock, in milliseconds. */
  now: () => number;
}>;

/** Whether a client may try a key now: a lockout answers when it ends. */
export type LockoutVerdict =
  | Readonly<{ locked: false }>
  | Readonly<{ locked: true; scope: "address" | "global"; retryAfterSeconds: number }>;

/** Failed key attempts by client address and in total, with lockouts. */
export type Lockout = Readonly<{
  /** Whether `address` is locked out (or everyone is). */
  check(address: string): LockoutVerdict;
  /** Counts a failure of `address`; answers the lockout it caused, if any. */
  fail(address: string): LockoutVerdict;
}>;

type Window = { start: number; failures: number; lockedUntil: number };

/**
 * Counts failed admin-key attempts per client address and in total, each in a fixed window; reaching a limit
 * locks out (the address, or every address) for `lockoutMs`. A success resets nothing: failures age out of their
 * window, so one client's good key never clears another's count.
 *
 * @example
 * ```ts
 * import { createLockout } from "@tollgate/server/admin";
 * const lockout = createLockout({ now: Date.now });
 * if (lockout.fail("203.0.113.7").locked) console.log("locked out");
 * ```
 * @throws `SERVER__INVALID_CONFIG` for a limit that is not a positive integer.
 */
export function createLockout(parameters: CreateLockoutParameters): Lockout {
  const {
    maxFailures = 5,
    maxGlobalFailures = 50,
    windowMs = 60_000,
    lockoutMs = 900_000,
    maxTrackedAddresses = 10_000,
    now,
  } = parameters;
  const limits = { maxFailures, maxGlobalFailures, windowMs, lockoutMs, maxTrackedAddresses };
  for (const [option, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw invalidConfig(`lockout.${option}`, "must be a positive integer");
  }
  const byAddress = new Map<string, Window>();
  const global: Window = { start: Number.NEGATIVE_INFINITY, failures: 0, lockedUntil: 0 };

  const lockedFor = (window: Window, t: number) => Math.max(1, Math.ceil((window.lockedUntil - t) / 1000));
  const verdict = (address: string, t: number): LockoutVerdict => {
    if (global.lockedUntil > t)
      return { locked: true, scope: "global", retryAfterSeconds: lockedFor(global, t) };
    const window = byAddress.get(address);
    if (window !== undefined && window.lockedUntil > t) {
      return { locked: true, scope: "address", retryAfterSeconds: lockedFor(window, t) };
    }
    return { locked: false };
  };
  /** Adds a failure to a window, which locks when it reaches `limit`. */
  const count = (window: Window, t: number, limit: number): void => {
    if (t - window.start >= windowMs) {
      window.start = t;
      window.failures = 0;
    }
    window.failures++;
    if (window.failures >= limit) window.lockedUntil = t + lockoutMs;
  };
  /** Room for a new address: windows neither locked nor counting any more are forgotten first. */
  const track = (address: string, t: number): Window | undefined => {
    const known = byAddress.get(address);
    if (known !== undefined) return known;
    if (byAddress.size >= maxTrackedAddresses) {
      for (const [key, window] of byAddress) {
        if (window.lockedUntil <= t && t - window.start >= windowMs) byAddress.delete(key);
      }
    }
    if (byAddress.size >= maxTrackedAddresses) return undefined;
    const window: Window = { start: t, failures: 0, lockedUntil: 0 };
    byAddress.set(address, window);
    return window;
  };

  return Object.freeze({
    check: (address: string) => verdict(address, now()),
    fail(address: string): LockoutVerdict {
      const t = now();
      count(global, t, maxGlobalFailures);
      const window = track(address, t);
      if (window !== undefined) count(window, t, maxFailures);
      return verdict(address, t);
    },
  });
}
