/**
 * `@tollgate/client/redis`: a payment ledger and a budget store on Redis (`ioredis`), so a fleet of agent processes
 * shares one ledger (never pay one request twice) and one set of budgets (never overspend).
 * @packageDocumentation
 */
export {
  type CreateRedisBudgetStoreParameters,
  createRedisBudgetStore,
  type RedisBudgetStore,
} from "./createRedisBudgetStore.js";
export {
  type CreateRedisLedgerParameters,
  createRedisLedger,
  type RedisLedger,
} from "./createRedisLedger.js";
export type { RedisConnectionParameters } from "./redisClient.js";
