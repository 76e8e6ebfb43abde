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
 * `sha256(method \n url \n body)`, so a retry of the same request finds the proof of the first attempt.
 */
export async function requestKey(request: BufferedRequest): Promise<string> {
  const explicit = request.headers.get("idempotency-key");
  if (explicit !== null && explicit !== "") return `idem:${request.method} ${request.url} ${explicit}`;
  const head = encoder.encode(`${request.method}\n${request.url}\n`);
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
