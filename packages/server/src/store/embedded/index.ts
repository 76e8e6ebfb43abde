export {
  type CreateEmbeddedStoreParameters,
  createEmbeddedStore,
  type EmbeddedStore,
  pgliteExecutor,
} from "./createEmbeddedStore.js";
