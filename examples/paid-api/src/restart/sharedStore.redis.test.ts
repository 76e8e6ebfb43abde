import { Redis } from "ioredis";
import { serviceForTests } from "../../../../packages/server/test/services.js";
import { describeSharedStoreScenarios } from "./sharedStoreScenarios.js";

const redisUrl = "redis://127.0.0.1:6379";
// With CI=true a missing Redis is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "Redis", port: 6379 });
// A key prefix of this file only: parallel runs do not collide, and its keys are deleted at the end.
const prefix = `tollgate-shared-procs:${process.pid}:${Date.now()}:`;

describeSharedStoreScenarios({
  name: "Redis store (REDIS_URL)",
  skip: !up,
  storeEnvironment: () => ({ REDIS_URL: redisUrl, TOLLGATE_REDIS_PREFIX: prefix }),
  cleanup: async () => {
    const redis = new Redis(redisUrl);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    await redis.quit();
  },
});
