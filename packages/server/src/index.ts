/**
 * `@tollgate/server`: the framework-free paywall core, the memory store, and the node:http and Web
 * `fetch` adapters. Chain-specific parts live in `@tollgate/server/evm` and `@tollgate/server/svm`, our
 * facilitator in `@tollgate/server/facilitator`.
 * @packageDocumentation
 */
export {
  type FetchClient,
  type ServedFetch,
  type ServeFetchParameters,
  sendWebResponse,
  serveFetch,
  toWebRequest,
} from "./adapters/node.js";
export { type PaywallListenerParameters, paywallListener } from "./adapters/paywallNode.js";
export {
  type ReadRequestReturnType,
  type RequestHeadParameters,
  type RequestRefusalReason,
  requestHead,
} from "./adapters/requestHead.js";
export {
  funnelSteps,
  latencyRelativeAccuracy,
  type Report,
  type ReportFigures,
  type ReportParameters,
  report,
} from "./analytics/report.js";
export type {
  CreatePaywallParameters,
  DirectLaneConfig,
  DirectNetworkConfig,
  LaneSwitches,
  Payees,
  RouteConfig,
  RouteContext,
  TokenLaneConfig,
} from "./config/paywallOptions.js";
export {
  type CreateRuntimeSwitchesParameters,
  createRuntimeSwitches,
  type RuntimeSwitches,
  type RuntimeSwitchesState,
} from "./config/runtimeSwitches.js";
export { type CreateBoundedFetchParameters, createBoundedFetch } from "./internal/boundedFetch.js";
export {
  createPaywall,
  type Decision,
  type FetchHandler,
  type HandleOptions,
  type Paywall,
} from "./paywall.js";
export { type PayaiFacilitatorParameters, payaiFacilitator, payaiFacilitatorUrl } from "./presets/payai.js";
export { type PathFormsParameters, pathForms } from "./routes/normalisePath.js";
export { type CreateMemoryStoreParameters, createMemoryStore, type MemoryStore } from "./store/memory.js";
export type {
  Claim,
  ClaimResult,
  ClaimState,
  DebitResult,
  IdempotencyRecord,
  ListedClaim,
  NewClaim,
  ReserveResponseResult,
  Store,
  StoreAdmin,
  StoredResponse,
  StoreRecord,
  TokenBalance,
} from "./store/store.js";
export type { DirectChain, DirectTransaction, DirectTransfer } from "./verify/direct/directChain.js";
export type { SettlementCheck } from "./verify/facilitator/facilitatorLane.js";
export type { PaymentSignatureCheck, PaymentSignatureVerdict } from "./verify/facilitator/localChecks.js";
export type { FacilitatorChainChecks } from "./verify/facilitatorChainChecks.js";
export type {
  FacilitatorEndpointName,
  FacilitatorOption,
  InProcessFacilitator,
} from "./verify/fallback/facilitators.js";
export {
  type ClosableTransport,
  type CreateFetchTransportParameters,
  type CreateUndiciTransportParameters,
  createFetchTransport,
  createUndiciTransport,
  type FacilitatorTransport,
  type TransportRequest,
  type TransportResult,
} from "./verify/fallback/transport.js";
export type { PaywallEvent } from "./verify/laneContext.js";
export type { IssuedToken } from "./verify/prepaidTokens.js";
