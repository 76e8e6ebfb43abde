// Shared set-up of the Solana paywall tests: what an x402 v2 client sends for a Solana requirement.
import { createTransferCheckedInstruction } from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  type Keypair,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import { encodeHeaderJson, type PaymentRequirementsV2 } from "@tollgate/shared";
import type { SolanaBank, SvmAddress } from "@tollgate/testing";

let unique = 0;

/**
 * The payer's TransferChecked of `amount` to `payTo`'s token account, signed by the payer, the fee payer's slot
 * (the bank's facilitator key) left empty, serialized as base64 (the `transaction` of an `exact` SVM payload).
 * Each call makes a distinct transaction (its compute-unit limit differs).
 */
export async function svmTransferTransaction(
  parameters: Readonly<{ bank: SolanaBank; payer: Keypair; payTo: SvmAddress; amount: bigint }>,
): Promise<string> {
  const { bank, payer, payTo, amount } = parameters;
  const { blockhash } = await bank.latestBlockhash();
  const message = new TransactionMessage({
    payerKey: bank.feePayer.publicKey,
    recentBlockhash: blockhash,
    instructions: [
      ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 + ++unique }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }),
      createTransferCheckedInstruction(
        bank.associatedTokenAddress(payer.publicKey),
        bank.mint,
        bank.associatedTokenAddress(payTo),
        payer.publicKey,
        amount,
        bank.decimals,
      ),
    ],
  }).compileToV0Message();
  const transaction = new VersionedTransaction(message);
  transaction.sign([payer]);
  return Buffer.from(transaction.serialize()).toString("base64");
}

/**
 * A v2 `PAYMENT-SIGNATURE` for a Solana requirement: the payer's TransferChecked of the amount to the payee's
 * token account, signed by the payer, the fee payer's slot (the bank's facilitator key) left empty. Each call
 * makes a distinct transaction (its compute-unit limit differs).
 */
export async function svmPaymentSignature(
  parameters: Readonly<{ bank: SolanaBank; payer: Keypair; requirement: PaymentRequirementsV2 }>,
): Promise<string> {
  const { bank, payer, requirement } = parameters;
  const transaction = await svmTransferTransaction({
    bank,
    payer,
    payTo: requirement.payTo,
    amount: BigInt(requirement.amount),
  });
  return encodeHeaderJson({
    header: "PAYMENT-SIGNATURE",
    value: { x402Version: 2, accepted: requirement, payload: { transaction } },
  });
}
