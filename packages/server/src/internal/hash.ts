import { createHash, randomBytes, randomUUID } from "node:crypto";

/** SHA-256 of a UTF-8 string or bytes, lowercase hex. */
export function sha256Hex(input: string | Uint8Array): string {
  return createHash("sha256").update(input).digest("hex");
}

/** A random id (a UUID; node pools its entropy): the owner of a request's claims. */
export function randomId(): string {
  return randomUUID();
}

/** A new prepaid token: 32 random bytes, base64url without padding (43 characters). */
export function newTokenSecret(): string {
  return randomBytes(32).toString("base64url");
}
