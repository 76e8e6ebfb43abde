import { Redis } from "ioredis";

/** Deletes every key of a client store's `prefix` (its keys start with the hash tag `{<prefix>…}`). */
export async function deleteRedisKeys(url: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(url);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `{${keyPrefix}*`, "COUNT", 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  await redis.quit();
}
