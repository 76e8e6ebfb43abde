import {
  ACCOUNT_SIZE,
  AccountLayout,
  AccountState,
  MINT_SIZE,
  MintLayout,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import {
  AddressLookupTableAccount,
  type Message,
  type MessageV0,
  type PublicKey,
  type Transaction,
  VersionedTransaction,
} from "@solana/web3.js";
import type { BanksClient } from "solana-bankrun";
import { encodeBase58 } from "./base58.js";
import type { SvmTransactionError } from "./transactionError.js";

/**
 * One top-level instruction of a recorded transaction, with its accounts resolved to addresses.
 *
 * @example
 * ```ts
 * const transfer = recorded.instructions.find((ix) => ix.programId === TOKEN_PROGRAM_ID.toBase58());
 * ```
 */
export type RecordedInstruction = Readonly<{
  /** Base58 program id. */
  programId: string;
  /** Base58 addresses of the instruction's accounts, in order. */
  accounts: readonly string[];
  /** Raw instruction data. */
  data: Uint8Array;
}>;

/**
 * Balance of one SPL token account that a transaction touched, like an entry of RPC `meta.preTokenBalances`
 * but with the amount as a bigint.
 *
 * @example
 * ```ts
 * const before = recorded.preTokenBalances.find((b) => b.owner === payTo)?.amount ?? 0n;
 * ```
 */
export type RecordedTokenBalance = Readonly<{
  /** Index of the token account among the transaction's account keys. */
  accountIndex: number;
  /** Base58 address of the token account. */
  account: string;
  /** Base58 mint. */
  mint: string;
  /** Base58 owner of the token account. */
  owner: string;
  /** Base58 token program (SPL Token or Token-2022). */
  programId: string;
  /** Atomic units. */
  amount: bigint;
  /** Decimals of the mint. */
  decimals: number;
}>;

/**
 * What the bank kit records of each transaction that landed (succeeded, or failed with fees charged), in the
 * spirit of RPC `getParsedTransaction`: bankrun 0.4.0's metadata has only logs, return data and compute units, so
 * the balances come from reading every account key before and after processing. Inner instructions are not
 * available.
 *
 * @example
 * ```ts
 * const recorded = bank.getRecordedTransaction(signature);
 * const received = recorded?.postTokenBalances.find((b) => b.owner === payTo && b.mint === usdcMint);
 * ```
 */
export type RecordedTransaction = Readonly<{
  /** Base58 of the first signature (the fee payer's). */
  signature: string;
  /** Base58 of every signature, in the order of the signer keys. */
  signatures: readonly string[];
  /** The transaction as sent on the wire (legacy or v0), for answers that carry it. */
  wire: Uint8Array;
  /** Slot the bank was at after processing. */
  slot: bigint;
  /** Unix seconds of the bank's clock after processing. */
  blockTime: bigint;
  /** `null` when the transaction succeeded; else why it failed (fees were still charged). */
  err: SvmTransactionError | null;
  /** Base58 account keys: static keys, then those loaded from lookup tables (writable, then read-only). */
  accountKeys: readonly string[];
  /** Base58 fee payer (account key 0). */
  feePayer: string;
  /** Top-level instructions in order. */
  instructions: readonly RecordedInstruction[];
  /** Lamports of each account key before processing (0 for accounts that did not exist). */
  preBalances: readonly bigint[];
  /** Lamports of each account key after processing. */
  postBalances: readonly bigint[];
  /** Token accounts among the account keys before processing. */
  preTokenBalances: readonly RecordedTokenBalance[];
  /** Token accounts among the account keys after processing. */
  postTokenBalances: readonly RecordedTokenBalance[];
  /** Program logs. */
  logMessages: readonly string[];
  /** Compute units consumed. */
  computeUnitsConsumed: bigint;
}>;

/** A transaction's message decoded to addresses: what the recorder needs before sending it. */
export type DescribedTransaction = Readonly<{
  signature: string;
  signatures: readonly string[];
  wire: Uint8Array;
  accountKeys: readonly PublicKey[];
  instructions: readonly RecordedInstruction[];
}>;

/** Account state the recorder reads for every account key, before and after. */
export type AccountsSnapshot = Readonly<{
  lamports: readonly bigint[];
  tokenBalances: readonly RecordedTokenBalance[];
}>;

/**
 * Decodes a legacy or v0 transaction: its first signature, its account keys (lookup tables resolved through the
 * bank) and its top-level instructions.
 *
 * @example
 * ```ts
 * const described = await describeTransaction({ banksClient, transaction });
 * described.instructions.map((ix) => ix.programId);
 * ```
 */
export async function describeTransaction(parameters: {
  banksClient: BanksClient;
  transaction: Transaction | VersionedTransaction;
}): Promise<DescribedTransaction> {
  const { banksClient, transaction } = parameters;
  let message: Message | MessageV0;
  let signatures: readonly (Uint8Array | null)[];
  let wire: Uint8Array;
  if (transaction instanceof VersionedTransaction) {
    message = transaction.message;
    signatures = transaction.signatures;
    wire = transaction.serialize();
  } else {
    message = transaction.compileMessage();
    signatures = transaction.signatures.map((s) => s.signature);
    wire = transaction.serialize({ requireAllSignatures: false, verifySignatures: false });
  }
  const firstSignature = signatures[0] ?? null;
  const addressLookupTableAccounts: AddressLookupTableAccount[] = [];
  for (const lookup of message.addressTableLookups) {
    const table = await banksClient.getAccount(lookup.accountKey);
    if (table === null) continue; // The bank refuses such a transaction (AddressLookupTableNotFound).
    addressLookupTableAccounts.push(
      new AddressLookupTableAccount({
        key: lookup.accountKey,
        state: AddressLookupTableAccount.deserialize(table.data),
      }),
    );
  }
  const keys =
    message.version === 0 ? message.getAccountKeys({ addressLookupTableAccounts }) : message.getAccountKeys();
  const accountKeys = keys.keySegments().flat();
  const address = (index: number) => accountKeys[index]?.toBase58() ?? `<missing account ${index}>`;
  return {
    signature: firstSignature === null ? "" : encodeBase58(firstSignature),
    signatures: signatures.map((s) => (s === null ? "" : encodeBase58(s))),
    wire: Uint8Array.from(wire),
    accountKeys,
    instructions: message.compiledInstructions.map((instruction) => ({
      programId: address(instruction.programIdIndex),
      accounts: instruction.accountKeyIndexes.map(address),
      data: Uint8Array.from(instruction.data),
    })),
  };
}

const isTokenProgram = (owner: PublicKey) =>
  owner.equals(TOKEN_PROGRAM_ID) || owner.equals(TOKEN_2022_PROGRAM_ID);

/**
 * What `snapshotAccounts` may remember between calls of one bank: program accounts (executable, large, never
 * changed by the transactions a payment test sends) and mint decimals.
 */
export type SnapshotCache = Readonly<{
  /** Lamports of executable accounts, by base58 address. */
  programLamports: Map<string, bigint>;
  /** Decimals of mints, by base58 address. */
  mintDecimals: Map<string, number>;
}>;

/**
 * Creates an empty `SnapshotCache`.
 *
 * @example
 * ```ts
 * const cache = createSnapshotCache();
 * const before = await snapshotAccounts({ banksClient, accountKeys, cache });
 * ```
 */
export function createSnapshotCache(): SnapshotCache {
  return { programLamports: new Map(), mintDecimals: new Map() };
}

/**
 * Reads the lamports of every account key and the balance of every initialised SPL token account among them.
 *
 * @example
 * ```ts
 * const before = await snapshotAccounts({ banksClient, accountKeys: described.accountKeys, cache });
 * ```
 */
export async function snapshotAccounts(parameters: {
  banksClient: BanksClient;
  accountKeys: readonly PublicKey[];
  cache: SnapshotCache;
}): Promise<AccountsSnapshot> {
  const { banksClient, accountKeys, cache } = parameters;
  const addresses = accountKeys.map((key) => key.toBase58());
  // Reading a program account copies its whole ELF (~1 ms for SPL Token): read each program once.
  const accounts = await Promise.all(
    accountKeys.map((key, i) =>
      cache.programLamports.has(addresses[i] ?? "") ? Promise.resolve(null) : banksClient.getAccount(key),
    ),
  );
  const lamports: bigint[] = [];
  const tokenBalances: RecordedTokenBalance[] = [];
  for (const [accountIndex, account] of accounts.entries()) {
    const address = addresses[accountIndex] ?? "";
    const programLamports = cache.programLamports.get(address);
    if (programLamports !== undefined) {
      lamports.push(programLamports);
      continue;
    }
    lamports.push(account === null ? 0n : BigInt(account.lamports));
    if (account?.executable) cache.programLamports.set(address, BigInt(account.lamports));
    if (account === null || !isTokenProgram(account.owner) || account.data.length < ACCOUNT_SIZE) continue;
    // Token-2022 accounts with extensions are longer and carry their account type at byte 165: 2 is a token account.
    if (account.data.length > ACCOUNT_SIZE && account.data[ACCOUNT_SIZE] !== 2) continue;
    const token = AccountLayout.decode(account.data.subarray(0, ACCOUNT_SIZE));
    if (token.state === AccountState.Uninitialized) continue;
    const mint = token.mint.toBase58();
    let decimals = cache.mintDecimals.get(mint);
    if (decimals === undefined) {
      const mintAccount = await banksClient.getAccount(token.mint);
      if (mintAccount === null || mintAccount.data.length < MINT_SIZE) continue;
      decimals = MintLayout.decode(mintAccount.data.subarray(0, MINT_SIZE)).decimals;
      cache.mintDecimals.set(mint, decimals);
    }
    tokenBalances.push({
      accountIndex,
      account: address,
      mint,
      owner: token.owner.toBase58(),
      programId: account.owner.toBase58(),
      amount: token.amount,
      decimals,
    });
  }
  return { lamports, tokenBalances };
}
