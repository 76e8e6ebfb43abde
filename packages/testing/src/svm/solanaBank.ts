import {
  ACCOUNT_SIZE,
  AccountLayout,
  AccountState,
  createAssociatedTokenAccountIdempotentInstruction,
  createMintToCheckedInstruction,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
  MINT_SIZE,
  MintLayout,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import {
  type Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  type Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import {
  defaultNetworkRegistry,
  type NetworkInfo,
  type NetworkRegistry,
  TollgateError,
} from "@tollgate/shared";
import { type BanksClient, type ProgramTestContext, start } from "solana-bankrun";
import {
  svmFacilitatorFeePayerKeypair,
  svmMintAuthorityKeypair,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "../keys.js";
import {
  createSnapshotCache,
  describeTransaction,
  type RecordedTransaction,
  snapshotAccounts,
} from "./recordedTransaction.js";
import { parseSvmTransactionError, type SvmTransactionError } from "./transactionError.js";
import { verifyTransactionSignatures } from "./verifySignatures.js";

/**
 * A Solana address as a `PublicKey` or its base58 string.
 *
 * @example
 * ```ts
 * import type { SvmAddress } from "@tollgate/testing";
 * const payTo: SvmAddress = "8vrpH9fe8kzC77SSd8iGjDW5o8HsH4XaFycFLQEniq6Z";
 * ```
 */
export type SvmAddress = PublicKey | string;

/** Parameters of `startSolanaBank`. */
export type StartSolanaBankParameters = Readonly<{
  /**
   * Registry network the bank stands for; its USDC mint address is where the test mint is written.
   * @default "solana-devnet"
   */
  network?: string;
  /**
   * Registry to read the network from.
   * @default defaultNetworkRegistry
   */
  registry?: NetworkRegistry;
  /**
   * Owners whose USDC token account (ATA) holds `usdcPerPayer` at start. They hold no SOL unless listed in
   * `lamportsForPayers`.
   * @default the public keys of svmPayerKeypairs
   */
  payers?: readonly SvmAddress[];
  /**
   * Owners whose empty USDC token account (ATA) exists at start.
   * @default the public keys of svmPayeeKeypairs
   */
  payees?: readonly SvmAddress[];
  /**
   * Test USDC in each payer's token account, in atomic units (6 decimals).
   * @default 10_000_000n (10 USDC)
   */
  usdcPerPayer?: bigint;
  /**
   * Lamports to give some addresses, typically direct-lane payers who pay their own fees. Facilitator-lane payers
   * stay at 0 SOL.
   * @default {} (nobody but the fee payer holds SOL)
   */
  lamportsForPayers?: Readonly<Record<string, bigint>>;
  /**
   * The facilitator's fee payer, funded with `feePayerLamports`.
   * @default svmFacilitatorFeePayerKeypair
   */
  feePayer?: Keypair;
  /**
   * Lamports given to the fee payer.
   * @default 10n * 1_000_000_000n (10 SOL)
   */
  feePayerLamports?: bigint;
  /**
   * Mint authority of the test USDC mint (used by `mintTo`).
   * @default svmMintAuthorityKeypair
   */
  mintAuthority?: Keypair;
}>;

/**
 * Outcome of `processTransaction`: failures are data, with the error's variant name.
 *
 * @example
 * ```ts
 * const result = await bank.processTransaction(transaction);
 * if (!result.ok && result.error.name === "AlreadyProcessed") console.log("replayed");
 * ```
 */
export type ProcessTransactionResult =
  | Readonly<{ ok: true; signature: string; recorded: RecordedTransaction }>
  | Readonly<{
      ok: false;
      signature: string;
      error: SvmTransactionError;
      logMessages: readonly string[];
      /** Set when the transaction landed anyway (an instruction failed, fees were charged). */
      recorded: RecordedTransaction | undefined;
    }>;

/**
 * An in-process Solana bank with a USDC mint at the network's real address, funded accounts and helpers.
 *
 * @example
 * ```ts
 * import { startSolanaBank, svmPayeeKeypairs } from "@tollgate/testing";
 * const bank = await startSolanaBank();
 * const result = await bank.processTransaction(coSignedTransaction);
 * if (result.ok) bank.getRecordedTransaction(result.signature)?.postTokenBalances;
 * await bank.tokenBalance(svmPayeeKeypairs[0].publicKey);
 * ```
 */
export type SolanaBank = Readonly<{
  /** The bankrun context (`setAccount`, `warpToSlot`, …). */
  context: ProgramTestContext;
  /** The bank's client. */
  banksClient: BanksClient;
  /** The registry entry the bank stands for. */
  network: NetworkInfo;
  /** The test USDC mint: the registry's mint address of the network. */
  mint: PublicKey;
  /** Decimals of the mint. */
  decimals: number;
  /** The facilitator's fee payer, funded with SOL. */
  feePayer: Keypair;
  /** The mint authority. */
  mintAuthority: Keypair;
  /** Owners funded with test USDC at start. */
  payers: readonly PublicKey[];
  /** Owners with an empty USDC token account at start. */
  payees: readonly PublicKey[];
  /** The USDC associated token account of an owner (it may not exist). */
  associatedTokenAddress(owner: SvmAddress): PublicKey;
  /** Test USDC balance of an owner's associated token account, in atomic units; 0n if it does not exist. */
  tokenBalance(owner: SvmAddress): Promise<bigint>;
  /** Lamports of an address; 0n if the account does not exist. */
  lamports(address: SvmAddress): Promise<bigint>;
  /** The bank's latest blockhash, for building transactions. */
  latestBlockhash(): Promise<Readonly<{ blockhash: string; lastValidBlockHeight: bigint }>>;
  /**
   * Processes a fully signed transaction and records its parsed view when it lands. Checks every signature first
   * (bankrun itself does not) and refuses a bad one as `SignatureFailure`. Never throws for a refusal.
   */
  processTransaction(transaction: Transaction | VersionedTransaction): Promise<ProcessTransactionResult>;
  /** Every recorded transaction, in the order the bank processed them. */
  recordedTransactions(): readonly RecordedTransaction[];
  /** The recorded view of a transaction processed through `processTransaction`, by base58 signature. */
  getRecordedTransaction(signature: string): RecordedTransaction | undefined;
  /** Mints test USDC to an owner's associated token account (created if missing), paid by the fee payer. */
  mintTo(owner: SvmAddress, amount: bigint): Promise<ProcessTransactionResult>;
  /**
   * Builds (does not send) a USDC `TransferChecked` between associated token accounts that `from` signs and pays
   * the fee of, on the latest blockhash, with a numbered memo so equal transfers are distinct transactions: what
   * a payer sends on the direct lane.
   */
  signedTransfer(parameters: SignedTransferParameters): Promise<VersionedTransaction>;
}>;

/** Parameters of `SolanaBank.signedTransfer`. */
export type SignedTransferParameters = Readonly<{
  /** The payer: owner of the source token account, signer and fee payer (it needs SOL). */
  from: Keypair;
  /** The owner of the destination token account. */
  to: SvmAddress;
  /** Atomic units. */
  amount: bigint;
}>;

/** SPL Memo v3, which solana-program-test (and so bankrun) loads at genesis. */
const memoProgramId = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

const toPublicKey = (address: SvmAddress) => (typeof address === "string" ? new PublicKey(address) : address);

/**
 * Starts an in-process Solana bank (solana-bankrun) standing for a registry network (Solana Devnet by default):
 * a 6-decimal mint written at the network's real USDC mint address, the fee payer funded with SOL, payers' token
 * accounts funded with test USDC (payers hold 0 SOL) and payees' empty token accounts. Transactions sent through
 * `processTransaction` are recorded with their instructions and pre/post token balances. bankrun 0.4.0 has no
 * `stop()`: let the bank go out of scope.
 *
 * @example
 * ```ts
 * import { startSolanaBank, svmPayerKeypairs } from "@tollgate/testing";
 * const bank = await startSolanaBank({ usdcPerPayer: 5_000_000n });
 * await bank.tokenBalance(svmPayerKeypairs[0].publicKey); // 5_000_000n
 * await bank.lamports(svmPayerKeypairs[0].publicKey); // 0n
 * ```
 * @throws `NETWORK__UNKNOWN`, `NETWORK__NO_ASSET` (not a Solana network with a USDC mint in the registry).
 */
export async function startSolanaBank(parameters: StartSolanaBankParameters = {}): Promise<SolanaBank> {
  const {
    network: networkName = "solana-devnet",
    registry = defaultNetworkRegistry,
    payers: payerAddresses = svmPayerKeypairs.map((keypair) => keypair.publicKey),
    payees: payeeAddresses = svmPayeeKeypairs.map((keypair) => keypair.publicKey),
    usdcPerPayer = 10_000_000n,
    lamportsForPayers = {},
    feePayer = svmFacilitatorFeePayerKeypair,
    feePayerLamports = 10n * BigInt(LAMPORTS_PER_SOL),
    mintAuthority = svmMintAuthorityKeypair,
  } = parameters;

  const network = registry.get(networkName);
  if (network.family !== "svm" || network.usdc === undefined) {
    throw new TollgateError("NETWORK__NO_ASSET", { context: { network: network.caip2 } });
  }
  const mint = new PublicKey(network.usdc.address);
  const decimals = network.usdc.decimals;
  const payers = Object.freeze(payerAddresses.map(toPublicKey));
  const payees = Object.freeze(payeeAddresses.map(toPublicKey));

  const context = await start([], []);
  const { banksClient } = context;
  const rent = await banksClient.getRent();
  const rentExempt = (size: number) => Number(rent.minimumBalance(BigInt(size)));

  const setSystemAccount = (address: PublicKey, lamports: bigint) =>
    context.setAccount(address, {
      lamports: Number(lamports),
      data: new Uint8Array(0),
      owner: SystemProgram.programId,
      executable: false,
    });

  const mintData = new Uint8Array(MINT_SIZE);
  MintLayout.encode(
    {
      mintAuthorityOption: 1,
      mintAuthority: mintAuthority.publicKey,
      supply: usdcPerPayer * BigInt(payers.length),
      decimals,
      isInitialized: true,
      freezeAuthorityOption: 0,
      freezeAuthority: PublicKey.default,
    },
    mintData,
  );
  context.setAccount(mint, {
    lamports: rentExempt(MINT_SIZE),
    data: mintData,
    owner: TOKEN_PROGRAM_ID,
    executable: false,
  });

  const associatedTokenAddress = (owner: SvmAddress) =>
    getAssociatedTokenAddressSync(mint, toPublicKey(owner), true);

  const writeTokenAccount = (owner: PublicKey, amount: bigint) => {
    const data = new Uint8Array(ACCOUNT_SIZE);
    AccountLayout.encode(
      {
        mint,
        owner,
        amount,
        delegateOption: 0,
        delegate: PublicKey.default,
        state: AccountState.Initialized,
        isNativeOption: 0,
        isNative: 0n,
        delegatedAmount: 0n,
        closeAuthorityOption: 0,
        closeAuthority: PublicKey.default,
      },
      data,
    );
    context.setAccount(associatedTokenAddress(owner), {
      lamports: rentExempt(ACCOUNT_SIZE),
      data,
      owner: TOKEN_PROGRAM_ID,
      executable: false,
    });
  };

  setSystemAccount(feePayer.publicKey, feePayerLamports);
  for (const payee of payees) writeTokenAccount(payee, 0n);
  for (const payer of payers) writeTokenAccount(payer, usdcPerPayer);
  for (const [address, lamports] of Object.entries(lamportsForPayers)) {
    setSystemAccount(new PublicKey(address), lamports);
  }

  const recorded = new Map<string, RecordedTransaction>();
  const cache = createSnapshotCache();

  async function processTransaction(
    transaction: Transaction | VersionedTransaction,
  ): Promise<ProcessTransactionResult> {
    const described = await describeTransaction({ banksClient, transaction });
    if (!verifyTransactionSignatures(transaction)) {
      // A cluster drops it at sigverify; bankrun would execute it, so it is never sent.
      return {
        ok: false,
        signature: described.signature,
        error: parseSvmTransactionError("Transaction did not pass signature verification"),
        logMessages: [],
        recorded: undefined,
      };
    }
    const before = await snapshotAccounts({ banksClient, accountKeys: described.accountKeys, cache });
    const outcome = await banksClient.tryProcessTransaction(transaction);
    const logMessages = Object.freeze([...(outcome.meta?.logMessages ?? [])]);

    async function record(err: SvmTransactionError | null): Promise<RecordedTransaction> {
      const after = await snapshotAccounts({ banksClient, accountKeys: described.accountKeys, cache });
      const clock = await banksClient.getClock();
      const view: RecordedTransaction = Object.freeze({
        signature: described.signature,
        signatures: Object.freeze([...described.signatures]),
        wire: described.wire,
        slot: clock.slot,
        blockTime: clock.unixTimestamp,
        err,
        accountKeys: Object.freeze(described.accountKeys.map((key) => key.toBase58())),
        feePayer: described.accountKeys[0]?.toBase58() ?? "",
        instructions: Object.freeze(described.instructions),
        preBalances: Object.freeze(before.lamports),
        postBalances: Object.freeze(after.lamports),
        preTokenBalances: Object.freeze(before.tokenBalances),
        postTokenBalances: Object.freeze(after.tokenBalances),
        logMessages,
        computeUnitsConsumed: outcome.meta?.computeUnitsConsumed ?? 0n,
      });
      recorded.set(described.signature, view);
      return view;
    }

    if (outcome.result === null) {
      return { ok: true, signature: described.signature, recorded: await record(null) };
    }
    const error = parseSvmTransactionError(outcome.result);
    // A refused transaction (replay, unknown blockhash, no funds for the fee…) never landed: nothing to record. One
    // that failed in an instruction landed and charged its fees, as on a real cluster: record it with its error.
    const landed =
      error.name !== "AlreadyProcessed" &&
      !recorded.has(described.signature) &&
      (await banksClient.getTransactionStatus(described.signature)) !== null;
    return {
      ok: false,
      signature: described.signature,
      error,
      logMessages,
      recorded: landed ? await record(error) : undefined,
    };
  }

  async function latestBlockhash() {
    const latest = await banksClient.getLatestBlockhash();
    if (latest === null) {
      throw new TollgateError("CHAIN__CALL_FAILED", {
        context: { network: network.caip2, operation: "getLatestBlockhash" },
      });
    }
    const [blockhash, lastValidBlockHeight] = latest;
    return Object.freeze({ blockhash, lastValidBlockHeight });
  }

  let mints = 0;

  async function mintTo(owner: SvmAddress, amount: bigint): Promise<ProcessTransactionResult> {
    const ownerKey = toPublicKey(owner);
    // A numbered memo keeps two equal mints in one slot from being the same transaction (AlreadyProcessed).
    const memo = new TransactionInstruction({
      programId: memoProgramId,
      keys: [],
      data: Buffer.from(`tollgate-testing mint ${++mints}`, "utf8"),
    });
    const destination = associatedTokenAddress(ownerKey);
    const { blockhash } = await latestBlockhash();
    const message = new TransactionMessage({
      payerKey: feePayer.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        createAssociatedTokenAccountIdempotentInstruction(feePayer.publicKey, destination, ownerKey, mint),
        createMintToCheckedInstruction(mint, destination, mintAuthority.publicKey, amount, decimals),
        memo,
      ],
    }).compileToV0Message();
    const transaction = new VersionedTransaction(message);
    transaction.sign([feePayer, mintAuthority]);
    return processTransaction(transaction);
  }

  let transfers = 0;

  async function signedTransfer(parameters: SignedTransferParameters): Promise<VersionedTransaction> {
    const { from, to, amount } = parameters;
    const { blockhash } = await latestBlockhash();
    const message = new TransactionMessage({
      payerKey: from.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        createTransferCheckedInstruction(
          associatedTokenAddress(from.publicKey),
          mint,
          associatedTokenAddress(toPublicKey(to)),
          from.publicKey,
          amount,
          decimals,
        ),
        new TransactionInstruction({
          programId: memoProgramId,
          keys: [],
          data: Buffer.from(`tollgate-testing transfer ${++transfers}`, "utf8"),
        }),
      ],
    }).compileToV0Message();
    const transaction = new VersionedTransaction(message);
    transaction.sign([from]);
    return transaction;
  }

  return Object.freeze({
    context,
    banksClient,
    network,
    mint,
    decimals,
    feePayer,
    mintAuthority,
    payers,
    payees,
    associatedTokenAddress,
    async tokenBalance(owner: SvmAddress) {
      const account = await banksClient.getAccount(associatedTokenAddress(owner));
      if (account === null || account.data.length < ACCOUNT_SIZE) return 0n;
      return AccountLayout.decode(account.data.subarray(0, ACCOUNT_SIZE)).amount;
    },
    lamports: (address: SvmAddress) => banksClient.getBalance(toPublicKey(address)),
    latestBlockhash,
    processTransaction,
    recordedTransactions: () => Object.freeze([...recorded.values()]),
    getRecordedTransaction: (signature: string) => recorded.get(signature),
    mintTo,
    signedTransfer,
  });
}
