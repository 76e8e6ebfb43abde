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
  /**
   * The id of the proof's hold in a shared `BudgetStore`: a process that finds the entry after a restart releases
   * that hold once the proof is provably dead.
   */
  holdId?: string;
  /**
   * Set when another pending proof of the same logical request held its place: this proof is kept beside it (under
   * `ledgerSlot(entry)`) rather than replacing it, so neither proof whose outcome was not received is forgotten.
   * `get` returns the entry without a slot; `pending` lists both. The paying fetch re-sends the oldest first.
   */
  slot?: string;
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
  /** The latest entry of a logical request without a `slot`, or `undefined`. */
  get(key: string): Promise<LedgerEntry | undefined>;
  /**
   * Records an entry, replacing the previous one of its `ledgerSlot` (its key, or its key and slot). Resolves once
   * it is stored.
   */
  put(entry: LedgerEntry): Promise<void>;
  /** Every entry still `pending`, slotted ones included. */
  pending(): Promise<readonly LedgerEntry[]>;
  /**
   * For a ledger several processes share: runs `run` while holding this ledger's lease on the logical request `key`
   * across processes, so two processes paying one request never both sign. The paying fetch calls it around the
   * pay-once section (after its in-process per-key lock). A ledger of one process leaves it out.
   * @throws `CLIENT__LEDGER_BUSY` when the lease stays held elsewhere past the ledger's bounded wait
   */
  lease?<T>(key: string, run: () => Promise<T>): Promise<T>;
}>;

/**
 * How long a consumed proof blocks paying its logical request again (ms): a call for the same request within it
 * re-sends that proof (the server replays its answer or says it was used) instead of paying anew, and the proof-life
 * book keeps counting a spent proof against its request's `maxPerRequest` for as long.
 */
export const consumedMemoryMs = 3_600_000;

/** How many answered entries of explicit `Idempotency-Key`s a memory ledger keeps, oldest forgotten first. */
const maxAnswered = 1024;

/**
 * Whether an entry stays in the ledger once answered: those of a caller's explicit `Idempotency-Key`, so a later
 * call with that key re-sends the recorded proof (the server replays its response) instead of paying again, and
 * consumed ones of any key (the proof may have settled: the same request is not paid again automatically).
 */
export function keepsAnswered(entry: LedgerEntry): boolean {
  if (entry.state === "consumed") return true;
  return entry.key.startsWith("idem:") && entry.state !== "refused";
}

/**
 * Where a ledger stores an entry: its logical request's key, or for a proof kept beside another pending one of the
 * same request, the key and its slot. A custom `PaymentLedger` stores by this, not by `entry.key`.
 *
 * @example
 * ```ts
 * import { ledgerSlot } from "@tollgate/client";
 * entries.set(ledgerSlot(entry), entry);
 * ```
 */
export function ledgerSlot(entry: Pick<LedgerEntry, "key" | "slot">): string {
  return entry.slot === undefined ? entry.key : `${entry.key}\u0000${entry.slot}`;
}

/**
 * Whether a ledger keeps an entry once written: pending ones (slotted ones too), and answered ones of a request's own
 * slot that `keepsAnswered`. A slotted entry stays only while pending: once answered, the request's own entry tells
 * the rest.
 */
export function keepsEntry(entry: LedgerEntry): boolean {
  return entry.state === "pending" || (entry.slot === undefined && keepsAnswered(entry));
}

/**
 * A stored entry read back (a file line, a database row, a Redis value): `undefined` when it is not JSON or lacks
 * the fields every entry has, so a torn or foreign value never counts as a proof.
 */
export function parseLedgerEntry(text: string): LedgerEntry | undefined {
  try {
    const value = JSON.parse(text) as Partial<LedgerEntry> | null;
    if (
      typeof value?.key !== "string" ||
      typeof value.state !== "string" ||
      typeof value.proof !== "object" ||
      value.proof === null
    ) {
      return undefined;
    }
    return value as LedgerEntry;
  } catch {
    // Not JSON (a torn last line from a crash mid-write): the entry was never acknowledged, so it never counted.
    return undefined;
  }
}

/**
 * Applies an entry to a ledger's map of the latest entries by `ledgerSlot`: pending ones and answered ones of explicit
 * `Idempotency-Key`s stay (the oldest answered ones beyond 1024 are forgotten), the rest are dropped.
 */
export function rememberEntry(entries: Map<string, LedgerEntry>, entry: LedgerEntry): void {
  const slot = ledgerSlot(entry);
  entries.delete(slot);
  if (keepsEntry(entry)) entries.set(slot, entry);
  let answered = 0;
  for (const e of entries.values()) if (e.state !== "pending") answered++;
  if (answered <= maxAnswered) return;
  for (const e of entries.values()) {
    if (e.state === "pending") continue;
    entries.delete(ledgerSlot(e));
    return;
  }
}

/**
 * A ledger in memory: never pay twice within one process. Answered entries are dropped, except those of explicit
 * `Idempotency-Key`s (the latest 1024).
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
      rememberEntry(entries, entry);
    },
    async pending() {
      return [...entries.values()].filter((e) => e.state === "pending");
    },
  });
}
