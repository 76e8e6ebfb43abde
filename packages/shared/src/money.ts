import { TollgateError } from "./errors/TollgateError.js";

/** The largest value a uint256 holds: the ceiling of any on-chain amount. */
export const MAX_UINT256: bigint = (1n << 256n) - 1n;

/** Inputs longer than this are refused before any parsing (a hostile string cannot cost more). */
const MAX_INPUT_LENGTH = 100;
const atomicPattern = /^(0|[1-9][0-9]*)$/;
const decimalPattern = /^\$?(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

function assertDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 36) {
    throw new TollgateError("MONEY__INVALID_DECIMALS", { context: { decimals } });
  }
}

function checkInput(input: unknown): string {
  if (typeof input !== "string") {
    throw new TollgateError("MONEY__INVALID_FORMAT", { context: { input: String(input) } });
  }
  if (input.length > MAX_INPUT_LENGTH) {
    throw new TollgateError("MONEY__OVERFLOW", {
      context: { input: `${input.slice(0, 20)}…`, max: MAX_UINT256.toString() },
    });
  }
  if (/^-|^\$-|^-\$/.test(input)) throw new TollgateError("MONEY__NEGATIVE", { context: { input } });
  return input;
}

function checkBound(input: string, value: bigint, max: bigint): bigint {
  if (value > max) throw new TollgateError("MONEY__OVERFLOW", { context: { input, max: max.toString() } });
  return value;
}

/** Options of the money parsers. */
export type ParseAmountOptions = Readonly<{
  /**
   * The largest accepted atomic value.
   * @default MAX_UINT256
   */
  max?: bigint;
}>;

/**
 * Parses an atomic amount as it travels on the wire (a decimal integer string such as `"10000"`) into a
 * `bigint`. No sign, no fraction, no exponent, no leading zeros, no spaces.
 *
 * @example
 * ```ts
 * import { parseAtomic } from "@tollgate/shared";
 * parseAtomic("10000"); // 10000n
 * ```
 * @throws `MONEY__INVALID_FORMAT`, `MONEY__NEGATIVE`, `MONEY__OVERFLOW`
 */
export function parseAtomic(input: string, options: ParseAmountOptions = {}): bigint {
  const { max = MAX_UINT256 } = options;
  const text = checkInput(input);
  if (!atomicPattern.test(text))
    throw new TollgateError("MONEY__INVALID_FORMAT", { context: { input: text } });
  return checkBound(text, BigInt(text), max);
}

/**
 * Parses a decimal amount of the asset's whole units (`"$0.01"`, `"0.01"`, `"3"`) into atomic units for
 * the given decimals, exactly: no floating point, no rounding. A fraction longer than `decimals` is an
 * error, never silently truncated.
 *
 * @example
 * ```ts
 * import { parseDecimalAmount } from "@tollgate/shared";
 * parseDecimalAmount("$0.01", { decimals: 6 }); // 10000n
 * ```
 * @throws `MONEY__INVALID_FORMAT`, `MONEY__TOO_MANY_DECIMALS`, `MONEY__NEGATIVE`, `MONEY__OVERFLOW`, `MONEY__INVALID_DECIMALS`
 */
export function parseDecimalAmount(
  input: string,
  options: ParseAmountOptions & { decimals: number },
): bigint {
  const { decimals, max = MAX_UINT256 } = options;
  assertDecimals(decimals);
  const text = checkInput(input);
  const match = decimalPattern.exec(text);
  if (!match) throw new TollgateError("MONEY__INVALID_FORMAT", { context: { input: text } });
  // Stryker disable next-line StringLiteral: the pattern's first group always matches, so the default never applies.
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new TollgateError("MONEY__TOO_MANY_DECIMALS", { context: { input: text, decimals } });
  }
  const atomic = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0")); // BigInt("") is 0n
  return checkBound(text, atomic, max);
}

/**
 * Parses a USD price as Tollgate's APIs take it (`"$0.01"` or `"0.01"`) into atomic units of a USD
 * stablecoin with the given decimals (USDC: 6). Equivalent to `parseDecimalAmount`.
 *
 * @example
 * ```ts
 * import { parseUsd } from "@tollgate/shared";
 * parseUsd("$0.10"); // 100000n
 * ```
 * @throws `MONEY__INVALID_FORMAT`, `MONEY__TOO_MANY_DECIMALS`, `MONEY__NEGATIVE`, `MONEY__OVERFLOW`
 */
export function parseUsd(input: string, options: ParseAmountOptions & { decimals?: number } = {}): bigint {
  const { decimals = 6, ...rest } = options;
  return parseDecimalAmount(input, { ...rest, decimals });
}

/**
 * Formats atomic units as a decimal string of whole units, with no trailing zeros: `10000n` at 6 decimals
 * is `"0.01"`.
 *
 * @example
 * ```ts
 * import { formatDecimalAmount } from "@tollgate/shared";
 * formatDecimalAmount(1_500_000n, { decimals: 6 }); // "1.5"
 * ```
 * @throws `MONEY__NEGATIVE`, `MONEY__INVALID_DECIMALS`
 */
export function formatDecimalAmount(atomic: bigint, options: Readonly<{ decimals: number }>): string {
  const { decimals } = options;
  assertDecimals(decimals);
  if (atomic < 0n) throw new TollgateError("MONEY__NEGATIVE", { context: { input: atomic.toString() } });
  const unit = 10n ** BigInt(decimals);
  const whole = atomic / unit;
  const fraction = (atomic % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}

/**
 * Formats atomic units of a USD stablecoin as `"$0.01"`.
 *
 * @example
 * ```ts
 * import { formatUsd } from "@tollgate/shared";
 * formatUsd(10000n); // "$0.01"
 * ```
 */
export function formatUsd(atomic: bigint, options: Readonly<{ decimals?: number }> = {}): string {
  const { decimals = 6 } = options;
  return `$${formatDecimalAmount(atomic, { decimals })}`;
}
