/** Solana's base58, defined once in `@tollgate/shared`. */
export { encodeBase58 } from "@tollgate/shared";
