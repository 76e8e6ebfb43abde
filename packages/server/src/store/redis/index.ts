export { type CreateRedisStoreParameters, createRedisStore, type RedisStore } from "./createRedisStore.js";
