import { TollgateError } from "../errors/TollgateError.js";

/** The one Redis command `requireNoEviction` sends (ioredis' `config`). */
export type RedisConfigReader = Readonly<{ config(subcommand: "GET", parameter: string): Promise<unknown> }>;

/**
 * Refuses a Redis whose memory policy may evict keys: anything but `noeviction` can drop a claim or a ledger entry
 * (a payment made or served twice) or a balance or budget hold (money gone, a budget overspent). Reads
 * `CONFIG GET maxmemory-policy`.
 *
 * @example
 * ```ts
 * import { requireNoEviction } from "@tollgate/shared";
 * await requireNoEviction({ redis, holds: "claims and token balances (a replayed payment, money gone)" });
 * ```
 * @throws `SERVER__STORE_FAILED` when the policy cannot be read (`CONFIG` disabled: check it yourself and skip
 *   the check); `SERVER__INVALID_CONFIG` for any policy but `noeviction`.
 */
export async function requireNoEviction(
  parameters: Readonly<{ redis: RedisConfigReader; holds: string }>,
): Promise<void> {
  const { redis, holds } = parameters;
  let policy: string;
  try {
    const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
    policy = reply[1] ?? "";
  } catch (error) {
    throw new TollgateError("SERVER__STORE_FAILED", {
      context: { operation: "CONFIG GET maxmemory-policy" },
      cause: error,
    });
  }
  if (policy !== "noeviction") {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: {
        option: "Redis maxmemory-policy",
        reason: `is ${policy}: Redis may evict ${holds}; set noeviction`,
      },
    });
  }
}
