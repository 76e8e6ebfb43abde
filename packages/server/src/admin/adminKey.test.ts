import { createHash } from "node:crypto";
import { isTollgateError } from "@tollgate/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adminKeyPlaceholder, assertStrongAdminKey, bearerKey, createAdminKeyCheck } from "./adminKey.js";

const goodKey = "Zq3v9Xk2LmN8pR4tW7yB1cD5fG6hJ0sA"; // 32 characters, no pattern
const reasonOf = (key: string): string | undefined => {
  try {
    assertStrongAdminKey(key);
    return undefined;
  } catch (error) {
    if (!isTollgateError(error, "SERVER__WEAK_ADMIN_KEY")) throw error;
    // The refusal never carries the key (a key long enough not to be in the fixed message by chance).
    if (key.length >= 16) expect(JSON.stringify({ ...error, message: error.message })).not.toContain(key);
    return error.context.reason;
  }
};

describe("admin key strength", () => {
  it("refuses an empty key, a short one, and known defaults or placeholders", () => {
    expect(reasonOf("")).toBe("empty");
    expect(reasonOf("Zq3v9Xk2LmN8pR4tW7yB1cD5fG6hJ0s")).toBe("too_short");
    for (const key of ["changeme", "admin", "secret", "password"])
      expect(reasonOf(key)).toBe("known_default");
    expect(reasonOf(adminKeyPlaceholder)).toBe("known_default");
    expect(reasonOf("a".repeat(64))).toBe("known_default");
    expect(reasonOf("abcd".repeat(10))).toBe("known_default");
    expect(reasonOf("12345678".repeat(5))).toBe("known_default");
    expect(reasonOf(`CHANGEME-${goodKey}`)).toBe("known_default");
    expect(reasonOf(`${goodKey}-admin`)).toBe("known_default");
  });

  it("accepts a random key of 32 characters or more", () => {
    expect(reasonOf(goodKey)).toBeUndefined();
    expect(reasonOf("k7PZ1mXq0vJ3rT9yWb2nC5dF8gH4jL6s+/aQ=")).toBeUndefined();
  });
});

describe("admin key comparison", () => {
  it("matches the key only, whatever shares its prefix or length", () => {
    const matches = createAdminKeyCheck(goodKey);
    expect(matches(goodKey)).toBe(true);
    for (const guess of [
      "",
      goodKey.slice(0, -1),
      `${goodKey}x`,
      `${goodKey.slice(0, -1)}B`,
      goodKey.toLowerCase(),
      createHash("sha256").update(goodKey).digest("hex"),
    ]) {
      expect(matches(guess)).toBe(false);
    }
  });

  it("is true for exactly the key, over any guess", () => {
    const matches = createAdminKeyCheck(goodKey);
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (guess) => matches(guess) === (guess === goodKey)));
  });

  it("reads the key of `Authorization: Bearer <key>` only", () => {
    expect(bearerKey(`Bearer ${goodKey}`)).toBe(goodKey);
    expect(bearerKey(`bearer ${goodKey}`)).toBe(goodKey);
    expect(bearerKey(null)).toBeUndefined();
    expect(bearerKey(goodKey)).toBeUndefined();
    expect(bearerKey(`Basic ${goodKey}`)).toBeUndefined();
    expect(bearerKey(`Bearer ${goodKey} extra`)).toBeUndefined();
    expect(bearerKey("Bearer ")).toBeUndefined();
  });
});
