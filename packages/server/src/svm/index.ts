export { type CreateExactSvmSchemeParameters, createExactSvmScheme } from "./exactSvmScheme.js";
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
