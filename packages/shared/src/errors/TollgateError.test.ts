import { describe, expect, it } from "vitest";
import { errorMessages } from "./codes.js";
import { refusalReasonFor, refusalReasons } from "./refusalReasons.js";
import { isTollgateError, TollgateError } from "./TollgateError.js";

describe("TollgateError", () => {
  it("carries code, typed context, cause and a docs anchor", () => {
    const cause = new Error("boom");
    const error = new TollgateError("FACILITATOR__TIMEOUT", {
      context: { facilitator: "https://f.example", endpoint: "/settle", timeoutMs: 5000 },
      cause,
    });
    expect(error.name).toBe("TollgateError");
    expect(error.code).toBe("FACILITATOR__TIMEOUT");
    expect(error.context.timeoutMs).toBe(5000);
    expect(error.cause).toBe(cause);
    expect(error.message.startsWith("[FACILITATOR__TIMEOUT] ")).toBe(true);
    expect(error.docsPath).toBe("docs/errors.md#facilitator-timeout");
  });

  it("is recognised by name, also across copies of the package", () => {
    const foreign = Object.assign(new Error("x"), { name: "TollgateError", code: "MONEY__NEGATIVE" });
    expect(isTollgateError(foreign)).toBe(true);
    expect(isTollgateError(foreign, "MONEY__NEGATIVE")).toBe(true);
    expect(isTollgateError(foreign, "MONEY__OVERFLOW")).toBe(false);
    expect(isTollgateError(new Error("x"))).toBe(false);
    expect(isTollgateError(null)).toBe(false);
    expect(isTollgateError("TollgateError")).toBe(false);
  });

  it("has a message for every code, and codes are AREA__WHAT", () => {
    for (const code of Object.keys(errorMessages)) expect(code).toMatch(/^[A-Z]+__[A-Z0-9_]+$/);
  });
});

describe("refusalReasons", () => {
  it("gives snake_case wire strings for both generations", () => {
    for (const [key, value] of Object.entries(refusalReasons)) {
      expect(key).toMatch(/^[a-z0-9_]+$/);
      expect(value.v1).toMatch(/^[a-z0-9_]+$/);
      expect(value.v2).toMatch(/^[a-z0-9_]+$/);
    }
    expect(refusalReasonFor("evm_signature", 2)).toBe("invalid_exact_evm_signature");
    expect(refusalReasonFor("evm_signature", 1)).toBe("invalid_exact_evm_payload_signature");
  });
});
