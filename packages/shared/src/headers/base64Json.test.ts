import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTollgateError } from "../errors/TollgateError.js";
import { paymentPayloadV1Schema } from "../schemas/v1.js";
import { decodeHeader, decodeHeaderJson, encodeHeaderJson, headerLimits } from "./base64Json.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isTollgateError(e) ? e.code : `untyped: ${String(e)}`;
  }
  return undefined;
}

const decode = (value: string) => decodeHeaderJson({ header: "X-PAYMENT", value });

describe("encodeHeaderJson", () => {
  it("writes padded standard base64 of JSON", () => {
    const value = encodeHeaderJson({ header: "X", value: { a: 1 } });
    expect(value).toBe(Buffer.from('{"a":1}').toString("base64"));
  });

  it("escapes non-ASCII so bare atob peers can read it", () => {
    const value = encodeHeaderJson({ header: "X", value: { d: "café ☕ 𝄞" } });
    const ascii = atob(value);
    expect(/^[\x20-\x7e]*$/.test(ascii)).toBe(true);
    expect(JSON.parse(ascii)).toEqual({ d: "café ☕ 𝄞" });
    expect(decode(value)).toEqual({ d: "café ☕ 𝄞" });
  });

  it("writes bigints as decimal strings", () => {
    expect(decode(encodeHeaderJson({ header: "X", value: { amount: 10_000n } }))).toEqual({
      amount: "10000",
    });
  });

  it("refuses to produce a header over 8 KiB", () => {
    expect(
      codeOf(() => encodeHeaderJson({ header: "X", value: { s: "a".repeat(headerLimits.encodeMax) } })),
    ).toBe("WIRE__ENCODE_FAILED");
  });

  it("refuses values that are not JSON", () => {
    expect(codeOf(() => encodeHeaderJson({ header: "X", value: undefined }))).toBe("WIRE__ENCODE_FAILED");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => encodeHeaderJson({ header: "X", value: cyclic }))).toBe("WIRE__ENCODE_FAILED");
  });
});

describe("decodeHeaderJson", () => {
  it("accepts unpadded base64 as @x402/core does", () => {
    const padded = Buffer.from('{"ab":1}').toString("base64");
    expect(padded.endsWith("=")).toBe(true);
    expect(decode(padded.replace(/=+$/, ""))).toEqual({ ab: 1 });
  });

  it("decodes raw UTF-8 JSON written by other encoders", () => {
    expect(decode(Buffer.from('{"d":"café"}', "utf8").toString("base64"))).toEqual({ d: "café" });
  });

  it.each([
    ["base64url characters", Buffer.from('{"a":"??>>"}').toString("base64url"), "base64url"],
    ["not base64", "not base64!", "base64"],
    ["impossible length", "abcde", "base64"],
    ["misplaced padding", "ab=c", "base64"],
    ["not JSON", btoa("hello"), "json"],
    ["invalid UTF-8", btoa("\xff\xfe"), "base64"],
    ["empty", "", "empty"],
    ["blank", "   ", "empty"],
  ])("refuses %s", (_name, value, reason) => {
    try {
      decode(value);
      expect.unreachable();
    } catch (e) {
      expect(isTollgateError(e, "WIRE__MALFORMED_HEADER")).toBe(true);
      expect((e as { context: { reason: string } }).context.reason).toBe(reason);
    }
  });

  it("refuses headers over 16 KiB before decoding", () => {
    expect(codeOf(() => decode("A".repeat(headerLimits.decodeMax + 4)))).toBe("WIRE__TOO_LARGE");
  });

  it("validates against a schema with path-level issues", () => {
    const value = encodeHeaderJson({ header: "X-PAYMENT", value: { x402Version: 1, scheme: "exact" } });
    try {
      decodeHeader({ header: "X-PAYMENT", value, schema: paymentPayloadV1Schema });
      expect.unreachable();
    } catch (e) {
      expect(isTollgateError(e, "WIRE__SCHEMA_MISMATCH")).toBe(true);
      const paths = (e as { context: { issues: { path: string }[] } }).context.issues.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(["network", "payload"]));
    }
  });
});

