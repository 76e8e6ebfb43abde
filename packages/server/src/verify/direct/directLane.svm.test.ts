import type { Keypair, PublicKey } from "@solana/web3.js";
import { directBindingMessage, paymentReceiptSchema, tokenHeaderNames } from "@tollgate/shared";
import {
  createBankTransactionReader,
  type SolanaBank,
  startSolanaBank,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "@tollgate/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { receiptOf } from "../../../test/fixtures.js";
import { createPaywall } from "../../paywall.js";
import { encodeBase58 } from "../../svm/base58.js";
import { keypairSigner } from "../../svm/ed25519.js";
import {
  createConnectionTransactionReader,
  createSvmDirectChain,
  transfersOf,
} from "../../svm/svmDirectChain.js";

/** The direct lane on the Solana bank: a real SPL transfer made by the payer, read back from the bank's record. */
const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
let bank: SolanaBank;
const sender = svmPayerKeypairs[2];
const stranger = svmPayerKeypairs[3];
const directPayee = svmPayeeKeypairs[2].publicKey;
const otherPayee = svmPayeeKeypairs[0].publicKey;

beforeAll(async () => {
  bank = await startSolanaBank({
    lamportsForPayers: {
      [sender.publicKey.toBase58()]: 1_000_000_000n,
      [stranger.publicKey.toBase58()]: 1_000_000_000n,
    },
  });
});

/** A transfer the payer makes and pays for itself; returns its signature once processed. */
async function transfer(
  amount: bigint,
  to: PublicKey = directPayee,
  from: Keypair = sender,
  allowFailure = false,
): Promise<string> {
  const transaction = await bank.signedTransfer({ from, to, amount });
  const result = await bank.processTransaction(transaction);
  if (!result.ok && !(allowFailure && result.recorded))
    throw new Error(`transfer failed: ${result.error.name}`);
  return result.signature;
}

function app(now: () => number = Date.now, asset?: string) {
  const chain = createSvmDirectChain({
    network: devnet,
    read: createBankTransactionReader({ bank }),
  });
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.05" },
    direct: { networks: [{ chain, payTo: directPayee.toBase58(), ...(asset ? { asset } : {}) }] },
    now,
  });
  const handler = paywall.fetch(() => Response.json({ content: "paid" }));
  return (headers: Record<string, string>) => handler(new Request("http://api.test/paid", { headers }));
}

function bind(tx: string, signer: Keypair = sender): string {
  const message = directBindingMessage({ network: devnet, tx, origin: "http://api.test" });
  return encodeBase58(keypairSigner(signer)(new TextEncoder().encode(message)));
}

const proof = (tx: string, signature = bind(tx)) => ({
  "x-payment-tx": tx,
  "x-payment-chain": "solana-devnet",
  "x-payment-tx-sig": signature,
});
const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

describe("the direct-transfer lane on Solana (bank)", () => {
  it("accepts a bound transfer to the payee once, and returns the surplus as a prepaid token", async () => {
    const get = app();
    const tx = await transfer(150_000n);
    const paid = await get(proof(tx));
    expect(paid.status).toBe(200);
    expect(paymentReceiptSchema.parse(receiptOf(paid))).toMatchObject({
      lane: "direct",
      transaction: tx,
      network: devnet,
      payer: sender.publicKey.toBase58(),
      amount: "50000",
    });
    expect(paid.headers.get(tokenHeaderNames.balance)).toBe("100000");
    expect(await errorOf(await get(proof(tx)))).toBe("replayed_payment");
    const spent = await get({ "x-payment-token": paid.headers.get(tokenHeaderNames.token) ?? "" });
    expect(spent.headers.get(tokenHeaderNames.balance)).toBe("50000");
  });

  it("refuses another payee, a binding by someone else, an unknown or malformed signature, and an old transfer", async () => {
    const get = app();
    const elsewhere = await transfer(150_000n, otherPayee);
    expect(await errorOf(await get(proof(elsewhere)))).toBe("direct_no_qualifying_transfer");
    const tx = await transfer(120_000n);
    expect(await errorOf(await get(proof(tx, bind(tx, stranger))))).toBe("direct_binding_invalid");
    expect(await errorOf(await get(proof(tx, "1".repeat(64))))).toBe("direct_binding_invalid");
    const unknown = encodeBase58(new Uint8Array(64).fill(7));
    expect(await errorOf(await get(proof(unknown)))).toBe("direct_tx_not_found");
    expect(await errorOf(await get(proof("not-a-signature")))).toBe("direct_tx_malformed");
    const later = app(() => Date.now() + 8 * 86_400_000);
    expect(await errorOf(await later(proof(tx)))).toBe("direct_tx_too_old");
    // A transaction that landed but failed (more than the balance): fees were charged, nothing moved.
    const failed = await transfer(10n ** 12n, directPayee, sender, true);
    expect(await errorOf(await get(proof(failed)))).toBe("direct_tx_failed");
    // A server that accepts another mint: this USDC transfer does not qualify there.
    const otherMint = app(Date.now, "So11111111111111111111111111111111111111112");
    expect(await errorOf(await otherMint(proof(tx)))).toBe("direct_no_qualifying_transfer");
    // None of these claimed it: the sender still can.
    expect((await get(proof(tx))).status).toBe(200);
  });

  it("credits a transfer below the minimum in full as a token", async () => {
    const get = app();
    const tx = await transfer(70_000n);
    const response = await get(proof(tx));
    expect(await errorOf(response)).toBe("direct_amount_below_minimum");
    expect(response.headers.get(tokenHeaderNames.balance)).toBe("70000");
  });
});

describe("createConnectionTransactionReader", () => {
  it("reads a getParsedTransaction answer's error, block time and token balances", async () => {
    const mint = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
    const balance = (accountIndex: number, owner: string, amount: string) => ({
      accountIndex,
      mint,
      owner,
      programId: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
      uiTokenAmount: { amount, decimals: 6, uiAmount: Number(amount) / 1e6, uiAmountString: "" },
    });
    const payer = sender.publicKey.toBase58();
    const payee = directPayee.toBase58();
    const answers: Record<string, unknown> = {
      ok: {
        slot: 1,
        blockTime: 1_800_000_000,
        meta: {
          err: null,
          preTokenBalances: [balance(1, payer, "5000000"), balance(2, payee, "0")],
          postTokenBalances: [balance(1, payer, "4800000"), balance(2, payee, "200000")],
          innerInstructions: [],
        },
        transaction: {
          message: {
            accountKeys: [{ pubkey: sender.publicKey, signer: true, writable: true, source: "transaction" }],
            instructions: [],
          },
          signatures: [],
        },
      },
      failed: { slot: 2, blockTime: 1_800_000_000, meta: { err: { InstructionError: [0, "Custom"] } } },
    };
    const calls: unknown[] = [];
    const read = createConnectionTransactionReader({
      connection: {
        getParsedTransaction: (async (signature: string, config: unknown) => {
          calls.push(config);
          return answers[signature] ?? null;
        }) as never,
      },
    });
    const view = await read("ok");
    expect(view).toMatchObject({ failed: false, blockTime: 1_800_000_000, feePayer: payer });
    expect(view && transfersOf(view)).toEqual([
      { asset: mint, from: payer, to: payee, amount: 200_000n, submittedBySender: true },
    ]);
    expect((await read("failed"))?.failed).toBe(true);
    expect(await read("missing")).toBeUndefined();
    expect(calls[0]).toEqual({ commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  });
});
