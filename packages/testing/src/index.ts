// @tollgate/testing: Tollgate's offline kit. Real chains on loopback or in process: anvil with a test USDC at a
// network's real USDC address, and a Solana bank with a USDC mint at the real devnet mint address.

export {
  type AnvilInstance,
  type ResolveAnvilBinaryParameters,
  resolveAnvilBinary,
  type StartAnvilParameters,
  startAnvil,
} from "./evm/anvil.js";
export { type EvmChain, type StartEvmChainParameters, startEvmChain } from "./evm/evmChain.js";
export { testUsdcAbi, testUsdcBytecode, testUsdcDeployedBytecode } from "./evm/testUsdcArtifact.js";
export {
  type LocalFacilitator,
  type StartLocalFacilitatorParameters,
  startLocalFacilitator,
} from "./facilitator/localFacilitator.js";
export type { Hostile402, HostileChains, HostileOffer } from "./hostile/hostileOffers.js";
export {
  type HeldPayment,
  type HostileAnswer,
  type HostileBehaviour,
  type HostileCall,
  type HostileServer,
  type ReceivedProof,
  type SettledAuthorization,
  type StartHostileServerParameters,
  startHostileServer,
} from "./hostile/hostileServer.js";
export type { SettleOutcome } from "./hostile/settleAuthorization.js";
export {
  type DeriveEvmTestPrivateKeyParameters,
  type DeriveSvmTestKeypairParameters,
  deriveEvmTestPrivateKey,
  deriveSvmTestKeypair,
  evmFacilitatorAccount,
  evmFacilitatorPrivateKey,
  evmPayeeAccounts,
  evmPayeePrivateKeys,
  evmPayerAccounts,
  evmPayerPrivateKeys,
  svmFacilitatorFeePayerKeypair,
  svmMintAuthorityKeypair,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "./keys.js";
export {
  type FacilitatorHandlersParameters,
  facilitatorHandlers,
  loopbackOnly,
} from "./msw/facilitatorHandlers.js";
export { type CreateBankSolanaChainParameters, createBankSolanaChain } from "./svm/bankSolanaChain.js";
export {
  type CreateBankTransactionReaderParameters,
  createBankTransactionReader,
} from "./svm/bankTransactionReader.js";
export type {
  RecordedInstruction,
  RecordedTokenBalance,
  RecordedTransaction,
} from "./svm/recordedTransaction.js";
export {
  type ProcessTransactionResult,
  type SignedTransferParameters,
  type SolanaBank,
  type StartSolanaBankParameters,
  type SvmAddress,
  startSolanaBank,
} from "./svm/solanaBank.js";
export {
  type SolanaRpc,
  type SolanaRpcAnswer,
  type SolanaRpcCall,
  type StartSolanaRpcParameters,
  solanaRpcMethods,
  startSolanaRpc,
} from "./svm/solanaRpc.js";
export {
  parseSvmTransactionError,
  type SvmTransactionError,
  type SvmTransactionErrorName,
} from "./svm/transactionError.js";
