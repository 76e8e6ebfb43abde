export { type ErrorCode, type ErrorContexts, errorMessages, type WireIssue } from "./errors/codes.js";
export { isTollgateError, TollgateError, type TollgateErrorOptions } from "./errors/TollgateError.js";
export { defaultNetworks } from "./networks/defaults.js";
export type { AssetInfo, Eip712DomainInfo, NetworkFamily, NetworkInfo } from "./networks/network.js";
export {
  type CreateNetworkRegistryParameters,
  createNetworkRegistry,
  defaultNetworkRegistry,
  type NetworkRegistry,
  type SupportedKindLike,
} from "./networks/registry.js";
export { v1EvmChainIds, v1SolanaClusters } from "./networks/v1Names.js";
