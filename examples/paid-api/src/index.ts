export { loadConfig, type PaidApiConfig } from "./config.js";
export {
  type CreatePaidApiParameters,
  createPaidApi,
  type PaidApi,
  type PaidApiChains,
  type PaymentRecord,
} from "./createPaidApi.js";
export { type OpenedStore, openStore, type StoreChoice, storeChoiceOf } from "./openStore.js";
