import { canonicalUrl } from "../policy/canonicalOrigin.js";
import type { BufferedRequest } from "./bufferRequest.js";

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  let out = "";
  for (const b of new Uint8Array(bytes)) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * The ledger key of one logical request: the caller's `Idempotency-Key` with the method and URL it was sent for
 * (a key reused for another request must not resume the first one's proof, nor send this request there), else
 * `sha256(method \n url \n body)`, so a retry of the same request finds the proof of the first attempt. The URL is in
 * its canonical spelling (`canonicalUrl`): the same request spelt `LOCALHOST.` or `[::ffff:127.0.0.1]` finds the
 * same proof rather than paying again.
 */
export async function requestKey(request: BufferedRequest): Promise<string> {
  const url = canonicalUrl(request.url);
  const explicit = request.headers.get("idempotency-key");
  if (explicit !== null && explicit !== "") return `idem:${request.method} ${url} ${explicit}`;
  const head = encoder.encode(`${request.method}\n${url}\n`);
  const body = request.body ?? new Uint8Array(0);
  const all = new Uint8Array(head.length + body.length);
  all.set(head, 0);
  all.set(body, head.length);
  return `sha256:${hex(await crypto.subtle.digest("SHA-256", all))}`;
}

/** A random `Idempotency-Key` for a logical request whose caller set none: 16 random bytes, hex. */
export function randomIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return hex(bytes.buffer);
}
