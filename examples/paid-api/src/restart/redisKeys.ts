// The Redis test files' clean-up: each runs on a key prefix of its own and deletes its keys at the end.
import { Redis } from "ioredis";

/** The loopback Redis the tests use. */
export const testRedisUrl = "redis://127.0.0.1:6379";

/** A key prefix of one test file (pid and time): parallel runs do not collide. */
export const testRedisPrefix = (name: string): string => `tollgate-${name}:${process.pid}:${Date.now()}:`;

/** Deletes every key under `prefix` on the test Redis. */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}
