import type { Lane } from "@tollgate/shared";

/**
 * The life of a payment proof's claim (the transitions between these states, and which lane may ask for which,
 * are in ONE table: `claimTransitions` in `claimLife.ts`; a store only stores them):
 * - `pending`: a request holds it (verifying, running the handler, settling). One that has not moved for the
 *   paywall's `staleClaimSeconds` belonged to a process that died: a retry of the same proof may take it over;
 * - `pending_settlement`: a `/settle` may have reached a facilitator and its fate is unknown; a retry of the
 *   same proof may take the claim over;
 * - `settled`: the money moved; the proof is spent;
 * - `dead`: the proof was never sent to `/settle` and never will be (every facilitator was unavailable).
 * A claim whose proof provably stayed unspent is deleted (`releaseClaim`), so the proof can be presented again.
 */
export type ClaimState = "pending" | "pending_settlement" | "settled" | "dead";

/** One claim, as the store keeps it. */
export type Claim = Readonly<{
  state: ClaimState;
  /** The request that holds the claim (a random id per request). */
  owner: string;
  /** SHA-256 (hex) of the proof's header values: the same claim key may come with a different encoding. */
  proofHash: string;
  /** SHA-256 (hex) of the request's `Idempotency-Key`, when it sent one. */
  idempotencyKey?: string;
  /**
   * When the claim was made or last moved (`transitionClaim`), Unix seconds by the store's clock: the store sets
   * it. `0` for a Redis claim written before the field existed (such a claim is never stale).
   */
  movedAt: number;
}>;

/** A claim as a lane asks for it: the store stamps `movedAt`. */
export type NewClaim = Omit<Claim, "movedAt">;

/** What `claim` found: the claim is now ours, or someone holds it already. */
export type ClaimResult = Readonly<{ claimed: true }> | Readonly<{ claimed: false; existing: Claim }>;

/** A prepaid token's balance as the store keeps it (the token itself is never stored, only its hash). */
export type TokenBalance = Readonly<{
  /** Atomic units of USDC (6 decimals). */
  balance: bigint;
  /** Unix seconds. */
  expiresAt: number;
}>;

/** What a debit did. `replayed` marks a debit already made under the same operation key (not debited twice). */
export type DebitResult =
  | Readonly<{ ok: true; balance: bigint; expiresAt: number; replayed: boolean }>
  | Readonly<{ ok: false; reason: "unknown" | "expired" | "insufficient"; balance?: bigint }>;

/** A response kept for `Idempotency-Key` retries. */
export type StoredResponse = Readonly<{
  /** SHA-256 (hex) of the proof that paid for it: a retry with another proof gets 409. */
  proofHash: string;
  status: number;
  headers: readonly (readonly [string, string])[];
  body: Uint8Array;
}>;

/**
 * What an `Idempotency-Key` holds in the store (its key is the hash of the key with its request's scope):
 * - `in_flight`: the request `owner` runs under it, paid (or being paid) with the proof `proofHash`;
 * - `kept`: a run finished and its response is kept for replays;
 * - `not_kept`: a run finished and was charged, but its response was too large to keep: a retry is not run again.
 */
export type IdempotencyRecord =
  | Readonly<{ state: "in_flight"; owner: string; proofHash: string }>
  | Readonly<{ state: "kept"; response: StoredResponse }>
  | Readonly<{ state: "not_kept"; proofHash: string }>;

/** What `reserveResponse` found: the key is now the caller's, or it is held or finished already. */
export type ReserveResponseResult =
  | Readonly<{ reserved: true }>
  | Readonly<{ reserved: false; existing: IdempotencyRecord }>;

/** An analytics record: what happened to one payment attempt. Never holds a secret (no proof, no token). */
export type StoreRecord = Readonly<{
  /** Unix milliseconds. */
  at: number;
  type: string;
  route?: string;
  lane?: Lane;
  reason?: string;
  facilitator?: string;
  network?: string;
  amount?: bigint;
  payer?: string;
  durationMs?: number;
}>;

/**
 * Where a paywall keeps what must survive a request: proof claims (replay protection), prepaid-token balances,
 * idempotent responses and analytics records. Every method is atomic on its own, so several server processes
 * that share one store (SQL `INSERT … ON CONFLICT`, Redis `SET NX` / Lua) never serve one proof twice or let
 * a balance go below zero. Methods reject only for infrastructure failures; the paywall then fails closed.
 */
