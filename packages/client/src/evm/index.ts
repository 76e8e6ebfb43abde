/**
 * `@tollgate/client/evm`: EVM wallets for the paying fetch, signing with viem.
 * @packageDocumentation
 */
export { type CreateEvmWalletParameters, createEvmWallet, type EvmSigner } from "./evmWallet.js";
