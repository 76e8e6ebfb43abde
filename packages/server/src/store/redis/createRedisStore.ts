import { requireNoEviction, TollgateError } from "@tollgate/shared";
import { Redis, type RedisOptions } from "ioredis";
import type {
  Claim,
  ClaimResult,
  ClaimState,
  DebitResult,
  IdempotencyRecord,
  ListedClaim,
  ReserveResponseResult,
  Store,
  StoreAdmin,
  StoredResponse,
  StoreRecord,
  TokenBalance,
} from "../store.js";
import { type ScriptName, scripts } from "./scripts.js";

/** Parameters of `createRedisStore`. */
export type CreateRedisStoreParameters = Readonly<{
  /** An ioredis client (or Cluster-compatible client), or how to open one (`REDIS_URL`, options). */
  redis: Redis | string | RedisOptions;
  /**
   * What every key starts with (several paywalls or test runs can share one Redis). No `{` or `}`: the store
   * adds the hash tags.
   * @default "tollgate:"
   */
  prefix?: string;
  /**
   * The clock, in milliseconds since the epoch: expiries are compared with it (not with Redis's clock). Redis
   * also frees each key at its expiry by its own clock (`EXPIREAT`), so this clock may run ahead of real time
   * (tests) but never behind it.
   * @default Date.now
   */
  now?: () => number;
  /**
   * How long a debit's operation key is remembered, in seconds.
   * @default 86_400
   */
  operationTtlSeconds?: number;
  /**
   * How long an expired token is kept (a debit answers `expired` rather than `unknown`), in seconds.
   * @default 2_592_000 (30 days)
   */
  expiredTokenRetentionSeconds?: number;
  /**
   * How many analytics records the stream keeps (approximately; the oldest are trimmed).
   * @default 100_000
   */
  maxRecords?: number;
  /**
   * Whether to read `maxmemory-policy` at start and refuse any but `noeviction` (`false` where `CONFIG` is
   * disabled, e.g. some managed services: then make sure of the policy yourself).
   * @default true
   */
  checkEvictionPolicy?: boolean;
  /**
   * Receives the connection errors of a client the store opened (it reconnects on its own; meanwhile every
   * method rejects with `SERVER__STORE_FAILED`).
   * @default console.warn
   */
  onBackgroundError?: (error: unknown) => void;
}>;

/** A Redis store: a `Store`, and `close` (quits the client it opened). */
export type RedisStore = Store & StoreAdmin & Readonly<{ close(): Promise<void> }>;

type Reply = Buffer | null;

/** Records per `tollgateAppendRecords` call (one JSON argument for all of them). */
const recordsPerScript = 500;
type Run = (
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | Uint8Array)[],
) => Promise<unknown>;

/** A body as ioredis sends binary (it would stringify a plain `Uint8Array`). */
const bytes = (body: Uint8Array): Buffer => Buffer.from(body.buffer, body.byteOffset, body.byteLength);

const text = (reply: unknown): string =>
  reply === null ? "" : Buffer.from(reply as Buffer).toString("utf8");

/**
 * A `Store` on Redis (`ioredis`), for several server processes sharing one Redis: each check-and-write
 * (claim, transition, debit, reservation…) is one Lua script, atomic on the server. Every script touches keys
 * of one hash tag, so the store runs on Redis Cluster. Claims and balances must survive Redis's memory policy:
 * the store refuses to start unless `maxmemory-policy` is `noeviction` (an evicted claim is a replayed
 * payment, an evicted balance is a customer's money gone); run Redis with persistence (AOF) as well.
 * Balances are decimal strings with exact arithmetic in the scripts, so any `bigint` survives.
 *
 * @example
 * ```ts
 * import { createPaywall } from "@tollgate/server";
 * import { createRedisStore } from "@tollgate/server/redis";
 * const store = await createRedisStore({ redis: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
 * const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store, … });
 * ```
 * @throws `SERVER__INVALID_CONFIG` when `maxmemory-policy` may evict keys, or the prefix holds `{` or `}`.
 * @throws `SERVER__STORE_FAILED` when Redis cannot be reached at start, and from every method when it fails.
 */
