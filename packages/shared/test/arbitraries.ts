import fc from "fast-check";
import { defaultNetworks } from "../src/networks/defaults.js";

/** fast-check arbitraries of valid x402 wire values, for property tests of the decoders. */
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
const base58Chars = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const base58 = (min: number, max: number) =>
  fc.array(fc.constantFrom(...base58Chars), { minLength: min, maxLength: max }).map((c) => c.join(""));

export const atomicArb = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map((v) => v.toString());
export const evmAddressArb = hex(20);
export const solanaAddressArb = base58(32, 44);
export const networkArb = fc.constantFrom(...defaultNetworks);

export const requirementV2Arb = fc
  .record({
    network: networkArb,
    amount: atomicArb,
    evmPayTo: evmAddressArb,
    svmPayTo: solanaAddressArb,
    maxTimeoutSeconds: fc.integer({ min: 0, max: 3600 }),
    feePayer: solanaAddressArb,
    memo: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  })
  .map((r) => ({
    scheme: "exact",
    network: r.network.caip2,
    amount: r.amount,
    asset: r.network.usdc?.address ?? "",
    payTo: r.network.family === "evm" ? r.evmPayTo : r.svmPayTo,
    maxTimeoutSeconds: r.maxTimeoutSeconds,
    extra:
      r.network.family === "evm"
        ? { name: r.network.usdc?.eip712?.name ?? "", version: "2" }
        : { feePayer: r.feePayer, ...(r.memo === undefined ? {} : { memo: r.memo }) },
  }));

export const resourceArb = fc.record({
  url: fc.webUrl(),
  description: fc.string({ maxLength: 40 }),
  mimeType: fc.constantFrom("application/json", "text/plain", ""),
});

export const paymentRequiredV2Arb = fc.record({
  x402Version: fc.constant(2 as const),
  error: fc.constantFrom("payment_required", "Payment required"),
  resource: resourceArb,
  accepts: fc.array(requirementV2Arb, { minLength: 1, maxLength: 4 }),
});

export const evmPayloadArb = fc.record({
  signature: hex(65),
  authorization: fc.record({
    from: evmAddressArb,
    to: evmAddressArb,
    value: atomicArb,
    validAfter: fc.bigInt({ min: 0n, max: 1n << 40n }).map(String),
    validBefore: fc.bigInt({ min: 0n, max: 1n << 40n }).map(String),
    nonce: hex(32),
  }),
});

export const svmPayloadArb = fc
  .uint8Array({ minLength: 64, maxLength: 1232 })
  .map((b) => ({ transaction: Buffer.from(b).toString("base64") }));

/** Replaces one value somewhere in a JSON tree by an arbitrary JSON value, or deletes a key. */
export function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (typeof value !== "object" || value === null || path.length === 0) return replacement;
  const [head = 0, ...rest] = path;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const copy = [...value];
    const i = head % copy.length;
    copy[i] = mutate(copy[i], rest, replacement);
    return copy;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return replacement;
  const [key, inner] = entries[head % entries.length] as [string, unknown];
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (replacement === "__delete__" && rest.length === 0) delete copy[key];
  else copy[key] = mutate(inner, rest, replacement);
  return copy;
}

/** An arbitrary mutation: a path and a replacement (any JSON, or a deletion). */
export const mutationArb = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  replacement: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant("__delete__"),
    fc.constant(-1),
    fc.constant("1e400"),
    fc.string({ maxLength: 5000 }),
  ),
});
