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

/** The code and context of the TollgateError a call throws. */
function errorOf(fn: () => unknown): { code: string; context: unknown } | undefined {
  try {
    fn();
  } catch (e) {
    if (isTollgateError(e)) return { code: e.code, context: (e as { context?: unknown }).context };
    return { code: `untyped: ${String(e)}`, context: undefined };
  }
  return undefined;
}

describe("limits, stated exactly", () => {
  it("takes 2^256 - 1 and refuses 2^256 (the uint256 ceiling, written out)", () => {
    const ceiling = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    expect(MAX_UINT256.toString()).toBe(ceiling);
    expect(parseAtomic(ceiling)).toBe(2n ** 256n - 1n);
    expect(errorOf(() => parseAtomic((2n ** 256n).toString()))).toEqual({
      code: "MONEY__OVERFLOW",
      context: { input: (2n ** 256n).toString(), max: ceiling },
    });
  });

  it("refuses an input over 100 characters before parsing it, naming only its first 20", () => {
    const huge = 10n ** 200n;
    expect(parseAtomic("1".repeat(100), { max: huge })).toBe(BigInt("1".repeat(100)));
    expect(errorOf(() => parseAtomic("1".repeat(101), { max: huge }))).toEqual({
      code: "MONEY__OVERFLOW",
      context: { input: `${"1".repeat(20)}…`, max: MAX_UINT256.toString() },
    });
    expect(codeOf(() => parseUsd(`$${"1".repeat(100)}`, { max: huge * 10n ** 6n }))).toBe("MONEY__OVERFLOW");
  });

  it("accepts 0 to 36 decimals and refuses -1, 37 and fractions, naming them", () => {
    expect(parseDecimalAmount("1", { decimals: 0 })).toBe(1n);
    expect(parseDecimalAmount("1.5", { decimals: 36 })).toBe(15n * 10n ** 35n);
    expect(formatDecimalAmount(10n ** 36n, { decimals: 36 })).toBe("1");
    for (const decimals of [-1, 37, 2.5, Number.NaN]) {
      expect(errorOf(() => parseDecimalAmount("1", { decimals }))).toEqual({
        code: "MONEY__INVALID_DECIMALS",
        context: { decimals },
      });
    }
  });

  it("calls only a leading sign negative; a dash elsewhere is a malformed amount", () => {
    for (const input of ["-1", "$-1", "-$1", "-0"]) {
      expect(errorOf(() => parseUsd(input))).toEqual({ code: "MONEY__NEGATIVE", context: { input } });
    }
    for (const input of ["1-2", "$1-", "1$-", "1-$", "1.-5"]) {
      expect(errorOf(() => parseUsd(input))).toEqual({ code: "MONEY__INVALID_FORMAT", context: { input } });
    }
    expect(errorOf(() => formatDecimalAmount(-5n, { decimals: 6 }))).toEqual({
      code: "MONEY__NEGATIVE",
      context: { input: "-5" },
    });
  });

  it("names the input in every refusal", () => {
    expect(errorOf(() => parseAtomic("1.5"))).toEqual({
      code: "MONEY__INVALID_FORMAT",
      context: { input: "1.5" },
    });
    expect(errorOf(() => parseUsd("abc"))).toEqual({
      code: "MONEY__INVALID_FORMAT",
      context: { input: "abc" },
    });
    expect(errorOf(() => parseUsd(7 as unknown as string))).toEqual({
      code: "MONEY__INVALID_FORMAT",
      context: { input: "7" },
    });
    expect(errorOf(() => parseUsd("0.0000001"))).toEqual({
      code: "MONEY__TOO_MANY_DECIMALS",
      context: { input: "0.0000001", decimals: 6 },
    });
    expect(errorOf(() => parseUsd("2", { max: 1_000_000n }))).toEqual({
      code: "MONEY__OVERFLOW",
      context: { input: "2", max: "1000000" },
    });
  });

  it("pads a short fraction with zeros, never reading it as atomic units", () => {
    expect(parseUsd("0.1")).toBe(100_000n);
    expect(parseUsd("$3.05")).toBe(3_050_000n);
    expect(parseDecimalAmount("7", { decimals: 2 })).toBe(700n);
    expect(parseDecimalAmount("0", { decimals: 0 })).toBe(0n);
  });
});
