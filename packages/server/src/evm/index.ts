export {
  type CreateViemEvmChainParameters,
  createViemEvmChain,
  type EvmChain,
  type EvmGasOptions,
  type EvmReceipt,
  type EvmSimulation,
  type TransferLog,
  type TransferWithAuthorizationCall,
} from "./evmChain.js";
export {
  type CreateEvmDirectChainParameters,
  createEvmDirectChain,
  type EvmDirectReader,
} from "./evmDirectChain.js";
export { type CreateExactEvmSchemeParameters, createExactEvmScheme } from "./exactEvmScheme.js";
export {
  type CreateEvmPaymentSignatureCheckParameters,
  createEvmPaymentSignatureCheck,
  type EvmCodeReader,
  type EvmSignatureReader,
} from "./paymentSignatureCheck.js";
export {
  type CreateEvmPendingSettlementResolverParameters,
  createEvmPendingSettlementResolver,
} from "./pendingSettlementResolver.js";
export { nativeRecoveryAvailable, recoverSigner } from "./recoverSigner.js";
export {
  type CreateEvmSettlementCheckParameters,
  createEvmSettlementCheck,
  type EvmSettlementReader,
} from "./settlementCheck.js";
export { eip3009Abi, transferWithAuthorizationTypes } from "./usdcAbi.js";
