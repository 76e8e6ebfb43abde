/**
 * `@tollgate/client/svm`: Solana wallets for the paying fetch, signing with @solana/web3.js and @solana/spl-token.
 * @packageDocumentation
 */
export {
  type CreateConnectionDirectAccessParameters,
  createConnectionDirectAccess,
} from "./connectionDirectAccess.js";
export {
  type CreateSvmWalletParameters,
  createSvmWallet,
  type SvmBlockhashSource,
  type SvmConfirmParameters,
  type SvmDirectAccess,
  type SvmMintInfo,
} from "./svmWallet.js";
