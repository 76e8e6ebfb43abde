import { serviceForTests } from "../../../../packages/server/test/services.js";
import { deleteRedisKeys, testRedisPrefix } from "../restart/redisKeys.js";
import { describeStoreOutage } from "./storeOutageScenario.js";

// With CI=true a missing Redis is a failing test; elsewhere the suite is skipped with a note.
const up = await serviceForTests({ name: "Redis", port: 6379 });
const prefix = testRedisPrefix("readyz");

describeStoreOutage({
  name: "Redis store (REDIS_URL)",
  skip: !up,
  servicePort: 6379,
  storeEnvironment: (port) => ({ REDIS_URL: `redis://127.0.0.1:${port}`, TOLLGATE_REDIS_PREFIX: prefix }),
  cleanup: async () => {
    if (up) await deleteRedisKeys(prefix);
  },
});
