// Review: a v1 (X-PAYMENT) Solana payment whose confirmation is slow. Our facilitator answers the v1 reason
// `settle_exact_svm_transaction_confirmation_timed_out` WITH the transaction's signature (v2 gets
// `settlement_pending`). The paywall only recognises `settlement_pending` / `duplicate_settlement` as
// "outcome unknown"; any other refusal with a transaction marks the claim dead and answers
// settlement_failed, without asking the chain (even with a settlement check configured). The transfer lands:
// the payer is charged, gets 402, and the retry of the same proof is refused (dead claim) forever.
import { createTransferCheckedInstruction } from "@solana/spl-token";
import { ComputeBudgetProgram, Connection, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { encodeHeaderJson } from "@tollgate/shared";
import {
  createBankSolanaChain,
  type SolanaBank,
  type SolanaRpc,
  startSolanaBank,
  startSolanaRpc,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFacilitator } from "../facilitator/createFacilitator.js";
import { createPaywall } from "../paywall.js";
import { createExactSvmScheme } from "./exactSvmScheme.js";
import { createSvmSettlementCheck } from "./settlementCheck.js";
import type { SolanaChain } from "./solanaChain.js";

let bank: SolanaBank;
let rpc: SolanaRpc;
const payer = svmPayerKeypairs[2];
const payee = svmPayeeKeypairs[2].publicKey;

beforeAll(async () => {
  bank = await startSolanaBank();
  rpc = await startSolanaRpc({ bank });
});
afterAll(async () => {
  await rpc?.close();
});

describe("review: a v1 Solana settlement that is sent but not confirmed in time", () => {
  it("is answered settlement_pending and served on retry, not killed as settlement_failed", async () => {
    const real = createBankSolanaChain({ bank });
    // The cluster is slow to confirm: the transaction is sent (and lands), confirmation is still pending.
    const slowToConfirm: SolanaChain = { ...real, confirm: async () => ({ status: "pending" }) };
    const facilitator = createFacilitator({
      schemes: [createExactSvmScheme({ chains: [slowToConfirm] })],
    });
    const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
    const connection = new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true });
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["solana-devnet"],
      payTo: { "solana-devnet": payee.toBase58() },
      selfSettle: facilitator,
      settlementChecks: { [devnet]: createSvmSettlementCheck({ connection }) },
    });
    await paywall.ready();
    const app = paywall.fetch(() => Response.json({ content: "paid" }));

    const body = (await (await app(new Request("http://api.test/paid"))).json()) as {
      accepts: { network: string; maxAmountRequired: string; payTo: string; extra: { feePayer: string } }[];
    };
    const requirement = body.accepts.find((a) => a.network === "solana-devnet");
    if (!requirement) throw new Error("no v1 solana requirement");

    // What an x402 1.2.0 client sends: exactly 3 instructions, fee payer slot empty.
    const { blockhash } = await bank.latestBlockhash();
    const message = new TransactionMessage({
      payerKey: bank.feePayer.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        ComputeBudgetProgram.setComputeUnitLimit({ units: 31_337 }),
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }),
        createTransferCheckedInstruction(
          bank.associatedTokenAddress(payer.publicKey),
          bank.mint,
          bank.associatedTokenAddress(payee),
          payer.publicKey,
          BigInt(requirement.maxAmountRequired),
          bank.decimals,
        ),
      ],
    }).compileToV0Message();
    const transaction = new VersionedTransaction(message);
    transaction.sign([payer]);
    const header = encodeHeaderJson({
      header: "X-PAYMENT",
      value: {
        x402Version: 1,
        scheme: "exact",
        network: "solana-devnet",
        payload: { transaction: Buffer.from(transaction.serialize()).toString("base64") },
      },
    });
    const request = () => new Request("http://api.test/paid", { headers: { "x-payment": header } });
    const before = await bank.tokenBalance(payer.publicKey);

    const first = await app(request());
    const firstError = ((await first.json()) as { error: string }).error;
    // The payer's money has moved.
    expect(before - (await bank.tokenBalance(payer.publicKey))).toBe(10_000n);
    // Expected: settlement_pending (outcome unknown). Actual: settlement_failed.
    const retry = await app(request());
    const retryBody = retry.status === 200 ? "" : ((await retry.json()) as { error: string }).error;
    // Expected: the retry is served (the chain check finds the payment). Actual: 402 facilitator_unavailable.
    expect({ firstError, retry: retry.status, retryBody }).toEqual({
      firstError: "settlement_pending",
      retry: 200,
      retryBody: "",
    });
    await paywall.close();
  }, 30_000);
});