export async function createRedisStore(parameters: CreateRedisStoreParameters): Promise<RedisStore> {
  const {
    redis: clientOrOptions,
    prefix = "tollgate:",
    now = Date.now,
    operationTtlSeconds = 86_400,
    expiredTokenRetentionSeconds = 2_592_000,
    maxRecords = 100_000,
    checkEvictionPolicy = true,
    onBackgroundError = (error: unknown) => console.warn(error),
  } = parameters;
  if (/[{}]/.test(prefix)) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "prefix", reason: "must not hold { or } (the store adds the hash tags)" },
    });
  }
  const owned = !(clientOrOptions instanceof Redis);
  // Bounded: a request waits at most a few seconds for a Redis that is down, then the paywall fails closed.
  const bounded: RedisOptions = { maxRetriesPerRequest: 1, commandTimeout: 5_000, connectTimeout: 5_000 };
  const redis =
    clientOrOptions instanceof Redis
      ? clientOrOptions
      : typeof clientOrOptions === "string"
        ? new Redis(clientOrOptions, bounded)
        : new Redis({ ...bounded, ...clientOrOptions });
  if (owned) redis.on("error", onBackgroundError);
  for (const [name, { lua, keys }] of Object.entries(scripts)) {
    redis.defineCommand(name, { lua, numberOfKeys: keys });
  }
  const commands = redis as unknown as Record<string, (...args: (string | Uint8Array)[]) => Promise<unknown>>;
  const run: Run = (name, keys, args) => {
    const command = commands[`${name}Buffer`];
    if (command === undefined) throw new Error(`the script ${name} is not defined`);
    return command.call(redis, ...keys, ...args);
  };
  const guard = async <T>(operation: string, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      throw new TollgateError("SERVER__STORE_FAILED", { context: { operation }, cause: error });
    }
  };

  try {
    if (checkEvictionPolicy) {
      await requireNoEviction({ redis, holds: "claims and token balances (a replayed payment, money gone)" });
    }
  } catch (error) {
    if (owned) redis.disconnect();
    throw error;
  }

  const seconds = () => Math.floor(now() / 1000);
  const claimKey = (key: string) => `${prefix}{c:${key}}`;
  const tokenKey = (tokenHash: string) => `${prefix}{t:${tokenHash}}`;
  // Under the token's hash tag: a debit's script touches the token and its operation in one slot.
  const operationKey = (tokenHash: string, key: string | undefined) =>
    `${prefix}{t:${tokenHash}}:op:${key ?? ""}`;
  const idempotencyKey = (key: string) => `${prefix}{i:${key}}`;
  const recordsKey = `${prefix}{records}`;

  /** A claim from its fields: state, owner, proofHash, idempotencyKey, movedAt. */
  const claimOf = (v: readonly (Reply | undefined)[]): Claim => {
    const idem = text(v[3] ?? null);
    const moved = text(v[4] ?? null);
    return {
      state: text(v[0] ?? null) as ClaimState,
      owner: text(v[1] ?? null),
      proofHash: text(v[2] ?? null),
      ...(idem === "" ? {} : { idempotencyKey: idem }),
      movedAt: moved === "" ? 0 : Number(moved),
    };
  };
  const responseOf = (v: readonly Reply[]): StoredResponse => ({
    proofHash: text(v[2]),
    status: Number(text(v[3])),
    headers: JSON.parse(text(v[4])) as [string, string][],
    body: new Uint8Array(v[5] ?? new Uint8Array()),
  });
  const recordOf = (v: readonly Reply[]): IdempotencyRecord => {
    const state = text(v[0]);
    if (state === "kept") return { state, response: responseOf(v) };
    if (state === "not_kept") return { state, proofHash: text(v[2]) };
    return { state: "in_flight", owner: text(v[1]), proofHash: text(v[2]) };
  };
  const balanceOf = (v: readonly Reply[]): TokenBalance => ({
    balance: BigInt(text(v[0])),
    expiresAt: Number(text(v[1])),
  });

  /** Appends analytics records to the stream: one script call per `recordsPerScript` records, one `XADD` each. */
  const appendRecords = async (records: readonly StoreRecord[]): Promise<void> => {
    for (let first = 0; first < records.length; first += recordsPerScript) {
      const batch = records.slice(first, first + recordsPerScript).map((record) => {
        const fields: string[] = [];
        for (const [name, value] of Object.entries(record)) {
          if (value !== undefined) fields.push(name, String(value));
        }
        return fields;
      });
      await run("tollgateAppendRecords", [recordsKey], [String(maxRecords), JSON.stringify(batch)]);
    }
  };

  const store: Store = {
    claim: ({ key, claim, expiresAt }): Promise<ClaimResult> =>
      guard("claim", async () => {
        const v = (await run(
          "tollgateClaim",
          [claimKey(key)],
          [
            claim.state,
            claim.owner,
            claim.proofHash,
            claim.idempotencyKey ?? "",
            expiresAt === undefined ? "" : String(expiresAt),
            String(seconds()),
          ],
        )) as [number, ...Reply[]];
        if (v[0] === 1) return { claimed: true };
        return { claimed: false, existing: claimOf(v.slice(1) as Reply[]) };
      }),

    transitionClaim: (parameters): Promise<boolean> =>
      guard("transitionClaim", async () => {
        const { key, from, to, owner, newOwner, proofHash, unmovedForSeconds } = parameters;
        const moved = await run(
          "tollgateTransitionClaim",
          [claimKey(key)],
          [
            from.join(","),
            to,
            owner === undefined ? "" : `=${owner}`,
            newOwner === undefined ? "" : `=${newOwner}`,
            String(seconds()),
            proofHash === undefined ? "" : `=${proofHash}`,
            unmovedForSeconds === undefined ? "" : String(unmovedForSeconds),
          ],
        );
        return moved === 1;
      }),

    releaseClaim: ({ key, owner, from }): Promise<void> =>
      guard("releaseClaim", async () => {
        await run("tollgateReleaseClaim", [claimKey(key)], [owner, String(seconds()), from.join(",")]);
      }),

    getClaim: (key: string): Promise<Claim | undefined> =>
      guard("getClaim", async () => {
        const v = await redis.hmgetBuffer(
          claimKey(key),
          "state",
          "owner",
          "proof_hash",
          "idem",
          "exp",
          "moved",
        );
        if (v[0] === null) return undefined;
        const exp = text(v[4] ?? null);
        if (exp !== "" && Number(exp) <= seconds()) return undefined;
        return claimOf([v[0], v[1] ?? null, v[2] ?? null, v[3] ?? null, v[5] ?? null]);
      }),

    credit: ({ tokenHash, amount, expiresAt }): Promise<TokenBalance> =>
      guard("credit", async () => {
        const v = (await run(
          "tollgateCredit",
          [tokenKey(tokenHash)],
          [amount.toString(), String(expiresAt), String(expiredTokenRetentionSeconds)],
        )) as Reply[];
        return balanceOf(v);
      }),

    debit: ({ tokenHash, amount, nowSeconds: at, operationKey: op }): Promise<DebitResult> =>
      guard("debit", async () => {
        const t = seconds();
        const v = (await run(
          "tollgateDebit",
          [tokenKey(tokenHash), operationKey(tokenHash, op)],
          [
            amount.toString(),
            String(at),
            op === undefined ? "0" : "1",
            String(t + operationTtlSeconds),
            String(t),
          ],
        )) as Reply[];
        const outcome = text(v[0] ?? null);
        if (outcome === "unknown") return { ok: false, reason: "unknown" };
        const { balance, expiresAt } = balanceOf(v.slice(1));
        if (outcome === "ok" || outcome === "replayed") {
          return { ok: true, balance, expiresAt, replayed: outcome === "replayed" };
        }
        return { ok: false, reason: outcome === "expired" ? "expired" : "insufficient", balance };
      }),

    refund: ({ tokenHash, amount, operationKey: op }): Promise<TokenBalance | undefined> =>
      guard("refund", async () => {
        const v = (await run(
          "tollgateRefund",
          [tokenKey(tokenHash), operationKey(tokenHash, op)],
          [amount.toString(), op === undefined ? "0" : "1"],
        )) as Reply[];
        return v.length === 0 ? undefined : balanceOf(v);
      }),

    reserveResponse: ({ key, owner, proofHash, expiresAt }): Promise<ReserveResponseResult> =>
      guard("reserveResponse", async () => {
        const v = (await run(
          "tollgateReserveResponse",
          [idempotencyKey(key)],
          [owner, proofHash, String(expiresAt), String(seconds())],
        )) as Reply[];
        return v.length === 0 ? { reserved: true } : { reserved: false, existing: recordOf(v) };
      }),

    finishResponse: ({ key, owner, record, expiresAt }): Promise<boolean> =>
      guard("finishResponse", async () => {
        const response = record.state === "kept" ? record.response : undefined;
        const finished = await run(
          "tollgateFinishResponse",
          [idempotencyKey(key)],
          [
            owner,
            record.state,
            record.state === "kept" ? record.response.proofHash : record.proofHash,
            String(response?.status ?? ""),
            response === undefined ? "" : JSON.stringify(response.headers),
            response === undefined ? "" : bytes(response.body),
            String(expiresAt),
            String(seconds()),
          ],
        );
        return finished === 1;
      }),

    releaseResponse: ({ key, owner }): Promise<void> =>
      guard("releaseResponse", async () => {
        await run("tollgateReleaseResponse", [idempotencyKey(key)], [owner, String(seconds())]);
      }),

    record: (record: StoreRecord): Promise<void> => guard("record", () => appendRecords([record])),
    recordBatch: (records: readonly StoreRecord[]): Promise<void> =>
      guard("recordBatch", () => appendRecords(records)),
  };
  const admin = redisStoreAdmin({ redis, claimKey, tokenKey, recordsKey, seconds, guard });
  return Object.freeze({
    ...store,
    ...admin,
    async close(): Promise<void> {
      if (owned) await redis.quit();
    },
  });
}

