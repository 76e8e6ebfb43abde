// What our Solana facilitator's fee payer pays for a caller: never more than `maxFeeLamports` per settlement
// (signatures and limit × price), nothing for assets it is not configured for, zero amounts, amounts below the
// minimum or payees the operator did not list. On the kit's Solana bank: the fee payer's lamports before/after.
import { createTransferCheckedInstruction } from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  Keypair,
  PublicKey,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import { isTollgateError } from "@tollgate/shared";
import {
  createBankSolanaChain,
  type SolanaBank,
  startSolanaBank,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "@tollgate/testing";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { countingCalls } from "../../test/fixtures.js";
import { createFacilitator, type Facilitator } from "../facilitator/createFacilitator.js";
import { type CreateExactSvmSchemeParameters, createExactSvmScheme } from "./exactSvmScheme.js";
import { memoProgramId } from "./programs.js";
import type { SolanaChain } from "./solanaChain.js";

const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const payer = svmPayerKeypairs[1];
const payee = svmPayeeKeypairs[0].publicKey;

let bank: SolanaBank;
let feePayer: PublicKey;

/** Every chain call the scheme makes, by method name. */
function countedChain(): Readonly<{ chain: SolanaChain; calls: string[] }> {
  const inner = createBankSolanaChain({ bank });
  return countingCalls<SolanaChain>(inner);
}

function facilitatorWith(
  options: Omit<CreateExactSvmSchemeParameters, "chains"> = {},
): Readonly<{ facilitator: Facilitator; calls: string[] }> {
  const { chain, calls } = countedChain();
  return {
    facilitator: createFacilitator({ schemes: [createExactSvmScheme({ chains: [chain], ...options })] }),
    calls,
  };
}

beforeAll(async () => {
  bank = await startSolanaBank();
  feePayer = bank.feePayer.publicKey;
});

let unique = 0;

/** A payment transaction as a client builds it, with a chosen compute budget and optional extra signers. */
async function transaction(
  options: Partial<{
    units: number;
    microLamports: number;
    amount: bigint;
    payTo: PublicKey;
    memoSigners: Keypair[];
  }> = {},
): Promise<string> {
  const { units = 20_000, microLamports = 1, amount = 10_000n, payTo = payee, memoSigners = [] } = options;
  const { blockhash } = await bank.latestBlockhash();
  const memos = memoSigners.map(
    (signer) =>
      new TransactionInstruction({
        programId: new PublicKey(memoProgramId),
        keys: [{ pubkey: signer.publicKey, isSigner: true, isWritable: false }],
        data: Buffer.from(`memo ${++unique}`, "utf8"),
      }),
  );
  const message = new TransactionMessage({
    payerKey: feePayer,
    recentBlockhash: blockhash,
    instructions: [
      // The uniqueness offset keeps each transaction distinct (none is a replay of another).
      ComputeBudgetProgram.setComputeUnitLimit({ units: units - ++unique }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports }),
      createTransferCheckedInstruction(
        bank.associatedTokenAddress(payer.publicKey),
        bank.mint,
        bank.associatedTokenAddress(payTo),
        payer.publicKey,
        amount,
        6,
      ),
      ...memos,
    ],
  }).compileToV0Message();
  const built = new VersionedTransaction(message);
  built.sign([payer, ...memoSigners]);
  return Buffer.from(built.serialize()).toString("base64");
}

function v2Body(
  payload: string,
  overrides: Partial<{ amount: bigint; payTo: string; asset: string }> = {},
): unknown {
  const requirement = {
    scheme: "exact",
    network: devnet,
    amount: (overrides.amount ?? 10_000n).toString(),
    asset: overrides.asset ?? bank.mint.toBase58(),
    payTo: overrides.payTo ?? payee.toBase58(),
    maxTimeoutSeconds: 60,
    extra: { feePayer: feePayer.toBase58() },
  };
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      resource: { url: "http://127.0.0.1/paid", description: "", mimeType: "application/json" },
      accepted: requirement,
      payload: { transaction: payload },
    },
    paymentRequirements: requirement,
  };
}

