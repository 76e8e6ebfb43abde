import { createTransferCheckedInstruction } from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  Keypair,
  PublicKey,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import { type RefusalReason, refusalReasonFor } from "@tollgate/shared";
// The testing package's index does not export it yet: import the source file.
import {
  createBankSolanaChain,
  type SolanaBank,
  startSolanaBank,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "@tollgate/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { createFacilitator, type Facilitator } from "../facilitator/createFacilitator.js";
import { encodeBase58 } from "./base58.js";
import { createExactSvmScheme } from "./exactSvmScheme.js";
import { memoProgramId } from "./programs.js";
import type { SolanaChain } from "./solanaChain.js";

const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const mainnet = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
const price = 10_000n;

let bank: SolanaBank;
let chain: SolanaChain;
let facilitator: Facilitator;
let feePayer: PublicKey;
const payer = svmPayerKeypairs[0];
const payee = svmPayeeKeypairs[0].publicKey;

beforeAll(async () => {
  bank = await startSolanaBank();
  chain = createBankSolanaChain({ bank });
  feePayer = bank.feePayer.publicKey;
  facilitator = createFacilitator({ schemes: [createExactSvmScheme({ chains: [chain] })] });
});

/** Makes every built transaction unique (a different compute unit limit), so none is a replay of another. */
let unique = 0;

type Parts = Readonly<{
  limit: TransactionInstruction;
  price: TransactionInstruction;
  transfer: TransactionInstruction;
}>;

type BuildOptions = Partial<{
  payer: Keypair;
  source: PublicKey;
  mint: PublicKey;
  destination: PublicKey;
  authority: PublicKey;
  amount: bigint;
  decimals: number;
  microLamports: number;
  /** Compute unit limit before the uniqueness offset. */
  units: number;
  feePayer: PublicKey;
  /** The instructions in order, from the three standard ones. */
  instructions: (parts: Parts) => TransactionInstruction[];
  /** Who signs (default: the payer). */
  signers: Keypair[];
  /** Changes the wire bytes after signing. */
  tamper: (wire: Uint8Array) => void;
}>;

/** What a client builds for the facilitator lane: the payer signs, the fee payer's slot stays empty. */
async function paymentTransaction(options: BuildOptions = {}): Promise<string> {
  const from = options.payer ?? payer;
  const { blockhash } = await bank.latestBlockhash();
  const parts: Parts = {
    limit: ComputeBudgetProgram.setComputeUnitLimit({ units: (options.units ?? 20_000) + ++unique }),
    price: ComputeBudgetProgram.setComputeUnitPrice({ microLamports: options.microLamports ?? 1 }),
    transfer: createTransferCheckedInstruction(
      options.source ?? bank.associatedTokenAddress(from.publicKey),
      options.mint ?? bank.mint,
      options.destination ?? bank.associatedTokenAddress(payee),
      options.authority ?? from.publicKey,
      options.amount ?? price,
      options.decimals ?? 6,
    ),
  };
  const message = new TransactionMessage({
    payerKey: options.feePayer ?? feePayer,
    recentBlockhash: blockhash,
    instructions: options.instructions?.(parts) ?? [parts.limit, parts.price, parts.transfer],
  }).compileToV0Message();
  const transaction = new VersionedTransaction(message);
  transaction.sign(options.signers ?? [from]);
  const wire = transaction.serialize();
  options.tamper?.(wire);
  return Buffer.from(wire).toString("base64");
}

const memo = (text: string, signer?: PublicKey) =>
  new TransactionInstruction({
    programId: new PublicKey(memoProgramId),
    keys: signer ? [{ pubkey: signer, isSigner: true, isWritable: false }] : [],
    data: Buffer.from(text, "utf8"),
  });

type RequirementOverrides = Partial<{
  amount: bigint;
  payTo: string;
  asset: string;
  extra: Record<string, unknown>;
  acceptedNetwork: string;
  acceptedScheme: string;
}>;

function v2Body(transaction: string, overrides: RequirementOverrides = {}) {
  const requirement = {
    scheme: "exact",
    network: devnet,
    amount: (overrides.amount ?? price).toString(),
    asset: overrides.asset ?? bank.mint.toBase58(),
    payTo: overrides.payTo ?? payee.toBase58(),
    maxTimeoutSeconds: 60,
    extra: overrides.extra ?? { feePayer: feePayer.toBase58() },
  };
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      resource: { url: "http://127.0.0.1/paid", description: "", mimeType: "application/json" },
      accepted: {
        ...requirement,
        network: overrides.acceptedNetwork ?? devnet,
        scheme: overrides.acceptedScheme ?? "exact",
      },
      payload: { transaction },
    },
    paymentRequirements: requirement,
  };
}