describe("properties", () => {
  it("round-trips any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        let encoded: string;
        try {
          encoded = encodeHeaderJson({ header: "X", value });
        } catch (e) {
          expect(isTollgateError(e, "WIRE__ENCODE_FAILED")).toBe(true);
          return;
        }
        expect(encoded).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
        // JSON drops -0's sign; compare through JSON.
        expect(decode(encoded)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 1000 },
    );
  });

  it("any string decodes to JSON or throws a typed WIRE error", () => {
    const mutated = fc
      .tuple(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.string({ maxLength: 3 }))
      .map(([v, at, junk]) => {
        const s = btoa(JSON.stringify(v) ?? "null");
        const i = at % (s.length + 1);
        return s.slice(0, i) + junk + s.slice(i + 1);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String(), mutated), (value) => {
        try {
          decode(value);
        } catch (e) {
          expect(isTollgateError(e)).toBe(true);
          expect((e as { code: string }).code).toMatch(/^WIRE__/);
        }
      }),
      { numRuns: 3000 },
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

/** A JSON string value whose header encoding is exactly `length` characters (a multiple of 4). */
function headerOfLength(length: number): string {
  const bytes = (length / 4) * 3;
  return btoa(`"${"a".repeat(bytes - 2)}"`);
}

describe("header limits and refusals, stated exactly", () => {
  it("encodes up to exactly 8 KiB and refuses one block more, saying how long it was", () => {
    const exact = encodeHeaderJson({ header: "X", value: "a".repeat((8192 / 4) * 3 - 2) });
    expect(exact).toHaveLength(8192);
    expect(errorOf(() => encodeHeaderJson({ header: "X", value: "a".repeat((8192 / 4) * 3 - 1) }))).toEqual({
      code: "WIRE__ENCODE_FAILED",
      context: { what: "X", reason: "8196 characters, over 8192" },
    });
    expect(headerLimits).toEqual({ encodeMax: 8192, decodeMax: 16384 });
  });

  it("decodes up to exactly 16 KiB and refuses a character more, whitespace included", () => {
    const exact = headerOfLength(16384);
    expect(exact).toHaveLength(16384);
    expect(decodeHeaderJson({ header: "X-PAYMENT", value: exact })).toHaveLength(12286);
    expect(errorOf(() => decodeHeaderJson({ header: "X-PAYMENT", value: `${exact} ` }))).toEqual({
      code: "WIRE__TOO_LARGE",
      context: { what: "X-PAYMENT", size: 16385, limit: 16384 },
    });
  });

  it("trims the value, and names why each malformed one was refused", () => {
    const header = "PAYMENT-SIGNATURE";
    expect(decodeHeaderJson({ header, value: `  ${btoa('{"a":1}')}\t` })).toEqual({ a: 1 });
    const cases: [string, string][] = [
      ["", "empty"],
      ["   ", "empty"],
      ["eyJhIjox-_", "base64url"],
      ["eyJh*", "base64"],
      ["eyJhI", "base64"], // a length of 4n + 1 is no base64
      ["/w==", "base64"], // 0xff: not UTF-8
      [btoa("{"), "json"],
    ];
    for (const [value, reason] of cases) {
      expect({ value, error: errorOf(() => decodeHeaderJson({ header, value })) }).toEqual({
        value,
        error: { code: "WIRE__MALFORMED_HEADER", context: { header, reason } },
      });
    }
  });

  it("refuses a value that is not a string with a typed error, not a TypeError", () => {
    for (const value of [123, null, undefined, {}, ["eyJ9"]]) {
      expect(errorOf(() => decodeHeaderJson({ header: "X", value: value as unknown as string }))).toEqual({
        code: "WIRE__MALFORMED_HEADER",
        context: { header: "X", reason: "empty" },
      });
    }
  });

  it("escapes DEL and everything above as \\uXXXX, keeps the rest of ASCII as it is", () => {
    const encoded = encodeHeaderJson({ header: "X", value: { s: "~\u007f\u0080é\uffff" } });
    expect(atob(encoded)).toBe('{"s":"~\\u007f\\u0080\\u00e9\\uffff"}');
  });

  it("names the header and says why when a value cannot be encoded", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const value of [undefined, circular, () => 1]) {
      expect(errorOf(() => encodeHeaderJson({ header: "PAYMENT-RESPONSE", value }))).toEqual({
        code: "WIRE__ENCODE_FAILED",
        context: { what: "PAYMENT-RESPONSE", reason: "not JSON" },
      });
    }
  });

  it("reports at most 20 schema issues, each with its dotted path", () => {
    const wide = paymentPayloadV1Schema.array();
    const value = Array.from({ length: 30 }, () => ({ x402Version: 1, scheme: 7 }));
    const error = errorOf(() =>
      decodeHeader({ header: "X", value: encodeHeaderJson({ header: "X", value }), schema: wide }),
    );
    expect(error?.code).toBe("WIRE__SCHEMA_MISMATCH");
    const { what, issues } = (error?.context ?? {}) as {
      what?: string;
      issues?: { path: string; message: string }[];
    };
    expect(what).toBe("X");
    expect(issues).toHaveLength(20);
    expect(issues?.[0]?.path).toMatch(/^0\.[a-zA-Z]+$/);
    expect(issues?.every((i) => typeof i.message === "string" && i.message !== "")).toBe(true);
  });
});
