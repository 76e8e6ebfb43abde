/**
 * `@tollgate/shared`: every x402 wire shape as a zod schema, the header codecs, the network and asset
 * registry, money as `bigint` atomic units, and the one error class with its codes.
 * @packageDocumentation
 */
export { type ErrorCode, type ErrorContexts, errorMessages, type WireIssue } from "./errors/codes.js";
export { redactError, redactStrings, redactText, redactUrl } from "./errors/redact.js";
export {
  type PaywallReason,
  paywallReasons,
  type RefusalReason,
  refusalReasonFor,
  refusalReasons,
} from "./errors/refusalReasons.js";
export {
  errorDocsAnchor,
  isTollgateError,
  TollgateError,
  type TollgateErrorOptions,
} from "./errors/TollgateError.js";
export { maxUntrustedTextLength, quoteUntrusted, sanitizeUntrusted } from "./errors/untrustedText.js";
export { decodeBase58, encodeBase58 } from "./headers/base58.js";
export {
  decodeHeader,
  decodeHeaderJson,
  type EncodeHeaderJsonParameters,
  encodeHeaderJson,
  headerLimits,
  parseWire,
  toWireIssues,
} from "./headers/base64Json.js";
export {
  type ConvertOptions,
  paymentPayloadV1ToV2,
  paymentPayloadV2ToV1,
  requirementV1ToV2,
  requirementV2ToV1,
} from "./headers/convert.js";
export { x402HeaderNames } from "./headers/names.js";
export { type ReadBodyUpToParameters, readBodyUpTo } from "./headers/readBodyUpTo.js";
export {
  type DirectOffer,
  type FacilitatorOffer,
  type Offer,
  type OfferSource,
  type PaymentRequiredReading,
  type ReadPaymentRequiredParameters,
  readPaymentRequired,
  type TokenOffer,
} from "./headers/readPaymentRequired.js";
export {
  type CreateEventLogParameters,
  createEventLog,
  type Logger,
  type LogLevel,
  logSafe,
} from "./logger/logger.js";
export {
  formatDecimalAmount,
  formatUsd,
  MAX_UINT256,
  type ParseAmountOptions,
  parseAtomic,
  parseDecimalAmount,
  parseUsd,
} from "./money.js";
export { canonicalCaip2, isCanonicalCaip2 } from "./networks/canonicalCaip2.js";
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
export {
  type DirectBindingMessageParameters,
  type DirectProofHeaders,
  directBindingMessage,
  directChainSchema,
  directHeaderNames,
  directProofHeadersSchema,
  directTxSchema,
  evmBindingSignatureSchema,
  evmTxHashSchema,
  solanaBindingSignatureSchema,
  solanaTxSignatureSchema,
} from "./schemas/direct.js";
export {
  authorizationStateFunction,
  cancelAuthorizationTypes,
  eip3009LifeAbi,
  erc20TransferFunction,
  transferWithAuthorizationTypes,
} from "./schemas/eip3009.js";
export {
  type ExactEvmAuthorization,
  type ExactEvmPayload,
  type ExactSvmPayload,
  exactEvmAuthorizationSchema,
  exactEvmExtraSchema,
  exactEvmPayloadSchema,
  exactSvmExtraSchema,
  exactSvmPayloadSchema,
} from "./schemas/exact.js";
export {
  type FacilitatorRequest,
  facilitatorRequestSchema,
  facilitatorRequestV1Schema,
  facilitatorRequestV2Schema,
  type SettleResponse,
  type SupportedKind,
  type SupportedResponse,
  settleResponseSchema,
  supportedKindSchema,
  supportedResponseSchema,
  type VerifyResponse,
  verifyResponseSchema,
} from "./schemas/facilitator.js";
export {
  type DirectNetworkOption,
  directNetworkOptionSchema,
  directPaymentOptionSchema,
  facilitatorPaymentOptionSchema,
  type HybridPaymentRequired,
  hybridPaymentRequiredOf,
  hybridPaymentRequiredSchema,
  type PaymentOption,
  paymentOptionSchema,
  tokenPaymentOptionSchema,
} from "./schemas/hybrid.js";
export {
  atomicAmountSchema,
  base64Schema,
  bytes32HexSchema,
  caip2Schema,
  evmAddressSchema,
  hexBytesSchema,
  jsonObjectSchema,
  solanaAddressSchema,
  uintStringSchema,
  v1NetworkNameSchema,
  wireLimits,
} from "./schemas/primitives.js";
export { type Lane, laneSchema, type PaymentReceipt, paymentReceiptSchema } from "./schemas/receipt.js";
export {
  type PrepaidTokenResponse,
  prepaidTokenResponseSchema,
  prepaidTokenSchema,
  tokenHeaderNames,
} from "./schemas/token.js";
export {
  type PaymentPayloadV1,
  type PaymentRequiredV1,
  type PaymentRequirementsV1,
  paymentPayloadV1Schema,
  paymentRequiredV1Of,
  paymentRequiredV1Schema,
  paymentRequirementsV1Schema,
  v1NetworkSchema,
} from "./schemas/v1.js";
export {
  type PaymentPayloadV2,
  type PaymentRequiredV2,
  type PaymentRequirementsV2,
  paymentPayloadV2Schema,
  paymentRequiredV2Of,
  paymentRequiredV2Schema,
  paymentRequirementsV2Schema,
  type ResourceInfo,
  resourceInfoSchema,
} from "./schemas/v2.js";
export { type RedisConfigReader, requireNoEviction } from "./storage/requireNoEviction.js";
export {
  type ApplySqlMigrationsParameters,
  applySqlMigrations,
  checkedSchemaName,
  type SqlMigration,
  type SqlQuery,
} from "./storage/sqlMigrations.js";
