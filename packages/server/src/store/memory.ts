import { TollgateError } from "@tollgate/shared";
import type {
  Claim,
  ClaimResult,
  ClaimState,
  DebitResult,
  IdempotencyRecord,
  ListedClaim,
  NewClaim,
  ReserveResponseResult,
  Store,
  StoreAdmin,
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
  /**
   * Most live claims, debit operation keys and `Idempotency-Key` reservations (in flight, or finished without
   * a kept response) kept together. When full (after forgetting expired ones), a new claim, keyed debit or
   * reservation is refused with `SERVER__STORE_FULL` (the paywall answers 503 `store_full`): a live claim is what
   * refuses a replayed proof, and a reservation what keeps a key from running twice, so none is ever evicted. A
   * served facilitator-lane payment holds two claims (its proof, its settled transaction). Direct-lane claims never expire: a
   * long-running server that takes direct transfers wants a durable store.
   * @default 100_000
   */
  maxClaims?: number;
  /**
   * Most bytes (estimated: keys, ids and kept response bodies) of claims, operation keys and kept responses.
   * Kept `Idempotency-Key` responses are evicted oldest first to make room; claims and operation keys never
   * are (see `maxClaims`).
   * @default 67_108_864 (64 MiB)
   */
  maxBytes?: number;
}>;

/** A memory store, with a view of its analytics records for tests and reports. */
export type MemoryStore = Store &
  StoreAdmin &
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
 * are forgotten when read, swept every few thousand writes, and at once when the store is full. Bounded by
 * `maxClaims` and `maxBytes`; when full of live claims it refuses new ones (`SERVER__STORE_FULL`, a 503 from
 * the paywall) rather than evict one, since evicting a live claim would let its proof be served again.
 * Prepaid-token balances are money and are neither bounded nor evicted.
 *
 * @example
 * ```ts
 * import { createMemoryStore, createPaywall } from "@tollgate/server";
 * const store = createMemoryStore();
 * const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store, … });
 * ```
 * @throws `SERVER__STORE_FULL` from `claim`, a keyed `debit` and `reserveResponse` when the store is full of live
 * entries.
 */
