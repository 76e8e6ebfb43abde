import { createHash, timingSafeEqual } from "node:crypto";
import { TollgateError } from "@tollgate/shared";

/** The fewest characters an admin key may have. */
export const minAdminKeyLength = 32;

/**
 * The placeholder `examples/paid-api/.env.example` shows for `TOLLGATE_ADMIN_KEY`: long enough, and refused, so a
 * copied example never runs with it.
 */
export const adminKeyPlaceholder = "replace-me-with-openssl-rand-base64-32-output";

/** Words that mark a key as a placeholder or a default wherever they appear in it (compared in lowercase). */
const placeholderWords = [
  "changeme",
  "change-me",
  "change_me",
  "replace",
  "placeholder",
  "example",
  "password",
  "secret",
  "admin",
  "default",
  "tollgate",
] as const;

/** Why a key is refused, or `undefined` for a key that may be used. */
function weakness(key: string): "empty" | "too_short" | "known_default" | undefined {
  if (key.length === 0) return "empty";
  const lower = key.toLowerCase();
  if (lower === adminKeyPlaceholder || placeholderWords.some((word) => lower.includes(word))) {
    return "known_default";
  }
  if (key.length < minAdminKeyLength) return "too_short";
  // One character repeated, or any pattern of up to 8 characters repeated ("abcabcabc…", "12341234…").
  for (let period = 1; period <= 8; period++) {
    if ([...key].every((char, i) => char === key[i % period])) return "known_default";
  }
  return undefined;
}

/**
 * Refuses an admin key that is empty, shorter than `minAdminKeyLength`, or a known default or placeholder (the
 * example's, a word such as `changeme` or `admin`, one character or a short pattern repeated).
 * @throws `SERVER__WEAK_ADMIN_KEY` with the reason; the key is never in the error.
 */
export function assertStrongAdminKey(key: string): void {
  const reason = weakness(key);
  if (reason !== undefined) {
    throw new TollgateError("SERVER__WEAK_ADMIN_KEY", { context: { reason, minLength: minAdminKeyLength } });
  }
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * A check of presented keys against `key`, in constant time: both are hashed with SHA-256 and the equal-length
 * digests compared with `crypto.timingSafeEqual`, so neither the length nor a common prefix of a guess changes
 * how long the comparison takes.
 *
 * @example
 * ```ts
 * import { bearerKey, createAdminKeyCheck } from "@tollgate/server/admin";
 * const matches = createAdminKeyCheck(process.env.TOLLGATE_ADMIN_KEY ?? "");
 * const allowed = matches(bearerKey(request.headers.get("authorization")) ?? "");
 * ```
 * @throws `SERVER__WEAK_ADMIN_KEY` for a weak key (see `assertStrongAdminKey`).
 */
export function createAdminKeyCheck(key: string): (presented: string) => boolean {
  assertStrongAdminKey(key);
  const expected = digest(key);
  return (presented) => timingSafeEqual(digest(presented), expected);
}

/** The key of an `Authorization: Bearer <key>` header; `undefined` for any other header or none. */
export function bearerKey(authorization: string | null): string | undefined {
  if (authorization === null) return undefined;
  const match = /^Bearer ([^\s]+)$/i.exec(authorization);
  return match?.[1];
}
