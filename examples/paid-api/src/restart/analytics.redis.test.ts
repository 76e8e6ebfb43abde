import { serviceForTests } from "../../../../packages/server/test/services.js";
import { describeAnalyticsScenarios } from "./analyticsScenarios.js";
import { deleteRedisKeys, testRedisPrefix, testRedisUrl } from "./redisKeys.js";

// With CI=true a missing Redis is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "Redis", port: 6379 });
const prefix = testRedisPrefix("analytics");

describeAnalyticsScenarios({
  name: "Redis store (REDIS_URL)",
  skip: !up,
  storeEnvironment: (store) => ({ REDIS_URL: testRedisUrl, TOLLGATE_REDIS_PREFIX: `${prefix}${store}:` }),
  cleanup: () => deleteRedisKeys(prefix),
  // The restart scenarios run on the embedded store and PostgreSQL (restart.redis.test.ts covers Redis's
  // payments across restarts); here Redis is the second shared store.
  restart: false,
});