export function createMemoryStore(parameters: CreateMemoryStoreParameters = {}): MemoryStore {
  const {
    now = Date.now,
    maxRecords = 10_000,
    operationTtlSeconds = 86_400,
    maxClaims = 100_000,
    maxBytes = 67_108_864,
  } = parameters;
  const claims = new Map<string, Expiring<Claim>>();
  const tokens = new Map<string, { balance: bigint; expiresAt: number }>();
  const operations = new Map<string, Expiring<DebitResult & { ok: true }>>();
  const responses = new Map<string, Expiring<StoredResponse>>();
  // Idempotency keys whose run is in flight or finished without a kept response (a kept one is in `responses`).
  const reservations = new Map<string, Expiring<Exclude<IdempotencyRecord, { state: "kept" }>>>();
  const sizes = new WeakMap<object, number>();
  let bytes = 0;
  /** Sets an entry, keeping the byte count. */
  const put = <T>(map: Map<string, Expiring<T>>, key: string, entry: Expiring<T>, size: number) => {
    remove(map, key);
    map.set(key, entry);
    sizes.set(entry, size);
    bytes += size;
  };
  /** Deletes an entry, keeping the byte count. */
  const remove = <T>(map: Map<string, Expiring<T>>, key: string) => {
    const entry = map.get(key);
    if (entry === undefined) return;
    bytes -= sizes.get(entry) ?? 0;
    map.delete(key);
  };
  const claimSize = (key: string, claim: NewClaim) =>
    96 + 2 * (key.length + claim.owner.length + claim.proofHash.length + (claim.idempotencyKey?.length ?? 0));
  const responseSize = (key: string, response: StoredResponse) =>
    96 +
    2 * (key.length + response.proofHash.length) +
    response.body.byteLength +
    response.headers.reduce((sum, [name, value]) => sum + 2 * (name.length + value.length) + 32, 0);
  const reservationSize = (key: string, owner: string, proofHash: string) =>
    96 + 2 * (key.length + owner.length + proofHash.length);
  /** Keeps a response for retries, evicting the oldest kept ones for room; `false` when there is none. */
  const keepResponse = (key: string, response: StoredResponse, expiresAt: number): boolean => {
    const size = responseSize(key, response);
    remove(responses, key);
    for (const oldest of responses.keys()) {
      if (bytes + size <= maxBytes) break;
      remove(responses, oldest);
    }
    if (bytes + size > maxBytes) return false;
    put(responses, key, { value: response, expiresAt }, size);
    return true;
  };
  let lastFullSweep = Number.NEGATIVE_INFINITY;
  /**
   * Room for a new claim or operation key of `size` bytes: expired entries are forgotten first (at most once a
   * second while full), then kept responses evicted oldest first; live claims never.
   * @throws `SERVER__STORE_FULL` when there is still no room.
   */
  const makeRoom = (operation: string, size: number) => {
    const entries = () => claims.size + operations.size + reservations.size;
    const full = () => entries() >= maxClaims || bytes + size > maxBytes;
    if (!full()) return;
    if (now() - lastFullSweep >= 1_000) {
      lastFullSweep = now();
      sweepExpired();
    }
    for (const key of responses.keys()) {
      if (bytes + size <= maxBytes) break;
      remove(responses, key);
    }
    if (entries() >= maxClaims)
      throw new TollgateError("SERVER__STORE_FULL", { context: { operation, limit: "maxClaims" } });
    if (bytes + size > maxBytes)
      throw new TollgateError("SERVER__STORE_FULL", { context: { operation, limit: "maxBytes" } });
  };
  // A ring buffer: appending never moves the records already kept.
  const records: StoreRecord[] = [];
  let oldest = 0;
  let writes = 0;
  const append = (record: StoreRecord) => {
    if (records.length < maxRecords) {
      records.push(record);
    } else {
      records[oldest] = record;
      oldest = (oldest + 1) % maxRecords;
    }
  };

  const nowSeconds = () => Math.floor(now() / 1000);
  const live = <T>(map: Map<string, Expiring<T>>, key: string): T | undefined => {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= nowSeconds()) {
      remove(map, key);
      return undefined;
    }
    return entry.value;
  };
  function sweepExpired(): void {
    const t = nowSeconds();
    for (const map of [claims, operations, responses, reservations] as Map<string, Expiring<unknown>>[]) {
      for (const [key, entry] of map)
        if (entry.expiresAt !== undefined && entry.expiresAt <= t) remove(map, key);
    }
  }
  const sweep = () => {
    if (++writes % 4096 === 0) sweepExpired();
  };

  return Object.freeze({
    async claim({ key, claim, expiresAt }): Promise<ClaimResult> {
      const existing = live(claims, key);
      if (existing !== undefined) return { claimed: false, existing };
      const size = claimSize(key, claim);
      makeRoom("claim", size);
      put(claims, key, { value: { ...claim, movedAt: nowSeconds() }, expiresAt }, size);
      sweep();
      return { claimed: true };
    },
    async transitionClaim(parameters): Promise<boolean> {
      const { key, from, to, owner, newOwner, proofHash, unmovedForSeconds } = parameters;
      const entry = claims.get(key);
      const existing = live(claims, key);
      if (entry === undefined || existing === undefined) return false;
      const t = nowSeconds();
      if (!from.includes(existing.state)) return false;
      if (owner !== undefined && existing.owner !== owner) return false;
      if (proofHash !== undefined && existing.proofHash !== proofHash) return false;
      if (unmovedForSeconds !== undefined && existing.movedAt + unmovedForSeconds > t) return false;
      entry.value = {
        ...existing,
        state: to satisfies ClaimState,
        owner: newOwner ?? existing.owner,
        movedAt: t,
      };
      return true;
    },
    async releaseClaim({ key, owner, from }): Promise<void> {
      const existing = live(claims, key);
      if (existing?.owner === owner && from.includes(existing.state)) remove(claims, key);
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
      const operationSize = operationKey === undefined ? 0 : 128 + 2 * operationKey.length;
      // Room first: a debit whose key could not be kept would not be refused when replayed.
      if (operationKey !== undefined) makeRoom("debit", operationSize);
      token.balance -= amount;
      const result = {
        ok: true as const,
        balance: token.balance,
        expiresAt: token.expiresAt,
        replayed: false,
      };
      if (operationKey !== undefined) {
        put(
          operations,
          operationKey,
          { value: result, expiresAt: nowSeconds() + operationTtlSeconds },
          operationSize,
        );
        sweep();
      }
      return result;
    },
    async refund({ tokenHash, amount, operationKey }): Promise<TokenBalance | undefined> {
      if (operationKey !== undefined) remove(operations, operationKey);
      const token = tokens.get(tokenHash);
      if (token === undefined) return undefined;
      token.balance += amount;
      return { ...token };
    },
    async reserveResponse({ key, owner, proofHash, expiresAt }): Promise<ReserveResponseResult> {
      const kept = live(responses, key);
      if (kept !== undefined) return { reserved: false, existing: { state: "kept", response: kept } };
      const held = live(reservations, key);
      if (held !== undefined) return { reserved: false, existing: held };
      // An in-flight key guards one handler run, like a claim: it takes room and is never evicted.
      const size = reservationSize(key, owner, proofHash);
      makeRoom("reserve_response", size);
      put(reservations, key, { value: { state: "in_flight", owner, proofHash }, expiresAt }, size);
      sweep();
      return { reserved: true };
    },
    async finishResponse({ key, owner, record, expiresAt }): Promise<boolean> {
      const held = live(reservations, key);
      if (held?.state !== "in_flight" || held.owner !== owner) return false;
      remove(reservations, key);
      // A response there is no room to keep is remembered as not kept, so a retry is not run again for free.
      if (record.state === "kept" && keepResponse(key, record.response, expiresAt)) return true;
      const proofHash = record.state === "kept" ? record.response.proofHash : record.proofHash;
      put(
        reservations,
        key,
        { value: { state: "not_kept", proofHash }, expiresAt },
        reservationSize(key, "", proofHash),
      );
      return true;
    },
    async releaseResponse({ key, owner }): Promise<void> {
      const held = live(reservations, key);
      if (held?.state === "in_flight" && held.owner === owner) remove(reservations, key);
    },
    async record(record: StoreRecord): Promise<void> {
      append(record);
    },
    async recordBatch(batch: readonly StoreRecord[]): Promise<void> {
      for (const record of batch) append(record);
    },
    records: () => [...records.slice(oldest), ...records.slice(0, oldest)],
    tokenBalance(tokenHash: string): TokenBalance | undefined {
      const token = tokens.get(tokenHash);
      return token === undefined ? undefined : { ...token };
    },
    async getToken(tokenHash: string): Promise<TokenBalance | undefined> {
      const token = tokens.get(tokenHash);
      return token === undefined ? undefined : { ...token };
    },
    async revokeToken(tokenHash: string): Promise<boolean> {
      return tokens.delete(tokenHash);
    },
    async listClaims({ state, limit }) {
      const listed: ListedClaim[] = [];
      for (const key of [...claims.keys()].sort()) {
        const claim = live(claims, key);
        if (claim?.state !== state) continue;
        if (listed.length === limit) return { claims: listed, complete: false };
        const expiresAt = claims.get(key)?.expiresAt;
        listed.push({ key, claim: { ...claim }, ...(expiresAt === undefined ? {} : { expiresAt }) });
      }
      return { claims: listed, complete: true };
    },
    async readRecords({ since, until, limit }): Promise<readonly StoreRecord[]> {
      const kept = [...records.slice(oldest), ...records.slice(0, oldest)];
      return kept.filter((r) => r.at >= since && r.at < until).slice(0, limit);
    },
  });
}