function v1Body(transaction: string, overrides: RequirementOverrides = {}) {
  return {
    x402Version: 1,
    paymentPayload: { x402Version: 1, scheme: "exact", network: "solana-devnet", payload: { transaction } },
    paymentRequirements: {
      scheme: "exact",
      network: "solana-devnet",
      maxAmountRequired: (overrides.amount ?? price).toString(),
      resource: "http://127.0.0.1/paid",
      description: "",
      mimeType: "application/json",
      payTo: overrides.payTo ?? payee.toBase58(),
      maxTimeoutSeconds: 60,
      asset: overrides.asset ?? bank.mint.toBase58(),
      extra: overrides.extra ?? { feePayer: feePayer.toBase58() },
    },
  };
}

async function verified(body: unknown) {
  const answer = await facilitator.verify(body);
  expect(answer.status).toBe(200);
  return answer.body as Record<string, unknown>;
}

async function settled(body: unknown, on: Facilitator = facilitator) {
  const answer = await on.settle(body);
  expect(answer.status).toBe(200);
  return answer.body as Record<string, unknown>;
}

const balances = async () => ({
  payer: await bank.tokenBalance(payer.publicKey),
  payee: await bank.tokenBalance(payee),
});

describe("exact SVM facilitator on the bank", () => {
  it("/supported lists the v2 CAIP-2 and the v1 solana-devnet kinds with the fee payer", () => {
    const supported = facilitator.supported();
    const extra = { feePayer: feePayer.toBase58() };
    expect(supported.kinds).toEqual([
      { x402Version: 2, scheme: "exact", network: devnet, extra },
      { x402Version: 1, scheme: "exact", network: "solana-devnet", extra },
    ]);
    expect(supported.signers).toEqual({ "solana:*": [feePayer.toBase58()] });
  });

  it("verifies and settles a valid v2 payment; balances move exactly; the payer keeps 0 lamports", async () => {
    expect(await bank.lamports(payer.publicKey)).toBe(0n);
    const before = await balances();
    const feePayerLamports = await bank.lamports(feePayer);
    const body = v2Body(await paymentTransaction());

    expect(await verified(body)).toEqual({ isValid: true, payer: payer.publicKey.toBase58() });
    expect(await balances()).toEqual(before); // verify moves nothing

    const answer = await settled(body);
    expect(answer).toMatchObject({ success: true, payer: payer.publicKey.toBase58(), network: devnet });
    const signature = answer.transaction as string;
    expect(signature).toMatch(/^[1-9A-HJ-NP-Za-km-z]{86,88}$/);
    expect(bank.getRecordedTransaction(signature)?.err).toBeNull();
    expect(await chain.getSignatureStatus(signature)).toMatchObject({ error: null });
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
    expect(await bank.lamports(payer.publicKey)).toBe(0n);
    expect(await bank.lamports(feePayer)).toBeLessThan(feePayerLamports); // the facilitator paid the fee

    // The same payment again, and a re-signed variant of its message: one settlement per message.
    expect(await settled(body)).toMatchObject({ success: false, errorReason: "duplicate_settlement" });
    const resigned = Buffer.from(body.paymentPayload.payload.transaction, "base64");
    resigned.writeUInt8(resigned.readUInt8(1 + 64 + 10) ^ 1, 1 + 64 + 10); // inside the payer's signature (slot 1)
    const variant = v2Body(resigned.toString("base64"));
    expect(await settled(variant)).toMatchObject({ success: false, errorReason: "duplicate_settlement" });
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
  });

  it("20 concurrent settles of one transaction make exactly one transfer", async () => {
    const before = await balances();
    const body = v2Body(await paymentTransaction());
    const answers = await Promise.all(Array.from({ length: 20 }, () => settled(body)));
    expect(answers.filter((a) => a.success === true)).toHaveLength(1);
    expect(answers.filter((a) => a.errorReason === "duplicate_settlement")).toHaveLength(19);
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
  });

  it("accepts a v1 request and answers with v1 network names and reason strings", async () => {
    const before = await balances();
    const body = v1Body(await paymentTransaction());
    expect(await verified(body)).toEqual({ isValid: true, payer: payer.publicKey.toBase58() });
    expect(await settled(body)).toMatchObject({
      success: true,
      payer: payer.publicKey.toBase58(),
      network: "solana-devnet",
    });
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });

    const wrongAmount = v1Body(await paymentTransaction({ amount: price - 1n }));
    expect(await verified(wrongAmount)).toMatchObject({
      isValid: false,
      invalidReason: "invalid_exact_svm_payload_transaction_amount_mismatch",
    });
    expect(await settled(wrongAmount)).toMatchObject({
      success: false,
      errorReason: "invalid_exact_svm_payload_transaction_amount_mismatch",
      network: "solana-devnet",
    });
  });

  it("accepts a legacy (non-versioned) transaction", async () => {
    const before = await balances();
    const { blockhash } = await bank.latestBlockhash();
    const transaction = new Transaction({ feePayer, recentBlockhash: blockhash }).add(
      ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 + ++unique }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }),
      createTransferCheckedInstruction(
        bank.associatedTokenAddress(payer.publicKey),
        bank.mint,
        bank.associatedTokenAddress(payee),
        payer.publicKey,
        price,
        6,
      ),
    );
    transaction.partialSign(payer);
    const body = v2Body(transaction.serialize({ requireAllSignatures: false }).toString("base64"));
    expect(await verified(body)).toEqual({ isValid: true, payer: payer.publicKey.toBase58() });
    expect(await settled(body)).toMatchObject({ success: true });
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
  });

  it("checks extra.memo: exactly one Memo instruction carrying it", async () => {
    const extra = { feePayer: feePayer.toBase58(), memo: "order-42 ✓" };
    const withMemo = (...texts: string[]) =>
      paymentTransaction({
        // The Memo program spends ~14.5k CU on this 12-byte memo with one non-ASCII character.
        units: 60_000,
        instructions: (p) => [p.limit, p.price, p.transfer, ...texts.map((t) => memo(t))],
      });
    expect(await verified(v2Body(await withMemo("order-42 ✓"), { extra }))).toMatchObject({ isValid: true });
    expect(await verified(v2Body(await withMemo(), { extra }))).toMatchObject({
      invalidReason: refusalReasonFor("svm_memo_count", 2),
    });
    expect(await verified(v2Body(await withMemo("a", "b"), { extra }))).toMatchObject({
      invalidReason: refusalReasonFor("svm_memo_count", 2),
    });
    expect(await verified(v2Body(await withMemo("order-43"), { extra }))).toMatchObject({
      invalidReason: refusalReasonFor("svm_memo_mismatch", 2),
    });
    // Without extra.memo, a free memo (the v2 client's uniqueness nonce) is fine.
    expect(await verified(v2Body(await withMemo("0123456789abcdef")))).toMatchObject({ isValid: true });
  });

  describe("refuses a crafted bad transaction with its reason (v2 and v1 wire strings); nothing moves", () => {
    const stranger = Keypair.generate();
    const cases: readonly (readonly [
      string,
      RefusalReason,
      () => Promise<{ transaction: string; overrides?: RequirementOverrides; v1?: boolean }>,
    ])[] = [
      [
        "wrong mint",
        "svm_mint_mismatch",
        async () => ({ transaction: await paymentTransaction({ mint: Keypair.generate().publicKey }) }),
      ],
      [
        "wrong payee token account",
        "svm_recipient_mismatch",
        async () => ({
          transaction: await paymentTransaction({
            destination: bank.associatedTokenAddress(svmPayeeKeypairs[1].publicKey),
          }),
        }),
      ],
      [
        "wrong amount",
        "svm_amount_mismatch",
        async () => ({ transaction: await paymentTransaction({ amount: price + 1n }) }),
      ],
      [
        "wrong decimals",
        "svm_amount_mismatch",
        async () => ({ transaction: await paymentTransaction({ decimals: 9 }) }),
      ],
      [
        "an unknown extra instruction",
        "svm_unknown_instruction",
        async () => ({
          transaction: await paymentTransaction({
            instructions: (p) => [
              p.limit,
              p.price,
              p.transfer,
              ComputeBudgetProgram.requestHeapFrame({ bytes: 64 * 1024 }),
            ],
          }),
        }),
      ],
      [
        "the fee payer as the transfer authority",
        "svm_fee_payer_transferring_funds",
        async () => ({
          transaction: await paymentTransaction({
            source: bank.associatedTokenAddress(feePayer),
            authority: feePayer,
            signers: [],
          }),
        }),
      ],
      [
        "the fee payer's token account as the source (payer as delegate)",
        "svm_fee_payer_transferring_funds",
        async () => {
          if ((await bank.tokenBalance(feePayer)) === 0n) await bank.mintTo(feePayer, 1_000_000n);
          return {
            transaction: await paymentTransaction({ source: bank.associatedTokenAddress(feePayer) }),
          };
        },
      ],
      [
        "the fee payer as the transfer source account",
        "svm_fee_payer_in_instruction_accounts",
        async () => ({ transaction: await paymentTransaction({ source: feePayer }) }),
      ],
      [
        "the fee payer among a memo's accounts",
        "svm_fee_payer_in_instruction_accounts",
        async () => ({
          transaction: await paymentTransaction({
            instructions: (p) => [p.limit, p.price, p.transfer, memo("hi", feePayer)],
          }),
        }),
      ],
      [
        "a compute unit price over the cap",
        "svm_compute_price_too_high",
        async () => ({ transaction: await paymentTransaction({ microLamports: 5_000_001 }) }),
      ],
      [
        "no compute unit limit instruction",
        "svm_compute_limit_instruction",
        async () => ({
          transaction: await paymentTransaction({
            instructions: (p) => [p.price, p.transfer, memo("x")],
          }),
        }),
      ],
      [
        "no compute unit price instruction",
        "svm_compute_price_instruction",
        async () => ({
          transaction: await paymentTransaction({
            instructions: (p) => [p.limit, p.transfer, memo("x")],
          }),
        }),
      ],
      [
        "no TransferChecked in third place",
        "svm_no_transfer_instruction",
        async () => ({
          transaction: await paymentTransaction({
            instructions: (p) => [p.limit, p.price, memo("x"), p.transfer],
          }),
        }),
      ],
      [
        "too few instructions",
        "svm_instructions_length",
        async () => ({
          transaction: await paymentTransaction({ instructions: (p) => [p.limit, p.transfer] }),
        }),
      ],
      [
        "eight instructions (v2 allows 7)",
        "svm_instructions_length",
        async () => ({
          transaction: await paymentTransaction({
            instructions: (p) => [
              p.limit,
              p.price,
              p.transfer,
              ...["1", "2", "3", "4", "5"].map((t) => memo(t)),
            ],
          }),
          v1: false,
        }),
      ],
      [
        "a bad payer signature",
        "svm_signature_invalid",
        async () => ({
          transaction: await paymentTransaction({
            tamper: (wire) => {
              wire[1 + 64 + 5] = (wire[1 + 64 + 5] ?? 0) ^ 0xff;
            },
          }),
        }),
      ],
      [
        "a payer signature by another key",
        "svm_signature_invalid",
        async () => {
          // The payer's slot holds another payer's valid signature of another payment.
          const forged = VersionedTransaction.deserialize(Buffer.from(await paymentTransaction(), "base64"));
          const theirs = Buffer.from(await paymentTransaction({ payer: svmPayerKeypairs[1] }), "base64");
          forged.signatures[1] = VersionedTransaction.deserialize(theirs).signatures[1] ?? new Uint8Array(64);
          return { transaction: Buffer.from(forged.serialize()).toString("base64") };
        },
      ],
      [
        "no payer signature",
        "svm_signature_invalid",
        async () => ({ transaction: await paymentTransaction({ signers: [] }) }),
      ],
      [
        "a filled fee payer signature slot",
        "svm_signature_invalid",
        async () => ({
          transaction: await paymentTransaction({
            tamper: (wire) => {
              wire[1] = 7;
            },
          }),
        }),
      ],
      [
        "more than the payer holds",
        "svm_insufficient_balance",
        async () => ({
          transaction: await paymentTransaction({ amount: 20_000_000n }),
          overrides: { amount: 20_000_000n },
        }),
      ],
      [
        "a payer without a token account",
        "svm_sender_account_missing",
        async () => ({ transaction: await paymentTransaction({ payer: stranger }) }),
      ],
      [
        "a payee without a token account",
        "svm_receiver_account_missing",
        async () => ({
          transaction: await paymentTransaction({
            destination: bank.associatedTokenAddress(stranger.publicKey),
          }),
          overrides: { payTo: stranger.publicKey.toBase58() },
        }),
      ],
      [
        "a transfer that fails on chain (signed by someone who does not own the source)",
        "svm_simulation_failed",
        async () => ({
          transaction: await paymentTransaction({
            source: bank.associatedTokenAddress(svmPayerKeypairs[2].publicKey),
          }),
        }),
      ],
      [
        "an unknown fee payer",
        "svm_fee_payer_not_managed",
        async () => ({
          transaction: await paymentTransaction({ feePayer: stranger.publicKey }),
          overrides: { extra: { feePayer: stranger.publicKey.toBase58() } },
        }),
      ],
      [
        "a transaction whose fee payer is not extra.feePayer",
        "svm_fee_payer_not_managed",
        async () => ({ transaction: await paymentTransaction({ feePayer: stranger.publicKey }) }),
      ],
      [
        "no extra.feePayer",
        "svm_missing_fee_payer",
        async () => ({ transaction: await paymentTransaction(), overrides: { extra: {} } }),
      ],
      [
        "bytes that are no transaction",
        "svm_transaction_undecodable",
        async () => ({ transaction: Buffer.from("not a transaction").toString("base64") }),
      ],
    ];

    for (const [name, reason, build] of cases) {
      it(`${name} → ${reason}`, async () => {
        const before = await balances();
        const { transaction, overrides, v1 = true } = await build();
        expect(await verified(v2Body(transaction, overrides))).toMatchObject({
          isValid: false,
          invalidReason: refusalReasonFor(reason, 2),
        });
        if (v1) {
          expect(await verified(v1Body(transaction, overrides))).toMatchObject({
            isValid: false,
            invalidReason: refusalReasonFor(reason, 1),
          });
        }
        expect(await settled(v2Body(transaction, overrides))).toMatchObject({
          success: false,
          errorReason: refusalReasonFor(reason, 2),
          transaction: "",
        });
        expect(await balances()).toEqual(before);
      });
    }

    it("a payment on another network than required → svm_network_mismatch", async () => {
      const body = v2Body(await paymentTransaction(), { acceptedNetwork: mainnet });
      expect(await verified(body)).toMatchObject({
        isValid: false,
        invalidReason: refusalReasonFor("svm_network_mismatch", 2),
      });
    });

    it("a payment with another scheme than required → unsupported_scheme", async () => {
      const body = v2Body(await paymentTransaction(), { acceptedScheme: "upto" });
      expect(await verified(body)).toMatchObject({ isValid: false, invalidReason: "unsupported_scheme" });
    });

    it("seven instructions pass v2 and fail v1 (3–6)", async () => {
      const transaction = await paymentTransaction({
        instructions: (p) => [p.limit, p.price, p.transfer, ...["1", "2", "3", "4"].map((t) => memo(t))],
      });
      expect(await verified(v2Body(transaction))).toMatchObject({ isValid: true });
      expect(await verified(v1Body(transaction))).toMatchObject({
        isValid: false,
        invalidReason: refusalReasonFor("svm_instructions_length", 1),
      });
    });

    it("a settle refused by the preflight releases its claim: a retry gets the same reason", async () => {
      const body = v2Body(
        await paymentTransaction({ source: bank.associatedTokenAddress(svmPayerKeypairs[2].publicKey) }),
      );
      const reason = refusalReasonFor("svm_simulation_failed", 2);
      expect(await settled(body)).toMatchObject({ success: false, errorReason: reason });
      expect(await settled(body)).toMatchObject({ success: false, errorReason: reason });
    });
  });

  it("answers HTTP 400 for malformed bodies and 200 refusals for malformed payloads", async () => {
    const post = (path: string, body: string) =>
      facilitator.fetch(
        new Request(`http://127.0.0.1/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }),
      );
    expect((await post("verify", "{not json")).status).toBe(400);
    expect((await post("settle", "{not json")).status).toBe(400);
    const notARequest = await post("verify", JSON.stringify({ x402Version: 2, paymentPayload: {} }));
    expect(notARequest.status).toBe(400);
    expect(await notARequest.json()).toMatchObject({ error: "invalid_request" });
    const noTransaction = await post(
      "settle",
      JSON.stringify({ ...v2Body(""), paymentPayload: { ...v2Body("").paymentPayload, payload: {} } }),
    );
    expect(noTransaction.status).toBe(200);
    expect(await noTransaction.json()).toMatchObject({ success: false, errorReason: "invalid_payload" });
  });
});

describe("exact SVM settlement when the chain is slow", () => {
  it("a confirmation past its deadline is pending under the transaction's signature", async () => {
    const slow: SolanaChain = { ...chain, confirm: () => new Promise(() => {}) };
    const slowFacilitator = createFacilitator({
      schemes: [createExactSvmScheme({ chains: [slow], confirmTimeoutMs: 50 })],
    });
    const before = await balances();
    const wire = await paymentTransaction();
    const answer = await settled(v2Body(wire), slowFacilitator);
    expect(answer).toMatchObject({ success: false, errorReason: "settlement_pending" });
    const signature = answer.transaction as string;
    // The signature is the transaction id: it did land.
    expect(await chain.getSignatureStatus(signature)).toMatchObject({ error: null });
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
    const v1 = await settled(v1Body(wire), slowFacilitator);
    expect(v1).toMatchObject({ success: false, errorReason: "duplicate_settlement" });
  });

  it("a send whose outcome is unknown is pending too, and v1 hears confirmation_timed_out", async () => {
    const lost: SolanaChain = {
      ...chain,
      send: () => Promise.reject(new Error("socket hang up")),
    };
    const lostFacilitator = createFacilitator({ schemes: [createExactSvmScheme({ chains: [lost] })] });
    const wire = await paymentTransaction();
    const answer = await settled(v1Body(wire), lostFacilitator);
    expect(answer).toMatchObject({
      success: false,
      errorReason: refusalReasonFor("svm_confirmation_timed_out", 1),
    });
    // The transaction id is the fee payer's signature of the message, known before sending.
    const message = VersionedTransaction.deserialize(Buffer.from(wire, "base64")).message.serialize();
    expect(answer.transaction).toBe(encodeBase58(await chain.signAsFeePayer(message, feePayer.toBase58())));
    expect(await chain.getSignatureStatus(answer.transaction as string)).toEqual({ status: "unknown" });
  });

  it("a read past its deadline is an unexpected error, not a refusal, and settle can be retried", async () => {
    const stuck: SolanaChain = { ...chain, getAccounts: () => new Promise(() => {}) };
    const stuckFacilitator = createFacilitator({
      schemes: [createExactSvmScheme({ chains: [stuck], chainCallTimeoutMs: 50 })],
    });
    const body = v2Body(await paymentTransaction());
    const answer = await stuckFacilitator.verify(body);
    expect(answer.body).toMatchObject({ isValid: false, invalidReason: "unexpected_verify_error" });
    // In settle nothing was sent yet: the claim is released and a retry is not a duplicate.
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await settled(body, stuckFacilitator)).toMatchObject({
        success: false,
        errorReason: "unexpected_settle_error",
        transaction: "",
      });
    }
    expect(await settled(body)).toMatchObject({ success: true });
  });
});