export type Store = Readonly<{
  /**
   * Claims `key` for `claim.owner` when nobody holds it (or its claim expired), stamping `movedAt` with the
   * store's clock. Of any number of concurrent claims of one key exactly one gets `{ claimed: true }`.
   * `expiresAt` (Unix seconds) lets the store forget the claim once the proof can no longer be valid; without it
   * the claim is permanent. Lanes call it through `claimLife.ts` (`takeClaim`), never directly.
   */
  claim(parameters: Readonly<{ key: string; claim: NewClaim; expiresAt?: number }>): Promise<ClaimResult>;
  /**
   * One compare-and-set: moves the live claim of `key` to `to` (and stamps `movedAt` with the store's clock)
   * only when every given condition holds, and answers whether it moved. Of any number of concurrent calls whose
   * conditions held before, exactly one moves the claim (SQL `UPDATE … WHERE … RETURNING`, a Redis Lua script,
   * or a synchronous step in memory). Conditions:
   * - `from`: its state is one of these;
   * - `owner`: its owner is this request;
   * - `proofHash`: it was claimed with this proof (a takeover is only for a retry of the same proof);
   * - `unmovedForSeconds`: it has not moved for at least this long: `movedAt + unmovedForSeconds <= now`
   *   (a `pending` claim whose process died: the stale-pending rule).
   * `newOwner` hands the claim over. Which moves are legal is policy, in `claimLife.ts` (`moveClaim`); a store
   * applies what it is asked.
   *
   * @example
   * ```ts
   * // A retry of the same proof takes over a pending claim nobody moved for two minutes.
   * const mine = await store.transitionClaim({
   *   key, from: ["pending"], to: "pending", proofHash, unmovedForSeconds: 120, newOwner: requestId,
   * });
   * ```
   */
  transitionClaim(
    parameters: Readonly<{
      key: string;
      from: readonly ClaimState[];
      to: ClaimState;
      owner?: string;
      newOwner?: string;
      proofHash?: string;
      unmovedForSeconds?: number;
    }>,
  ): Promise<boolean>;
  /** Deletes the live claim of `owner` when its state is one of `from` (its proof provably stayed unspent). */
  releaseClaim(
    parameters: Readonly<{ key: string; owner: string; from: readonly ClaimState[] }>,
  ): Promise<void>;
  /** The claim of `key`, if any (a cheap look before expensive checks; `claim` stays the arbiter). */
  getClaim(key: string): Promise<Claim | undefined>;
  /** Creates a token with a balance, or adds to an existing token's balance and extends its expiry. */
  credit(
    parameters: Readonly<{ tokenHash: string; amount: bigint; expiresAt: number }>,
  ): Promise<TokenBalance>;
  /**
   * Takes `amount` from a token, all or nothing; never below zero. With `operationKey`, a second debit under
   * the same key takes nothing and answers the first result with `replayed: true`.
   */
  debit(
    parameters: Readonly<{ tokenHash: string; amount: bigint; nowSeconds: number; operationKey?: string }>,
  ): Promise<DebitResult>;
  /** Gives back a debit (the handler failed): credits `amount` and forgets `operationKey`. */
  refund(
    parameters: Readonly<{ tokenHash: string; amount: bigint; operationKey?: string }>,
  ): Promise<TokenBalance | undefined>;
  /**
   * Reserves an `Idempotency-Key` for the request `owner` when no live record holds it, so one key runs its
   * handler once: of any number of concurrent reservations of one key exactly one gets `{ reserved: true }`, the
   * others the record that holds it (`in_flight`, `kept` or `not_kept`). The reservation is forgotten at
   * `expiresAt` (Unix seconds) unless `finishResponse` replaces it first. One atomic step: SQL `INSERT … ON
   * CONFLICT (key) DO UPDATE SET …` that takes the row over only when it expired, `RETURNING` the row and whether
   * it is now the caller's; Redis one Lua script (`GET`, else `SET … EXAT expiresAt`). A bounded store refuses a
   * new reservation it has no room for with `SERVER__STORE_FULL` (the paywall answers 503 `store_full`), as it
   * refuses a claim.
   * @throws `SERVER__STORE_FULL` from a bounded store (e.g. the memory store) that is full of live entries.
   *
   * @example
   * ```ts
   * const result = await store.reserveResponse({ key, owner: requestId, proofHash, expiresAt: now + 300 });
   * if (!result.reserved && result.existing.state === "kept") return replay(result.existing.response);
   * ```
   */
  reserveResponse(
    parameters: Readonly<{ key: string; owner: string; proofHash: string; expiresAt: number }>,
  ): Promise<ReserveResponseResult>;
  /**
   * Replaces the `in_flight` record of `key` held by `owner` with how its run finished (`kept` with the response,
   * or `not_kept`), until `expiresAt` (Unix seconds). Returns whether `owner` still held it (`false`: its
   * reservation expired or was released; nothing changed). One atomic step: SQL `UPDATE … WHERE key = $1 AND
   * state = 'in_flight' AND owner = $2`; Redis a Lua compare-and-set.
   *
   * @example
   * ```ts
   * await store.finishResponse({ key, owner: requestId, record: { state: "kept", response }, expiresAt });
   * ```
   */
  finishResponse(
    parameters: Readonly<{
      key: string;
      owner: string;
      record: Exclude<IdempotencyRecord, Readonly<{ state: "in_flight" }>>;
      expiresAt: number;
    }>,
  ): Promise<boolean>;
  /**
   * Deletes the `in_flight` record of `key` held by `owner` (its run charged nothing, so a retry may run and pay
   * anew); any other record stays. One atomic step: SQL `DELETE … WHERE key = $1 AND state = 'in_flight' AND
   * owner = $2`; Redis a Lua compare-and-delete.
   *
   * @example
   * ```ts
   * await store.releaseResponse({ key, owner: requestId });
   * ```
   */
  releaseResponse(parameters: Readonly<{ key: string; owner: string }>): Promise<void>;
  /** Appends an analytics record. */
  record(record: StoreRecord): Promise<void>;
  /**
   * Appends analytics records, in order, in as few steps as the backend allows (SQL: one `INSERT` per 1,000
   * records, its rows one JSON parameter; Redis: one script call per 500 records, an `XADD` each): the paywall's
   * analytics queue writes each batch with it, so a batch costs one round trip, not one per record. An empty batch
   * does nothing. Not atomic: a failure may leave part of the batch written.
   *
   * @example
   * ```ts
   * await store.recordBatch([{ at: Date.now(), type: "payment_required", route: "GET /paid" }]);
   * ```
   */
  recordBatch(records: readonly StoreRecord[]): Promise<void>;
}>;

