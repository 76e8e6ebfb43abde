export { type CreateExactSvmSchemeParameters, createExactSvmScheme } from "./exactSvmScheme.js";
export { type CreateSvmSettlementCheckParameters, createSvmSettlementCheck } from "./settlementCheck.js";
export {
  type CreateConnectionSolanaChainParameters,
  createConnectionSolanaChain,
  type SolanaAccount,
  type SolanaChain,
  type SolanaCommitment,
  type SolanaConfirmation,
  type SolanaSendOutcome,
  type SolanaSignatureStatus,
  type SolanaSimulation,
} from "./solanaChain.js";
export {
  type CreateConnectionTransactionReaderParameters,
  type CreateSvmDirectChainParameters,
  createConnectionTransactionReader,
  createSvmDirectChain,
  type SolanaTokenBalance,
  type SolanaTransactionReader,
  type SolanaTransferView,
} from "./svmDirectChain.js";
