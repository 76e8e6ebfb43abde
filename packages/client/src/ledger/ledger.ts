import type { Lane } from "@tollgate/shared";

/**
 * Where a recorded payment stands:
 * - `pending`: the proof was (or may have been) sent and no definitive answer came back; the next call with the
 *   same key re-sends this proof, never a new one;
 * - `settled`: the server answered with something other than a refusal;
 * - `refused`: the server refused the proof, so it is dead and a new payment may be signed;
 * - `consumed`: the server says the proof was already used (it settled, the response was lost).
 */
export type LedgerEntryState = "pending" | "settled" | "refused" | "consumed";

/** One payment of one logical request, as the ledger keeps it. Holds the proof: store it like a cheque. */
export type LedgerEntry = Readonly<{
  /** The logical request: `idem:<Idempotency-Key>` or `sha256:<method, URL and body>`. */
  key: string;
  /** The `Idempotency-Key` sent with the proof (the caller's, or a random one kept for every retry). */
  idempotencyKey: string;
  state: LedgerEntryState;
  url: string;
  method: string;
  lane: Lane;
  /** The proof header exactly as sent. */
  proof: Readonly<{ name: string; value: string }>;
  /** Further proof headers sent with it (the direct lane's chain and binding signature). */
  moreHeaders?: Readonly<Record<string, string>>;
  /** Lane data needed to finish the payment after a restart (the direct lane's signed transaction). */
  laneData?: Readonly<Record<string, string>>;
  /** What the proof pays, for budgets and events: network, asset, payee, amount (atomic, decimal string). */
  offer: Readonly<{ network: string; asset: string; payTo: string; amount: string; x402Version?: 1 | 2 }>;
  /** The on-chain identity of the proof (EVM nonce). */
  claim: string;
  /** Unix seconds after which the proof can no longer settle, when known. */
  validBefore?: number;
  /** Milliseconds since the epoch (the paying fetch's `now`). */
  createdAt: number;
  updatedAt: number;
}>;

/**
 * Where the paying fetch records each proof before sending it, so that a timeout, a lost response or a restart
 * leads to the same proof being sent again, never to a second payment. `put` must be durable when it resolves.
 *
 * @example
 * ```ts
 * import { createMemoryLedger, type PaymentLedger } from "@tollgate/client";
 * const ledger: PaymentLedger = createMemoryLedger();
 * ```
 */
export type PaymentLedger = Readonly<{
  /** The latest entry of a logical request, or `undefined`. */
  get(key: string): Promise<LedgerEntry | undefined>;
  /** Records an entry, replacing the previous one of its key. Resolves once it is stored. */
  put(entry: LedgerEntry): Promise<void>;
  /** Every entry still `pending`. */
  pending(): Promise<readonly LedgerEntry[]>;
}>;

/**
 * A ledger in memory: never pay twice within one process. Entries that are no longer pending are dropped.
 *
 * @example
 * ```ts
 * import { createMemoryLedger, createPayingFetch } from "@tollgate/client";
 * const payingFetch = createPayingFetch({ wallets: [wallet], ledger: createMemoryLedger() });
 * ```
 */
export function createMemoryLedger(): PaymentLedger {
  const entries = new Map<string, LedgerEntry>();
  return Object.freeze({
    async get(key: string) {
      return entries.get(key);
    },
    async put(entry: LedgerEntry) {
      if (entry.state === "pending") entries.set(entry.key, entry);
      else entries.delete(entry.key);
    },
    async pending() {
      return [...entries.values()];
    },
  });
}
