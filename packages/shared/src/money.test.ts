import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTollgateError } from "./errors/TollgateError.js";
import {
  formatDecimalAmount,
  formatUsd,
  MAX_UINT256,
  parseAtomic,
  parseDecimalAmount,
  parseUsd,
} from "./money.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isTollgateError(e) ? e.code : `untyped: ${String(e)}`;
  }
  return undefined;
}

describe("parseUsd", () => {
  it.each([
    ["$0.01", 10_000n],
    ["0.01", 10_000n],
    ["$0.10", 100_000n],
    ["1", 1_000_000n],
    ["1.5", 1_500_000n],
    ["0.000001", 1n],
    ["0", 0n],
    ["123456789.123456", 123_456_789_123_456n],
  ])("%s → %s", (input, expected) => {
    expect(parseUsd(input)).toBe(expected);
  });

  it.each([
    ["0.0000001", "MONEY__TOO_MANY_DECIMALS"],
    ["-1", "MONEY__NEGATIVE"],
    ["$-0.01", "MONEY__NEGATIVE"],
    ["-$0.01", "MONEY__NEGATIVE"],
    ["1e3", "MONEY__INVALID_FORMAT"],
    ["0x10", "MONEY__INVALID_FORMAT"],
    ["", "MONEY__INVALID_FORMAT"],
    [" 1", "MONEY__INVALID_FORMAT"],
    ["1,000", "MONEY__INVALID_FORMAT"],
    ["01", "MONEY__INVALID_FORMAT"],
    [".5", "MONEY__INVALID_FORMAT"],
    ["5.", "MONEY__INVALID_FORMAT"],
    ["$$1", "MONEY__INVALID_FORMAT"],
    ["NaN", "MONEY__INVALID_FORMAT"],
    ["Infinity", "MONEY__INVALID_FORMAT"],
    ["9".repeat(80), "MONEY__OVERFLOW"],
    ["9".repeat(200), "MONEY__OVERFLOW"],
  ])("%s is refused with %s", (input, code) => {
    expect(codeOf(() => parseUsd(input))).toBe(code);
  });

  it("refuses a number instead of a string (no floats anywhere)", () => {
    expect(codeOf(() => parseUsd(0.01 as unknown as string))).toBe("MONEY__INVALID_FORMAT");
  });

  it("honours a custom maximum", () => {
    expect(codeOf(() => parseUsd("1", { max: 999_999n }))).toBe("MONEY__OVERFLOW");
    expect(parseUsd("1", { max: 1_000_000n })).toBe(1_000_000n);
  });
});

describe("parseAtomic", () => {
  it("reads decimal integer strings up to uint256", () => {
    expect(parseAtomic("10000")).toBe(10_000n);
    expect(parseAtomic(MAX_UINT256.toString())).toBe(MAX_UINT256);
    expect(codeOf(() => parseAtomic((MAX_UINT256 + 1n).toString()))).toBe("MONEY__OVERFLOW");
  });
  it.each(["0.5", "-1", "1e6", "", "007", "+1", " 1"])("refuses %j", (input) => {
    expect(codeOf(() => parseAtomic(input))).toMatch(/^MONEY__/);
  });
});

describe("formatting", () => {
  it("formats without trailing zeros", () => {
    expect(formatDecimalAmount(10_000n, { decimals: 6 })).toBe("0.01");
    expect(formatDecimalAmount(1_000_000n, { decimals: 6 })).toBe("1");
    expect(formatDecimalAmount(0n, { decimals: 6 })).toBe("0");
    expect(formatDecimalAmount(5n, { decimals: 0 })).toBe("5");
    expect(formatUsd(100_000n)).toBe("$0.1");
  });
  it("refuses negative amounts and bad decimals", () => {
    expect(codeOf(() => formatDecimalAmount(-1n, { decimals: 6 }))).toBe("MONEY__NEGATIVE");
    expect(codeOf(() => formatDecimalAmount(1n, { decimals: 1.5 }))).toBe("MONEY__INVALID_DECIMALS");
    expect(codeOf(() => parseDecimalAmount("1", { decimals: 37 }))).toBe("MONEY__INVALID_DECIMALS");
  });
});

describe("properties", () => {
  it("format then parse is the identity for every amount and decimals", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX_UINT256 / 10n ** 18n }),
        fc.integer({ min: 0, max: 18 }),
        (v, d) => {
          expect(parseDecimalAmount(formatDecimalAmount(v, { decimals: d }), { decimals: d })).toBe(v);
          expect(parseAtomic(v.toString())).toBe(v);
        },
      ),
    );
  });

  it("any string yields a bigint or a typed MONEY error, never anything else", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^\$?-?[0-9]{0,40}(\.[0-9]{0,10})?$/),
          fc.string({ unit: "grapheme" }),
        ),
        fc.integer({ min: 0, max: 18 }),
        (input, decimals) => {
          for (const parse of [() => parseDecimalAmount(input, { decimals }), () => parseAtomic(input)]) {
            try {
              const value = parse();
              expect(typeof value).toBe("bigint");
              expect(value >= 0n).toBe(true);
            } catch (e) {
              expect(isTollgateError(e)).toBe(true);
              expect((e as { code: string }).code).toMatch(/^MONEY__/);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