describe("lamports our Solana fee payer pays for a caller", () => {
  it("refuses a 1-unit transfer with a 1,400,000 CU limit at the price cap; the fee payer keeps its lamports", async () => {
    const { facilitator, calls } = facilitatorWith();
    const body = v2Body(await transaction({ units: 1_400_000, microLamports: 5_000_000, amount: 1n }), {
      amount: 1n,
    });
    const before = await bank.lamports(feePayer);
    expect((await facilitator.verify(body)).body).toMatchObject({
      isValid: false,
      invalidReason: "invalid_exact_svm_payload_transaction_fee_too_high",
    });
    expect((await facilitator.settle(body)).body).toMatchObject({
      success: false,
      errorReason: "invalid_exact_svm_payload_transaction_fee_too_high",
      transaction: "",
    });
    expect(calls).toEqual([]);
    expect(await bank.lamports(feePayer)).toBe(before);
  });

  it("counts every signature in the fee: extra Memo signers past the cap are refused", async () => {
    const { facilitator } = facilitatorWith();
    const signers = Array.from({ length: 4 }, () => Keypair.generate());
    const body = v2Body(await transaction({ memoSigners: signers, units: 80_000 }));
    const before = await bank.lamports(feePayer);
    expect((await facilitator.settle(body)).body).toMatchObject({
      success: false,
      errorReason: "invalid_exact_svm_payload_transaction_fee_too_high",
    });
    expect(await bank.lamports(feePayer)).toBe(before);
  });

  it("settles a standard payment for its fee: 2 signatures and a 1-lamport priority fee", async () => {
    const { facilitator } = facilitatorWith();
    const before = await bank.lamports(feePayer);
    expect((await facilitator.settle(v2Body(await transaction()))).body).toMatchObject({ success: true });
    expect(before - (await bank.lamports(feePayer))).toBe(10_001n);
  });

  it("a higher maxFeeLamports lets a costlier transaction through, and it costs exactly the bounded fee", async () => {
    const { facilitator } = facilitatorWith({ maxFeeLamports: 40_000n });
    const signers = [Keypair.generate()];
    // 3 signatures (15,000) + ⌈60,000 CU × 100,000 µlamports / 10⁶⌉ (6,000) = 21,000 lamports.
    const body = v2Body(await transaction({ memoSigners: signers, units: 60_000, microLamports: 100_000 }));
    const before = await bank.lamports(feePayer);
    expect((await facilitator.settle(body)).body).toMatchObject({ success: true });
    const spent = before - (await bank.lamports(feePayer));
    expect(spent > 15_000n && spent <= 21_000n).toBe(true);
  });

  it("refuses zero amounts, other mints, and (when told) amounts below the minimum and unlisted payees", async () => {
    const open = facilitatorWith();
    const zero = v2Body(await transaction({ amount: 0n }), { amount: 0n });
    expect((await open.facilitator.settle(zero)).body).toMatchObject({ errorReason: "amount_below_minimum" });
    const otherMint = v2Body(await transaction(), { asset: Keypair.generate().publicKey.toBase58() });
    expect((await open.facilitator.settle(otherMint)).body).toMatchObject({
      errorReason: "unsupported_asset",
    });
    expect(open.calls).toEqual([]);

    const strict = facilitatorWith({ minAmount: 5_000n, payees: [payee.toBase58()] });
    const below = v2Body(await transaction({ amount: 4_999n }), { amount: 4_999n });
    expect((await strict.facilitator.settle(below)).body).toMatchObject({
      errorReason: "amount_below_minimum",
    });
    const stranger = svmPayeeKeypairs[1].publicKey;
    const elsewhere = v2Body(await transaction({ payTo: stranger }), { payTo: stranger.toBase58() });
    expect((await strict.facilitator.settle(elsewhere)).body).toMatchObject({
      errorReason: "unsupported_payee",
    });
    expect(strict.calls).toEqual([]);
    const before = await bank.lamports(feePayer);
    expect(
      (await strict.facilitator.settle(v2Body(await transaction({ amount: 5_000n }), { amount: 5_000n })))
        .body,
    ).toMatchObject({ success: true });
    expect(before - (await bank.lamports(feePayer))).toBe(10_001n);
  });

  it("property: refused exactly when signatures + limit × price exceed the cap; otherwise it costs exactly that", async () => {
    const maxFeeLamports = 25_000n;
    const { facilitator } = facilitatorWith({ maxFeeLamports });
    let refusedRuns = 0;
    let settledRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 60_000, max: 200_000 }),
        fc.integer({ min: 0, max: 250_000 }),
        fc.integer({ min: 0, max: 2 }),
        async (units, microLamports, extraSigners) => {
          const memoSigners = Array.from({ length: extraSigners }, () => Keypair.generate());
          const payload = await transaction({ units, microLamports, memoSigners });
          // The limit actually written: `transaction` subtracts a uniqueness offset; read it back from the wire.
          const wire = VersionedTransaction.deserialize(Buffer.from(payload, "base64"));
          const limitData = wire.message.compiledInstructions[0]?.data ?? new Uint8Array(5);
          const limit = BigInt(Buffer.from(limitData).readUInt32LE(1));
          const fee =
            BigInt(2 + extraSigners) * 5_000n + (limit * BigInt(microLamports) + 999_999n) / 1_000_000n;
          const before = await bank.lamports(feePayer);
          const answer = (await facilitator.settle(v2Body(payload))).body as Record<string, unknown>;
          const spent = before - (await bank.lamports(feePayer));
          if (fee > maxFeeLamports) {
            refusedRuns++;
            expect(answer.errorReason).toBe("invalid_exact_svm_payload_transaction_fee_too_high");
            expect(spent).toBe(0n);
          } else {
            settledRuns++;
            expect(answer.success).toBe(true);
            expect(spent).toBe(fee);
          }
        },
      ),
      { numRuns: 30 },
    );
    expect(refusedRuns).toBeGreaterThan(0);
    expect(settledRuns).toBeGreaterThan(0);
  }, 60_000);

  it.each([
    ["a zero fee cap", { maxFeeLamports: 0n }],
    ["a payee that is not an address", { payees: ["0xabc"] }],
    [
      "an asset list for a network it does not serve",
      { assets: { "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp": [] } },
    ],
  ])("refuses to start with %s", (_name, options) => {
    let thrown: unknown;
    try {
      createExactSvmScheme({
        chains: [createBankSolanaChain({ bank })],
        ...(options as Partial<CreateExactSvmSchemeParameters>),
      });
    } catch (error) {
      thrown = error;
    }
    expect(isTollgateError(thrown, "SERVER__INVALID_CONFIG")).toBe(true);
  });
});
