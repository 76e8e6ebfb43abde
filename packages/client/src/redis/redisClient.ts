import { requireNoEviction, TollgateError } from "@tollgate/shared";
import { Redis, type RedisOptions } from "ioredis";
import { type ClientScriptName, clientScripts } from "./scripts.js";

/** How a client store gets its Redis connection. */
export type RedisConnectionParameters = Readonly<{
  /** An ioredis client, or how to open one (`REDIS_URL`, options). */
  redis: Redis | string | RedisOptions;
  /**
   * What every key starts with (several fleets or test runs can share one Redis). No `{` or `}`: the store adds
   * the hash tags.
   * @default "tollgate:"
   */
  prefix?: string;
  /**
   * Which ledger or set of budgets of the prefix this is: processes that name the same one share it. No `{` or `}`.
   * @default "default"
   */
  namespace?: string;
  /**
   * Whether to read `maxmemory-policy` at start and refuse any but `noeviction` (`false` where `CONFIG` is
   * disabled, e.g. some managed services: then make sure of the policy yourself).
   * @default true
   */
  checkEvictionPolicy?: boolean;
  /**
   * Receives the connection errors of a client the store opened (it reconnects on its own; meanwhile every method
   * rejects with `SERVER__STORE_FAILED`).
   * @default console.warn
   */
  onBackgroundError?: (error: unknown) => void;
}>;

/** A connection with the client's scripts defined, and the hash tag of its keys. */
export type RedisConnection = Readonly<{
  redis: Redis;
  /** `{<prefix><kind>:<namespace>}`: every key of one ledger or one set of budgets, so each script runs on one slot. */
  tag: string;
  run(name: ClientScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Runs a step, turning any failure into `SERVER__STORE_FAILED` naming `operation`. */
  guard<T>(operation: string, step: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}>;

function checkedName(option: string, value: string): string {
  if (/[{}]/.test(value)) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option, reason: "must not hold { or } (the store adds the hash tags)" },
    });
  }
  return value;
}

/**
 * Opens (or adopts) the Redis connection of a client store: defines its scripts, checks the eviction policy (a ledger
 * entry or budget hold that Redis evicts is a payment made twice or a budget overspent), and names the hash tag of
 * its keys.
 *
 * @throws `SERVER__INVALID_CONFIG` (a prefix or namespace with `{` or `}`; an evicting `maxmemory-policy`),
 *   `SERVER__STORE_FAILED` (Redis unreachable at start)
 */
export async function openRedisConnection(
  parameters: RedisConnectionParameters & Readonly<{ kind: "ledger" | "budgets" }>,
): Promise<RedisConnection> {
  const {
    redis: clientOrOptions,
    kind,
    checkEvictionPolicy = true,
    onBackgroundError = (error: unknown) => console.warn(error),
  } = parameters;
  const prefix = checkedName("prefix", parameters.prefix ?? "tollgate:");
  const namespace = checkedName("namespace", parameters.namespace ?? "default");
  const owned = !(clientOrOptions instanceof Redis);
  // Bounded: a payment waits at most a few seconds for a Redis that is down, then fails without paying.
  const bounded: RedisOptions = { maxRetriesPerRequest: 1, commandTimeout: 5_000, connectTimeout: 5_000 };
  const redis =
    clientOrOptions instanceof Redis
      ? clientOrOptions
      : typeof clientOrOptions === "string"
        ? new Redis(clientOrOptions, bounded)
        : new Redis({ ...bounded, ...clientOrOptions });
  if (owned) redis.on("error", onBackgroundError);
  for (const [name, { lua, keys }] of Object.entries(clientScripts)) {
    if (keys === undefined) redis.defineCommand(name, { lua });
    else redis.defineCommand(name, { lua, numberOfKeys: keys });
  }
  const commands = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
  const run: RedisConnection["run"] = (name, keys, args) => {
    const command = commands[name];
    if (command === undefined) throw new Error(`the script ${name} is not defined`);
    const variable = clientScripts[name].keys === undefined;
    return command.call(redis, ...(variable ? [keys.length] : []), ...keys, ...args);
  };
  const guard: RedisConnection["guard"] = async (operation, step) => {
    try {
      return await step();
    } catch (error) {
      if (error instanceof TollgateError) throw error;
      throw new TollgateError("SERVER__STORE_FAILED", { context: { operation }, cause: error });
    }
  };
  const close = async () => {
    if (owned) await redis.quit().catch(() => redis.disconnect());
  };
  try {
    if (checkEvictionPolicy) {
      await requireNoEviction({
        redis,
        holds: "ledger entries and budget holds (a payment made twice, a budget overspent)",
      });
    } else await guard("PING", () => redis.ping());
  } catch (error) {
    await close();
    throw error;
  }
  return Object.freeze({ redis, tag: `{${prefix}${kind}:${namespace}}`, run, guard, close });
}
