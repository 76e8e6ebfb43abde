import { PublicKey } from "@solana/web3.js";
import { encodeBase58 } from "./base58.js";

/** The Compute Budget program: `SetComputeUnitLimit` (discriminator 2) and `SetComputeUnitPrice` (3). */
export const computeBudgetProgramId = "ComputeBudget111111111111111111111111111111";
/** SPL Token. */
export const tokenProgramId = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/** SPL Token-2022. */
export const token2022ProgramId = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
/** The Associated Token Account program. */
export const associatedTokenProgramId = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
/** SPL Memo v3, the only memo program the `exact` scheme accepts. */
export const memoProgramId = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
/** Lighthouse (assertion instructions some wallets append). */
export const lighthouseProgramId = "L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95";

/** Instruction discriminators and data sizes used by the `exact` scheme. */
export const instructionLayout = {
  setComputeUnitLimit: { discriminator: 2, size: 5 },
  setComputeUnitPrice: { discriminator: 3, size: 9 },
  transferChecked: { discriminator: 12, size: 10 },
} as const;

/** Whether a program id is SPL Token or Token-2022. */
export const isTokenProgram = (programId: string): boolean =>
  programId === tokenProgramId || programId === token2022ProgramId;

const ataProgramKey = new PublicKey(associatedTokenProgramId);
const ataCache = new Map<string, string>();
const ataCacheLimit = 4_096;

/**
 * The associated token account of `owner` for `mint` under a token program, base58. Derivations are remembered
 * (a payee and a mint repeat on every payment; finding the bump costs a few hashes).
 */
export function associatedTokenAddress(owner: string, mint: string, tokenProgram: string): string {
  const key = `${owner}|${mint}|${tokenProgram}`;
  const cached = ataCache.get(key);
  if (cached !== undefined) return cached;
  const [address] = PublicKey.findProgramAddressSync(
    [new PublicKey(owner).toBuffer(), new PublicKey(tokenProgram).toBuffer(), new PublicKey(mint).toBuffer()],
    ataProgramKey,
  );
  const result = address.toBase58();
  if (ataCache.size >= ataCacheLimit) {
    const oldest = ataCache.keys().next().value;
    if (oldest !== undefined) ataCache.delete(oldest);
  }
  ataCache.set(key, result);
  return result;
}

const knownAddresses = new Set<string>();

/** Whether a string is a base58 ed25519 public key (32 bytes). Valid ones are remembered (payees repeat). */
export function isSolanaAddress(value: unknown): value is string {
  if (typeof value !== "string") return false;
  if (knownAddresses.has(value)) return true;
  if (!/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(value)) return false;
  let valid: boolean;
  try {
    valid = new PublicKey(value).toBase58() === value;
  } catch {
    // Not decodable as 32 bytes: not an address.
    valid = false;
  }
  if (valid) {
    if (knownAddresses.size >= 4_096) knownAddresses.clear();
    knownAddresses.add(value);
  }
  return valid;
}

/** An initialised SPL Token (or Token-2022) account. */
export type DecodedTokenAccount = Readonly<{
  mint: string;
  owner: string;
  amount: bigint;
  frozen: boolean;
}>;

/** An initialised SPL Token (or Token-2022) mint. */
export type DecodedMint = Readonly<{ decimals: number }>;

// The SPL Token layouts (Token-2022 shares the base layouts and appends an account-type byte at offset 165 when
// it carries extensions: 1 = mint, 2 = token account).
const tokenAccountSize = 165;
const mintSize = 82;
const accountTypeOffset = 165;

const base58Of = (data: Uint8Array, offset: number) => encodeBase58(data.subarray(offset, offset + 32));

/** Decodes an initialised token account from its data, or `undefined` when the data is not one. */
export function decodeTokenAccount(data: Uint8Array): DecodedTokenAccount | undefined {
  if (data.length < tokenAccountSize) return undefined;
  if (data.length > tokenAccountSize && data[accountTypeOffset] !== 2) return undefined;
  const state = data[108];
  if (state !== 1 && state !== 2) return undefined; // 0: uninitialised
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    mint: base58Of(data, 0),
    owner: base58Of(data, 32),
    amount: view.getBigUint64(64, true),
    frozen: state === 2,
  };
}

/** Decodes an initialised mint from its data, or `undefined` when the data is not one. */
export function decodeMint(data: Uint8Array): DecodedMint | undefined {
  if (data.length < mintSize) return undefined;
  if (data.length > mintSize && (data.length <= accountTypeOffset || data[accountTypeOffset] !== 1))
    return undefined;
  if (data[45] !== 1) return undefined; // isInitialized
  const decimals = data[44];
  return decimals === undefined ? undefined : { decimals };
}