/** One claim as `listClaims` answers it: its key and, for an expiring claim, when it expires. */
export type ListedClaim = Readonly<{
  key: string;
  claim: Claim;
  /** Unix seconds; absent for a permanent claim (a direct transfer's). */
  expiresAt?: number;
}>;

/**
 * What an operator's admin API needs of a store beyond the paywall's `Store`: reading a token's balance,
 * revoking a token, listing claims in one state, and reading analytics records back. Every store of this
 * package has them (`createMemoryStore`, the SQL stores, `createRedisStore`); a store of your own needs them
 * only for `createAdminApi`. They run on the admin path, never on the paid path.
 */
export type StoreAdmin = Readonly<{
  /** The balance and expiry of a token hash, if the store knows it (expired or not). */
  getToken(tokenHash: string): Promise<TokenBalance | undefined>;
  /**
   * Forgets a token: a later debit answers `unknown` (the paywall refuses it `token_unknown`). Returns whether the
   * store knew the token. A debit already made under an operation key is still replayed as made.
   */
  revokeToken(tokenHash: string): Promise<boolean>;
  /**
   * Live claims in `state`, at most `limit` of them (in key order where the store can sort them). `complete` is
   * `false` when more may exist (the limit was reached, or a Redis scan stopped at its bound).
   */
  listClaims(
    parameters: Readonly<{ state: ClaimState; limit: number }>,
  ): Promise<Readonly<{ claims: readonly ListedClaim[]; complete: boolean }>>;
  /**
   * Analytics records with `since <= at < until` (Unix milliseconds), oldest first where the store can order them,
   * at most `limit` of them.
   */
  readRecords(
    parameters: Readonly<{ since: number; until: number; limit: number }>,
  ): Promise<readonly StoreRecord[]>;
}>;
