import { Redis } from "ioredis";
import { serviceForTests } from "../../../test/services.js";
import { describeStoreConformance } from "../../../test/storeConformance.js";
import { createRedisStore } from "./createRedisStore.js";

const url = "redis://127.0.0.1:6379";
const up = await serviceForTests({ name: "Redis", port: 6379 });
// A prefix of this file only: parallel runs do not collide, and its keys are deleted at the end.
const prefix = `tollgate-conformance:${process.pid}:${Date.now()}:`;

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, keyPrefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

describeStoreConformance({
  name: "redis",
  skip: !up,
  open: async (now) => {
    const store = await createRedisStore({ redis: url, prefix, now });
    return {
      store,
      close: async () => {
        await store.close();
        const redis = new Redis(url);
        await deleteKeys(redis, prefix);
        await redis.quit();
      },
    };
  },
});
