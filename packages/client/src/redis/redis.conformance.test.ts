import { serviceForTests } from "../../../server/test/services.js";
import { deleteRedisKeys } from "../../test/redisKeys.js";
import { describeBudgetStoreConformance, describeLedgerConformance } from "../../test/storeConformance.js";
import { createRedisBudgetStore } from "./createRedisBudgetStore.js";
import { createRedisLedger } from "./createRedisLedger.js";

const url = "redis://127.0.0.1:6379";
const up = await serviceForTests({ name: "Redis", port: 6379 });
// A prefix of this file only: parallel runs do not collide, and its keys are deleted at the end.
const prefix = `tollgate-client-conformance:${process.pid}:${Date.now()}:`;

describeBudgetStoreConformance({
  name: "redis",
  skip: !up,
  shared: true,
  open: async () => {
    const store = await createRedisBudgetStore({ redis: url, prefix });
    return {
      store,
      close: async () => {
        await store.close();
        await deleteRedisKeys(url, prefix);
      },
    };
  },
});

describeLedgerConformance({
  name: "redis",
  skip: !up,
  shared: true,
  open: async ({ leaseWaitMs }) => {
    const store = await createRedisLedger({ redis: url, prefix, leaseWaitMs });
    return {
      store,
      close: async () => {
        await store.close();
        await deleteRedisKeys(url, prefix);
      },
    };
  },
});
