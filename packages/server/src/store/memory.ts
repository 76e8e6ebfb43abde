import type {
  Claim,
  ClaimResult,
  ClaimState,
  DebitResult,
  IdempotencyRecord,
  ReserveResponseResult,
  Store,
  StoredResponse,
  StoreRecord,
  TokenBalance,
} from "./store.js";

/** Parameters of `createMemoryStore`. */
export type CreateMemoryStoreParameters = Readonly<{
  /**
   * The clock, in milliseconds since the epoch; expiries are compared with it.
   * @default Date.now
   */
  now?: () => number;
  /**
   * How many analytics records to keep (the oldest are dropped).
   * @default 10_000
   */
  maxRecords?: number;
  /**
   * How long a debit's operation key is remembered, in seconds.
   * @default 86_400
   */
  operationTtlSeconds?: number;
}>;

/** A memory store, with a view of its analytics records for tests and reports. */
export type MemoryStore = Store &
  Readonly<{
    /** The analytics records kept, oldest first. */
    records(): readonly StoreRecord[];
    /** The balance of a token hash, for tests and admin views. */
    tokenBalance(tokenHash: string): TokenBalance | undefined;
  }>;

type Expiring<T> = { value: T; expiresAt: number | undefined };

/**
 * A `Store` in process memory: the default for a single server process and for tests. Every method runs
 * without an `await` between its read and its write, so each is atomic within the process. Expired entries
 * are forgotten when read and swept every few thousand writes.
 *
 * @example
 * ```ts
 * import { createMemoryStore, createPaywall } from "@tollgate/server";
 * const store = createMemoryStore();
 * const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store, … });
 * ```
 */
export function createMemoryStore(parameters: CreateMemoryStoreParameters = {}): MemoryStore {
  const { now = Date.now, maxRecords = 10_000, operationTtlSeconds = 86_400 } = parameters;
  const claims = new Map<string, Expiring<Claim>>();
  const tokens = new Map<string, { balance: bigint; expiresAt: number }>();
  const operations = new Map<string, Expiring<DebitResult & { ok: true }>>();
  const responses = new Map<string, Expiring<StoredResponse>>();
  // Idempotency keys whose run is in flight or finished without a kept response (a kept one is in `responses`).
  const reservations = new Map<string, Expiring<Exclude<IdempotencyRecord, { state: "kept" }>>>();
  // A ring buffer: appending never moves the records already kept.
  const records: StoreRecord[] = [];
  let oldest = 0;
  let writes = 0;

  const nowSeconds = () => Math.floor(now() / 1000);
  const live = <T>(map: Map<string, Expiring<T>>, key: string): T | undefined => {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= nowSeconds()) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  };
  const sweep = () => {
    if (++writes % 4096 !== 0) return;
    const t = nowSeconds();
    for (const map of [claims, operations, responses, reservations] as Map<string, Expiring<unknown>>[]) {
      for (const [key, entry] of map)
        if (entry.expiresAt !== undefined && entry.expiresAt <= t) map.delete(key);
    }
  };

  return Object.freeze({
    async claim({ key, claim, expiresAt }): Promise<ClaimResult> {
      const existing = live(claims, key);
      if (existing !== undefined) return { claimed: false, existing };
      claims.set(key, { value: { ...claim }, expiresAt });
      sweep();
      return { claimed: true };
    },
    async transitionClaim({ key, from, to, owner, newOwner }): Promise<boolean> {
      const entry = claims.get(key);
      const existing = live(claims, key);
      if (entry === undefined || existing === undefined) return false;
      if (!from.includes(existing.state) || (owner !== undefined && existing.owner !== owner)) return false;
      entry.value = { ...existing, state: to satisfies ClaimState, owner: newOwner ?? existing.owner };
      return true;
    },
    async releaseClaim({ key, owner }): Promise<void> {
      if (live(claims, key)?.owner === owner) claims.delete(key);
    },
    async getClaim(key: string): Promise<Claim | undefined> {
      return live(claims, key);
    },
    async credit({ tokenHash, amount, expiresAt }): Promise<TokenBalance> {
      const token = tokens.get(tokenHash);
      const next = {
        balance: (token?.balance ?? 0n) + amount,
        expiresAt: Math.max(token?.expiresAt ?? 0, expiresAt),
      };
      tokens.set(tokenHash, next);
      return { ...next };
    },
    async debit({ tokenHash, amount, nowSeconds: at, operationKey }): Promise<DebitResult> {
      if (operationKey !== undefined) {
        const previous = live(operations, operationKey);
        if (previous !== undefined) return { ...previous, replayed: true };
      }
      const token = tokens.get(tokenHash);
      if (token === undefined) return { ok: false, reason: "unknown" };
      if (token.expiresAt <= at) return { ok: false, reason: "expired", balance: token.balance };
      if (token.balance < amount) return { ok: false, reason: "insufficient", balance: token.balance };
      token.balance -= amount;
      const result = {
        ok: true as const,
        balance: token.balance,
        expiresAt: token.expiresAt,
        replayed: false,
      };
      if (operationKey !== undefined) {
        operations.set(operationKey, { value: result, expiresAt: nowSeconds() + operationTtlSeconds });
        sweep();
      }
      return result;
    },
    async refund({ tokenHash, amount, operationKey }): Promise<TokenBalance | undefined> {
      if (operationKey !== undefined) operations.delete(operationKey);
      const token = tokens.get(tokenHash);
      if (token === undefined) return undefined;
      token.balance += amount;
      return { ...token };
    },
    async putResponse({ key, response, expiresAt }): Promise<void> {
      responses.set(key, { value: response, expiresAt });
      sweep();
    },
    async reserveResponse({ key, owner, proofHash, expiresAt }): Promise<ReserveResponseResult> {
      const kept = live(responses, key);
      if (kept !== undefined) return { reserved: false, existing: { state: "kept", response: kept } };
      const held = live(reservations, key);
      if (held !== undefined) return { reserved: false, existing: held };
      reservations.set(key, { value: { state: "in_flight", owner, proofHash }, expiresAt });
      sweep();
      return { reserved: true };
    },
    async finishResponse({ key, owner, record, expiresAt }): Promise<boolean> {
      const held = live(reservations, key);
      if (held?.state !== "in_flight" || held.owner !== owner) return false;
      if (record.state === "kept") {
        reservations.delete(key);
        responses.set(key, { value: record.response, expiresAt });
      } else {
        reservations.set(key, { value: { state: "not_kept", proofHash: record.proofHash }, expiresAt });
      }
      return true;
    },
    async releaseResponse({ key, owner }): Promise<void> {
      const held = live(reservations, key);
      if (held?.state === "in_flight" && held.owner === owner) reservations.delete(key);
    },
    async getResponse(key: string): Promise<StoredResponse | undefined> {
      return live(responses, key);
    },
    async record(record: StoreRecord): Promise<void> {
      if (records.length < maxRecords) {
        records.push(record);
      } else {
        records[oldest] = record;
        oldest = (oldest + 1) % maxRecords;
      }
    },
    records: () => [...records.slice(oldest), ...records.slice(0, oldest)],
    tokenBalance(tokenHash: string): TokenBalance | undefined {
      const token = tokens.get(tokenHash);
      return token === undefined ? undefined : { ...token };
    },
  });
}
