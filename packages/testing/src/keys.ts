import { createHash } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import { type Hex, keccak256, stringToBytes } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";

// Fixed test keys. Every key is derived from a public label, so signatures made with them are the same on every
// machine and every run (snapshot-stable), and anyone can recompute them. They guard nothing: never fund them on a
// real network.

/** Parameters of `deriveEvmTestPrivateKey`. */
export type DeriveEvmTestPrivateKeyParameters = Readonly<{
  /** Any label; the same label always gives the same key. */
  label: string;
}>;

/**
 * Derives a fixed EVM private key from a label: `keccak256("tollgate/testing/evm/" + label)`.
 *
 * @example
 * ```ts
 * import { deriveEvmTestPrivateKey } from "@tollgate/testing";
 * import { privateKeyToAccount } from "viem/accounts";
 * const agent = privateKeyToAccount(deriveEvmTestPrivateKey({ label: "demo-agent" }));
 * ```
 */
export function deriveEvmTestPrivateKey(parameters: DeriveEvmTestPrivateKeyParameters): Hex {
  const { label } = parameters;
  return keccak256(stringToBytes(`tollgate/testing/evm/${label}`));
}

/** Parameters of `deriveSvmTestKeypair`. */
export type DeriveSvmTestKeypairParameters = Readonly<{
  /** Any label; the same label always gives the same keypair. */
  label: string;
}>;

/**
 * Derives a fixed Solana keypair from a label: the ed25519 seed is `sha256("tollgate/testing/svm/" + label)`.
 *
 * @example
 * ```ts
 * import { deriveSvmTestKeypair } from "@tollgate/testing";
 * const agent = deriveSvmTestKeypair({ label: "demo-agent" });
 * agent.publicKey.toBase58();
 * ```
 */
export function deriveSvmTestKeypair(parameters: DeriveSvmTestKeypairParameters): Keypair {
  const { label } = parameters;
  const seed = createHash("sha256").update(`tollgate/testing/svm/${label}`, "utf8").digest();
  return Keypair.fromSeed(new Uint8Array(seed));
}

/** Four of a kind, so `keys[0]` is defined under `noUncheckedIndexedAccess`. */
type Four<T> = readonly [T, T, T, T];
/** Three of a kind. */
type Three<T> = readonly [T, T, T];

const labels = (role: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${role}/${i}`);

/**
 * EVM private key of the facilitator: it initialises the test token and relays (pays the gas of) EIP-3009
 * authorizations. `startEvmChain` funds it with ETH.
 *
 * @example
 * ```ts
 * import { evmFacilitatorPrivateKey } from "@tollgate/testing";
 * import { privateKeyToAccount } from "viem/accounts";
 * const relayer = privateKeyToAccount(evmFacilitatorPrivateKey);
 * ```
 */
export const evmFacilitatorPrivateKey: Hex = deriveEvmTestPrivateKey({ label: "facilitator" });

/**
 * EVM private keys of four payers. On a fresh `startEvmChain` they hold test USDC and 0 ETH (facilitator lane);
 * give some ETH with its `ethForPayers` option for direct transfers.
 *
 * @example
 * ```ts
 * import { evmPayerPrivateKeys } from "@tollgate/testing";
 * import { privateKeyToAccount } from "viem/accounts";
 * const payer = privateKeyToAccount(evmPayerPrivateKeys[0]);
 * ```
 */
export const evmPayerPrivateKeys: Four<Hex> = Object.freeze(
  labels("payer", 4).map((label) => deriveEvmTestPrivateKey({ label })),
) as Four<Hex>;

/**
 * EVM private keys of three payees (the `payTo` of test offers). They start with nothing.
 *
 * @example
 * ```ts
 * import { evmPayeePrivateKeys } from "@tollgate/testing";
 * import { privateKeyToAccount } from "viem/accounts";
 * const payTo = privateKeyToAccount(evmPayeePrivateKeys[0]).address;
 * ```
 */
export const evmPayeePrivateKeys: Three<Hex> = Object.freeze(
  labels("payee", 3).map((label) => deriveEvmTestPrivateKey({ label })),
) as Three<Hex>;

/**
 * viem account of `evmFacilitatorPrivateKey`.
 *
 * @example
 * ```ts
 * import { evmFacilitatorAccount } from "@tollgate/testing";
 * evmFacilitatorAccount.address;
 * ```
 */
export const evmFacilitatorAccount: PrivateKeyAccount = privateKeyToAccount(evmFacilitatorPrivateKey);

/**
 * viem accounts of `evmPayerPrivateKeys`, in the same order.
 *
 * @example
 * ```ts
 * import { evmPayerAccounts } from "@tollgate/testing";
 * const signature = await evmPayerAccounts[0].signTypedData({ domain, types, primaryType, message });
 * ```
 */
export const evmPayerAccounts: Four<PrivateKeyAccount> = Object.freeze(
  evmPayerPrivateKeys.map((key) => privateKeyToAccount(key)),
) as Four<PrivateKeyAccount>;

/**
 * viem accounts of `evmPayeePrivateKeys`, in the same order.
 *
 * @example
 * ```ts
 * import { evmPayeeAccounts } from "@tollgate/testing";
 * const payTo = evmPayeeAccounts[0].address;
 * ```
 */
export const evmPayeeAccounts: Three<PrivateKeyAccount> = Object.freeze(
  evmPayeePrivateKeys.map((key) => privateKeyToAccount(key)),
) as Three<PrivateKeyAccount>;

/**
 * Solana keypair of the facilitator: the fee payer that co-signs payers' transactions. `startSolanaBank` funds it
 * with SOL.
 *
 * @example
 * ```ts
 * import { svmFacilitatorFeePayerKeypair } from "@tollgate/testing";
 * const feePayer = svmFacilitatorFeePayerKeypair.publicKey.toBase58(); // the offer's extra.feePayer
 * ```
 */
export const svmFacilitatorFeePayerKeypair: Keypair = deriveSvmTestKeypair({
  label: "facilitator-fee-payer",
});

/**
 * Solana keypair that `startSolanaBank` makes the mint authority of its test USDC mint.
 *
 * @example
 * ```ts
 * import { svmMintAuthorityKeypair } from "@tollgate/testing";
 * svmMintAuthorityKeypair.publicKey.toBase58();
 * ```
 */
export const svmMintAuthorityKeypair: Keypair = deriveSvmTestKeypair({ label: "mint-authority" });

/**
 * Solana keypairs of four payers. On a fresh `startSolanaBank` they own test USDC token accounts and hold 0 SOL.
 *
 * @example
 * ```ts
 * import { svmPayerKeypairs } from "@tollgate/testing";
 * const payer = svmPayerKeypairs[0];
 * ```
 */
export const svmPayerKeypairs: Four<Keypair> = Object.freeze(
  labels("payer", 4).map((label) => deriveSvmTestKeypair({ label })),
) as Four<Keypair>;

/**
 * Solana keypairs of three payees (the `payTo` owners of test offers); `startSolanaBank` creates their empty USDC
 * token accounts.
 *
 * @example
 * ```ts
 * import { svmPayeeKeypairs } from "@tollgate/testing";
 * const payTo = svmPayeeKeypairs[0].publicKey.toBase58();
 * ```
 */
export const svmPayeeKeypairs: Three<Keypair> = Object.freeze(
  labels("payee", 3).map((label) => deriveSvmTestKeypair({ label })),
) as Three<Keypair>;
