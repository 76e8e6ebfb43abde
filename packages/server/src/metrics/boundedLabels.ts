import { paywallReasons, refusalReasons } from "@tollgate/shared";

/** The label value of anything outside a configured set: one series for all of them. */
export const otherLabel = "other";

/** The `lane` label of a refusal that came before any lane was chosen. */
export const noLaneLabel = "none";

/** The `from` / `to` of a failover to the direct lane (`failed_over`). */
export const directLabel = "direct";

/**
 * The Store methods the paywall calls: the `operation` label of `tollgate_store_errors_total` (and its series
 * initialised at 0, so that `increase()` sees the first error).
 */
export const storeOperations: readonly string[] = [
  "claim",
  "transitionClaim",
  "releaseClaim",
  "getClaim",
  "credit",
  "debit",
  "refund",
  "reserveResponse",
  "finishResponse",
  "releaseResponse",
  "record",
];

/**
 * Every refusal reason Tollgate gives or relays: the paywall's own (`paywallReasons`) and the facilitators'
 * wire strings of both protocol generations (`refusalReasons`).
 */
export const knownRefusalReasons: readonly string[] = [
  ...new Set([
    ...Object.keys(paywallReasons),
    ...Object.values(refusalReasons).flatMap((r) => Object.values(r) as string[]),
  ]),
];

/** A label that keeps the values of a fixed set and maps anything else to `fallback`. */
export type BoundedLabel = (value: string | undefined) => string;

/**
 * Builds a `BoundedLabel` over `values`: a value in the set is kept as given there (EVM addresses compare
 * case-insensitively when `caseInsensitive`), anything else, `undefined` included, becomes `fallback`. So a
 * label can never take more values than the configuration has, whatever a request or a peer sends.
 *
 * @example
 * ```ts
 * const network = boundedLabel({ values: ["eip155:8453"] });
 * network("eip155:8453"); // "eip155:8453"
 * network("eip155:1"); // "other"
 * ```
 */
export function boundedLabel(
  parameters: Readonly<{ values: Iterable<string>; fallback?: string; caseInsensitive?: boolean }>,
): BoundedLabel {
  const { values, fallback = otherLabel, caseInsensitive = false } = parameters;
  const key = (value: string) => (caseInsensitive ? value.toLowerCase() : value);
  const known = new Map<string, string>();
  for (const value of values) known.set(key(value), value);
  return (value) => (value === undefined ? fallback : (known.get(key(value)) ?? fallback));
}
