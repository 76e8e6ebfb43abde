/**
 * `@tollgate/client/svm`: Solana wallets for the paying fetch, signing with @solana/web3.js and @solana/spl-token.
 * @packageDocumentation
 */
export {
  type CreateSvmWalletParameters,
  createSvmWallet,
  type SvmBlockhashSource,
  type SvmDirectAccess,
  type SvmMintInfo,
} from "./svmWallet.js";
