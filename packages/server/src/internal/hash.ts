import { createHash, randomBytes } from "node:crypto";

/** SHA-256 of a UTF-8 string or bytes, lowercase hex. */
export function sha256Hex(input: string | Uint8Array): string {
  return createHash("sha256").update(input).digest("hex");
}

/** A random id (16 bytes, hex): the owner of a request's claims. */
export function randomId(): string {
  return randomBytes(16).toString("hex");
}

/** A new prepaid token: 32 random bytes, base64url without padding (43 characters). */
export function newTokenSecret(): string {
  return randomBytes(32).toString("base64url");
}
