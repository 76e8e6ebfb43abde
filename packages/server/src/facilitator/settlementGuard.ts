/**
 * Remembers which payments a facilitator has started to settle, so that the same authorization or
 * transaction is settled at most once, also under concurrent calls. `claim` is atomic: of any number of
 * concurrent claims of one key exactly one gets `true`. Claims are permanent: a settle that failed after
 * sending a transaction must not be retried with the same payment (the chain decides its fate).
 */
export type SettlementGuard = Readonly<{
  /** Claims `key`; `true` for the first caller only. */
  claim(key: string): Promise<boolean>;
  /** Gives a claim back, for a settle that provably sent nothing (refused before any chain write). */
  release(key: string): Promise<void>;
}>;

/** Parameters of `createMemorySettlementGuard`. */
export type CreateMemorySettlementGuardParameters = Readonly<{
  /**
   * How many keys to remember; the oldest are forgotten past this (their authorizations have long
   * expired, and the chain refuses a used nonce or a processed transaction anyway).
   * @default 100_000
   */
  maxEntries?: number;
}>;

/**
 * A settlement guard in process memory: enough for one facilitator process. Several processes share a
 * guard through a store (the persistence issue brings them).
 *
 * @example
 * ```ts
 * import { createMemorySettlementGuard } from "@tollgate/server/facilitator";
 * const guard = createMemorySettlementGuard();
 * await guard.claim("eip155:8453:0xpayer:0xnonce"); // true, then false
 * ```
 */
export function createMemorySettlementGuard(
  parameters: CreateMemorySettlementGuardParameters = {},
): SettlementGuard {
  const { maxEntries = 100_000 } = parameters;
  const claimed = new Set<string>();
  return Object.freeze({
    async claim(key: string): Promise<boolean> {
      if (claimed.has(key)) return false;
      claimed.add(key);
      if (claimed.size > maxEntries) {
        const oldest = claimed.values().next().value;
        if (oldest !== undefined) claimed.delete(oldest);
      }
      return true;
    },
    async release(key: string): Promise<void> {
      claimed.delete(key);
    },
  });
}
