import { serviceForTests } from "../../../../packages/server/test/services.js";
import { deleteRedisKeys, testRedisPrefix, testRedisUrl } from "./redisKeys.js";
import { describeSharedStoreScenarios } from "./sharedStoreScenarios.js";

// With CI=true a missing Redis is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "Redis", port: 6379 });
const prefix = testRedisPrefix("shared-procs");

describeSharedStoreScenarios({
  name: "Redis store (REDIS_URL)",
  skip: !up,
  storeEnvironment: () => ({ REDIS_URL: testRedisUrl, TOLLGATE_REDIS_PREFIX: prefix }),
  cleanup: () => deleteRedisKeys(prefix),
});