/** Most claim keys one `listClaims` scans (SCAN `COUNT` 1,000 per round trip): it answers `complete: false` past it. */
const maxScannedClaimKeys = 100_000;
/** Stream entries read per `XRANGE` round trip by `readRecords`. */
const recordPage = 1_000;
/** Numeric fields of an analytics record, as `record` wrote them with `String(value)`. */
const numericRecordFields = new Set(["at", "durationMs"]);

/** A glob pattern matching `text` literally (SCAN's `MATCH`). */
const literalGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&");

/**
 * The admin methods of the Redis store (`StoreAdmin`), off the paid path and without touching its Lua scripts:
 * `listClaims` is a bounded `SCAN` over the claim keys (its cost grows with every key of the prefix, at most
 * `maxScannedClaimKeys` keys a call), `readRecords` reads the record stream in pages (at most its `maxRecords`).
 */
function redisStoreAdmin(
  parameters: Readonly<{
    redis: Redis;
    claimKey: (key: string) => string;
    tokenKey: (tokenHash: string) => string;
    recordsKey: string;
    seconds: () => number;
    guard: <T>(operation: string, step: () => Promise<T>) => Promise<T>;
  }>,
): StoreAdmin {
  const { redis, claimKey, tokenKey, recordsKey, seconds, guard } = parameters;
  // A claim's Redis key is `${prefix}{c:` + its key + `}`.
  const opening = claimKey("").slice(0, -1);
  return {
    getToken: (tokenHash) =>
      guard("getToken", async () => {
        const [balance, exp] = await redis.hmget(tokenKey(tokenHash), "balance", "exp");
        if (balance === null || balance === undefined) return undefined;
        return { balance: BigInt(balance), expiresAt: Number(exp) };
      }),

    revokeToken: (tokenHash) =>
      guard("revokeToken", async () => (await redis.del(tokenKey(tokenHash))) === 1),

    listClaims: ({ state, limit }) =>
      guard("listClaims", async () => {
        const found: ListedClaim[] = [];
        const now = seconds();
        let cursor = "0";
        let scanned = 0;
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${literalGlob(opening)}*}`, "COUNT", 1000);
          cursor = next;
          scanned += keys.length;
          const pipeline = redis.pipeline();
          for (const key of keys) pipeline.hmget(key, "state", "owner", "proof_hash", "idem", "moved", "exp");
          const replies = (await pipeline.exec()) ?? [];
          keys.forEach((redisKey, index) => {
            const [error, fields] = replies[index] ?? [];
            if (error) throw error;
            const [got, owner, proofHash, idem, moved, exp] = fields as (string | null)[];
            if (got !== state) return;
            if (exp !== null && exp !== undefined && exp !== "" && Number(exp) <= now) return;
            found.push({
              key: redisKey.slice(opening.length, -1),
              claim: {
                state,
                owner: owner ?? "",
                proofHash: proofHash ?? "",
                ...(idem === null || idem === undefined || idem === "" ? {} : { idempotencyKey: idem }),
                movedAt: moved === null || moved === undefined || moved === "" ? 0 : Number(moved),
              },
              ...(exp === null || exp === undefined || exp === "" ? {} : { expiresAt: Number(exp) }),
            });
          });
        } while (cursor !== "0" && found.length <= limit && scanned < maxScannedClaimKeys);
        found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        return { claims: found.slice(0, limit), complete: cursor === "0" && found.length <= limit };
      }),

    readRecords: ({ since, until, limit }) =>
      guard("readRecords", async () => {
        const records: StoreRecord[] = [];
        let start = "-";
        for (;;) {
          const entries = await redis.xrange(recordsKey, start, "+", "COUNT", recordPage);
          for (const [, fields] of entries) {
            const record: Record<string, unknown> = {};
            for (let i = 0; i + 1 < fields.length; i += 2) {
              const name = fields[i] as string;
              const value = fields[i + 1] as string;
              record[name] = numericRecordFields.has(name)
                ? Number(value)
                : name === "amount"
                  ? BigInt(value)
                  : value;
            }
            const at = record.at as number;
            if (at >= since && at < until) records.push(record as StoreRecord);
            if (records.length === limit) return records;
          }
          const last = entries.at(-1);
          if (last === undefined || entries.length < recordPage) return records;
          start = `(${last[0]}`;
        }
      }),
  };
}
