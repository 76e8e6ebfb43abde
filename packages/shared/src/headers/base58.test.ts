import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTollgateError } from "../errors/TollgateError.js";
import { decodeBase58, encodeBase58 } from "./base58.js";

describe("base58", () => {
  it("matches known Solana values", () => {
    expect(encodeBase58(new Uint8Array(32))).toBe("11111111111111111111111111111111");
    const usdc = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
    expect(encodeBase58(decodeBase58({ value: usdc, length: 32 }))).toBe(usdc);
  });

  it("round-trips any bytes, leading zeros included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        expect(decodeBase58({ value: encodeBase58(bytes) })).toEqual(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses any string outside the alphabet or of the wrong length with a typed error", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.option(fc.constantFrom(32, 64), { nil: undefined }),
        (value, length) => {
          try {
            const bytes = decodeBase58({ value, ...(length === undefined ? {} : { length }) });
            if (length !== undefined) expect(bytes.length).toBe(length);
          } catch (e) {
            expect(isTollgateError(e, "WIRE__SCHEMA_MISMATCH")).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
    expect(() => decodeBase58({ value: "0OIl" })).toThrowError(
      expect.objectContaining({ code: "WIRE__SCHEMA_MISMATCH" }),
    );
  });
});
