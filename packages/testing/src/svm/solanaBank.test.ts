import {
  ACCOUNT_SIZE,
  AccountLayout,
  AccountState,
  createTransferCheckedInstruction,
  MINT_SIZE,
  MintLayout,
  TOKEN_PROGRAM_ID,
  TokenInstruction,
} from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  type Keypair,
  PublicKey,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import { defaultNetworkRegistry, isTollgateError } from "@tollgate/shared";
import { beforeAll, describe, expect, it } from "vitest";
import {
  svmFacilitatorFeePayerKeypair,
  svmMintAuthorityKeypair,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "../keys.js";
import { type SolanaBank, startSolanaBank } from "./solanaBank.js";

const devnet = defaultNetworkRegistry.get("solana-devnet");

describe("startSolanaBank (solana-devnet, USDC mint at the real devnet address)", () => {
  let bank: SolanaBank;

  beforeAll(async () => {
    const started = performance.now();
    bank = await startSolanaBank();
    console.info(`[timing] startSolanaBank: ${(performance.now() - started).toFixed(0)} ms`);
  });

  /** What a client builds for the facilitator lane: payer signs, fee payer slot left empty. */
  async function paymentTransaction(payer: Keypair, payee: PublicKey, amount: bigint) {
    const { blockhash } = await bank.latestBlockhash();
    const message = new TransactionMessage({
      payerKey: bank.feePayer.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 }),
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }),
        createTransferCheckedInstruction(
          bank.associatedTokenAddress(payer.publicKey),
          bank.mint,
          bank.associatedTokenAddress(payee),
          payer.publicKey,
          amount,
          6,
        ),
      ],
    }).compileToV0Message();
    const transaction = new VersionedTransaction(message);
    transaction.sign([payer]);
    return Buffer.from(transaction.serialize()).toString("base64");
  }

  /** What the facilitator does: decode, co-sign as fee payer. */
  function coSign(base64: string) {
    const transaction = VersionedTransaction.deserialize(Buffer.from(base64, "base64"));
    transaction.sign([bank.feePayer]);
    return transaction;
  }

  it("writes a 6-decimal mint at the registry's devnet USDC address, with the kit's mint authority", async () => {
    expect(bank.network.caip2).toBe("solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1");
    expect(bank.mint.toBase58()).toBe(devnet.usdc?.address);
    const account = await bank.banksClient.getAccount(bank.mint);
    expect(account?.owner.equals(TOKEN_PROGRAM_ID)).toBe(true);
    const mint = MintLayout.decode(account?.data.subarray(0, MINT_SIZE) ?? new Uint8Array(MINT_SIZE));
    expect(mint.decimals).toBe(6);
    expect(bank.decimals).toBe(6);
    expect(mint.isInitialized).toBe(true);
    expect(mint.mintAuthority.equals(svmMintAuthorityKeypair.publicKey)).toBe(true);
    expect(mint.supply).toBe(40_000_000n);
  });

  it("funds the fee payer with SOL, payers' token accounts with USDC (payers at 0 SOL), payees with empty ones", async () => {
    expect(bank.feePayer.publicKey.equals(svmFacilitatorFeePayerKeypair.publicKey)).toBe(true);
    expect(await bank.lamports(bank.feePayer.publicKey)).toBe(10_000_000_000n);
    for (const payer of svmPayerKeypairs) {
      expect(await bank.tokenBalance(payer.publicKey)).toBe(10_000_000n);
      expect(await bank.lamports(payer.publicKey)).toBe(0n);
    }
    for (const payee of svmPayeeKeypairs) {
      const ata = await bank.banksClient.getAccount(bank.associatedTokenAddress(payee.publicKey));
      const token = AccountLayout.decode(ata?.data.subarray(0, ACCOUNT_SIZE) ?? new Uint8Array(ACCOUNT_SIZE));
      expect(token.state).toBe(AccountState.Initialized);
      expect(token.owner.equals(payee.publicKey)).toBe(true);
      expect(token.amount).toBe(0n);
    }
  });

  it("processes a v0 payment signed by a 0-SOL payer and co-signed by the fee payer, and records it", async () => {
    const payer = svmPayerKeypairs[0];
    const payee = svmPayeeKeypairs[0].publicKey;
    const feePayerBefore = await bank.lamports(bank.feePayer.publicKey);
    const transaction = coSign(await paymentTransaction(payer, payee, 1_500_000n));

    const started = performance.now();
    const result = await bank.processTransaction(transaction);
    console.info(
      `[timing] first Solana payment (record + process): ${(performance.now() - started).toFixed(1)} ms`,
    );
    if (!result.ok) throw new Error(`payment failed: ${result.error.name}`);

    expect(await bank.tokenBalance(payer.publicKey)).toBe(8_500_000n);
    expect(await bank.tokenBalance(payee)).toBe(1_500_000n);
    expect(await bank.lamports(payer.publicKey)).toBe(0n);
    expect(await bank.lamports(bank.feePayer.publicKey)).toBeLessThan(feePayerBefore);

    const recorded = bank.getRecordedTransaction(result.signature);
    expect(recorded).toBe(result.recorded);
    if (recorded === undefined) throw new Error("not recorded");
    expect(recorded.err).toBeNull();
    expect(recorded.feePayer).toBe(bank.feePayer.publicKey.toBase58());
    expect(recorded.instructions.map((ix) => ix.programId)).toEqual([
      ComputeBudgetProgram.programId.toBase58(),
      ComputeBudgetProgram.programId.toBase58(),
      TOKEN_PROGRAM_ID.toBase58(),
    ]);
    const transfer = recorded.instructions[2];
    const payerAta = bank.associatedTokenAddress(payer.publicKey).toBase58();
    const payeeAta = bank.associatedTokenAddress(payee).toBase58();
    expect(transfer?.accounts).toEqual([
      payerAta,
      bank.mint.toBase58(),
      payeeAta,
      payer.publicKey.toBase58(),
    ]);
    expect(transfer?.data[0]).toBe(TokenInstruction.TransferChecked);
    expect(Buffer.from(transfer?.data ?? []).readBigUInt64LE(1)).toBe(1_500_000n);
    expect(transfer?.data[9]).toBe(6);

    const mint = bank.mint.toBase58();
    const byAccount = (balances: typeof recorded.preTokenBalances) =>
      Object.fromEntries(
        balances.map(({ account, owner, mint, amount, decimals }) => [
          account,
          { owner, mint, amount, decimals },
        ]),
      );
    expect(byAccount(recorded.preTokenBalances)).toEqual({
      [payerAta]: { owner: payer.publicKey.toBase58(), mint, amount: 10_000_000n, decimals: 6 },
      [payeeAta]: { owner: payee.toBase58(), mint, amount: 0n, decimals: 6 },
    });
    expect(byAccount(recorded.postTokenBalances)).toEqual({
      [payerAta]: { owner: payer.publicKey.toBase58(), mint, amount: 8_500_000n, decimals: 6 },
      [payeeAta]: { owner: payee.toBase58(), mint, amount: 1_500_000n, decimals: 6 },
    });
    for (const balance of recorded.postTokenBalances) {
      expect(recorded.accountKeys[balance.accountIndex]).toBe(balance.account);
      expect(balance.programId).toBe(TOKEN_PROGRAM_ID.toBase58());
    }
    const payerIndex = recorded.accountKeys.indexOf(payer.publicKey.toBase58());
    expect(recorded.preBalances[payerIndex]).toBe(0n);
    expect(recorded.postBalances[payerIndex]).toBe(0n);
    expect(recorded.preBalances[0]! - recorded.postBalances[0]!).toBeGreaterThan(0n);
    expect(recorded.computeUnitsConsumed).toBeGreaterThan(0n);

    // The same transaction again is refused and leaves the record alone.
    const replay = await bank.processTransaction(transaction);
    expect(replay.ok).toBe(false);
    if (!replay.ok) {
      expect(replay.error.name).toBe("AlreadyProcessed");
      expect(replay.recorded).toBeUndefined();
    }
    expect(bank.getRecordedTransaction(result.signature)).toBe(recorded);
    expect(await bank.tokenBalance(payee)).toBe(1_500_000n);
  });

  it("measures later payments", async () => {
    const payer = svmPayerKeypairs[1];
    const payee = svmPayeeKeypairs[1].publicKey;
    const rounds = 10;
    let elapsed = 0;
    for (let i = 1; i <= rounds; i++) {
      const transaction = coSign(await paymentTransaction(payer, payee, BigInt(i)));
      const started = performance.now();
      const result = await bank.processTransaction(transaction);
      elapsed += performance.now() - started;
      expect(result.ok).toBe(true);
    }
    console.info(
      `[timing] Solana payment (record + process), mean of ${rounds}: ${(elapsed / rounds).toFixed(1)} ms`,
    );
    expect(await bank.tokenBalance(payee)).toBe(55n);
  });

  it("refuses a transaction without the fee payer's signature, and a forged payer signature; records neither", async () => {
    const payer = svmPayerKeypairs[2];
    const payee = svmPayeeKeypairs[0].publicKey;
    const partial = VersionedTransaction.deserialize(
      Buffer.from(await paymentTransaction(payer, payee, 7n), "base64"),
    );
    const unsigned = await bank.processTransaction(partial);
    expect(unsigned.ok).toBe(false);
    if (!unsigned.ok) {
      expect(unsigned.error.name).toBe("SignatureFailure");
      expect(unsigned.recorded).toBeUndefined();
    }
    expect(bank.getRecordedTransaction(unsigned.signature)).toBeUndefined();

    const forged = coSign(await paymentTransaction(payer, payee, 8n));
    forged.signatures[1] = new Uint8Array(64).fill(7);
    const forgedResult = await bank.processTransaction(forged);
    expect(forgedResult.ok).toBe(false);
    if (!forgedResult.ok) expect(forgedResult.error.name).toBe("SignatureFailure");
    expect(await bank.tokenBalance(payer.publicKey)).toBe(10_000_000n);
  });

  it("records a transaction that lands with a failed instruction (fees charged), by instruction index", async () => {
    const payer = svmPayerKeypairs[3];
    const transaction = coSign(await paymentTransaction(payer, svmPayeeKeypairs[2].publicKey, 10_000_001n));
    const result = await bank.processTransaction(transaction);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.name).toBe("InstructionError");
    expect(result.error.instructionIndex).toBe(2);
    expect(result.recorded?.err?.name).toBe("InstructionError");
    expect(result.recorded?.postTokenBalances.map((b) => b.amount)).toEqual(
      result.recorded?.preTokenBalances.map((b) => b.amount),
    );
    expect(result.recorded?.postBalances[0]).toBeLessThan(result.recorded?.preBalances[0] ?? 0n);
    expect(await bank.tokenBalance(payer.publicKey)).toBe(10_000_000n);
  });

  it("processes and records legacy transactions too", async () => {
    const payer = svmPayerKeypairs[3];
    const payee = svmPayeeKeypairs[2].publicKey;
    const { blockhash } = await bank.latestBlockhash();
    const transaction = new Transaction({
      feePayer: bank.feePayer.publicKey,
      recentBlockhash: blockhash,
    }).add(
      createTransferCheckedInstruction(
        bank.associatedTokenAddress(payer.publicKey),
        bank.mint,
        bank.associatedTokenAddress(payee),
        payer.publicKey,
        2_000_000n,
        6,
      ),
    );
    transaction.partialSign(payer);
    const received = Transaction.from(transaction.serialize({ requireAllSignatures: false }));
    received.partialSign(bank.feePayer);
    const result = await bank.processTransaction(received);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.recorded.instructions).toHaveLength(1);
    expect(result.recorded.postTokenBalances.find((b) => b.owner === payee.toBase58())?.amount).toBe(
      2_000_000n,
    );
    expect(await bank.tokenBalance(payee)).toBe(2_000_000n);
  });

  it("mints to a new owner, creating its token account (absent before, present after in the record)", async () => {
    const owner = PublicKey.unique();
    expect(await bank.tokenBalance(owner)).toBe(0n);
    const first = await bank.mintTo(owner, 5n);
    const second = await bank.mintTo(owner, 5n);
    expect(first.ok && second.ok).toBe(true);
    expect(await bank.tokenBalance(owner)).toBe(10n);
    if (!first.ok) return;
    expect(first.recorded.preTokenBalances.find((b) => b.owner === owner.toBase58())).toBeUndefined();
    expect(first.recorded.postTokenBalances.find((b) => b.owner === owner.toBase58())?.amount).toBe(5n);
  });
});

describe("startSolanaBank options", () => {
  it("funds only the given payers and payees, and gives SOL to listed direct-lane payers", async () => {
    const payer = svmPayerKeypairs[0].publicKey;
    const bank = await startSolanaBank({
      payers: [payer.toBase58()],
      payees: [],
      usdcPerPayer: 1n,
      lamportsForPayers: { [payer.toBase58()]: 5_000_000n },
    });
    expect(await bank.tokenBalance(payer)).toBe(1n);
    expect(await bank.lamports(payer)).toBe(5_000_000n);
    expect(await bank.tokenBalance(svmPayerKeypairs[1].publicKey)).toBe(0n);
    expect(
      await bank.banksClient.getAccount(bank.associatedTokenAddress(svmPayeeKeypairs[0].publicKey)),
    ).toBeNull();
  });

  it("refuses a network that is not Solana", async () => {
    const error = await startSolanaBank({ network: "base-sepolia" }).catch((e: unknown) => e);
    expect(isTollgateError(error, "NETWORK__NO_ASSET")).toBe(true);
  });
});
