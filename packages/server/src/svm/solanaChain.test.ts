import { createTransferCheckedInstruction } from "@solana/spl-token";
import { ComputeBudgetProgram, Connection, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { isTollgateError } from "@tollgate/shared";
import {
  type SolanaBank,
  type SolanaRpc,
  startSolanaBank,
  startSolanaRpc,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFacilitator, type Facilitator } from "../facilitator/createFacilitator.js";
import { createExactSvmScheme } from "./exactSvmScheme.js";
import { createConnectionSolanaChain } from "./solanaChain.js";

// A JSON-RPC node on loopback backed by the bank (the kit's `startSolanaRpc`), so `createConnectionSolanaChain`
// runs over a real `Connection` and real transactions.

const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const price = 25_000n;
const payer = svmPayerKeypairs[1];
const payee = svmPayeeKeypairs[1].publicKey;

let bank: SolanaBank;
let rpc: SolanaRpc;
let facilitator: Facilitator;
/** What the node does next: fail `sendTransaction` with HTTP 503, or hide signature statuses. */
const node = { failSends: false, hideStatuses: false, statusPolls: 0 };

beforeAll(async () => {
  bank = await startSolanaBank();
  rpc = await startSolanaRpc({
    bank,
    intercept: ({ method, params }) => {
      if (method === "sendTransaction" && node.failSends) return new Response("unavailable", { status: 503 });
      if (method !== "getSignatureStatuses") return undefined;
      node.statusPolls++;
      if (!node.hideStatuses) return undefined;
      return { result: { context: { slot: 1 }, value: (params[0] as unknown[]).map(() => null) } };
    },
  });
  const chain = createConnectionSolanaChain({
    connection: new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true }),
    network: devnet,
    feePayer: bank.feePayer,
    pollingIntervalMs: 10,
  });
  facilitator = createFacilitator({
    schemes: [createExactSvmScheme({ chains: [chain], confirmTimeoutMs: 200 })],
  });
});

afterAll(async () => {
  await rpc?.close();
});

let unique = 0;

async function paymentBody(options: { source?: typeof payee } = {}) {
  const { blockhash } = await bank.latestBlockhash();
  const message = new TransactionMessage({
    payerKey: bank.feePayer.publicKey,
    recentBlockhash: blockhash,
    instructions: [
      ComputeBudgetProgram.setComputeUnitLimit({ units: 30_000 + ++unique }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1 }),
      createTransferCheckedInstruction(
        options.source ?? bank.associatedTokenAddress(payer.publicKey),
        bank.mint,
        bank.associatedTokenAddress(payee),
        payer.publicKey,
        price,
        6,
      ),
    ],
  }).compileToV0Message();
  const transaction = new VersionedTransaction(message);
  transaction.sign([payer]);
  const requirement = {
    scheme: "exact",
    network: devnet,
    amount: price.toString(),
    asset: bank.mint.toBase58(),
    payTo: payee.toBase58(),
    maxTimeoutSeconds: 60,
    extra: { feePayer: bank.feePayer.publicKey.toBase58() },
  };
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      accepted: requirement,
      payload: { transaction: Buffer.from(transaction.serialize()).toString("base64") },
    },
    paymentRequirements: requirement,
  };
}

/** A settle answer's body as a plain record. */
const settle = async (body: unknown) => (await facilitator.settle(body)).body as Record<string, unknown>;

const balances = async () => ({
  payer: await bank.tokenBalance(payer.publicKey),
  payee: await bank.tokenBalance(payee),
});

describe("createConnectionSolanaChain over JSON-RPC", () => {
  it("verifies and settles a real payment through a Connection", async () => {
    const before = await balances();
    const body = await paymentBody();
    expect((await facilitator.verify(body)).body).toEqual({
      isValid: true,
      payer: payer.publicKey.toBase58(),
    });
    const settled = await settle(body);
    expect(settled).toMatchObject({ success: true, network: devnet });
    expect(bank.getRecordedTransaction(String(settled.transaction))?.err).toBeNull();
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
  });

  it("maps a failed simulation and a refused preflight to transaction_simulation_failed", async () => {
    const body = await paymentBody({ source: bank.associatedTokenAddress(svmPayerKeypairs[2].publicKey) });
    expect((await facilitator.verify(body)).body).toMatchObject({
      isValid: false,
      invalidReason: "transaction_simulation_failed",
    });
    expect(await settle(body)).toMatchObject({
      success: false,
      errorReason: "transaction_simulation_failed",
      transaction: "",
    });
  });

  it("reports a send that failed in transit as pending under its signature", async () => {
    node.failSends = true;
    try {
      const settled = await settle(await paymentBody());
      expect(settled).toMatchObject({ success: false, errorReason: "settlement_pending" });
      expect(settled.transaction).toMatch(/^[1-9A-HJ-NP-Za-km-z]{86,88}$/);
    } finally {
      node.failSends = false;
    }
  });

  it("polls the signature status until the confirmation deadline", async () => {
    const before = await balances();
    node.hideStatuses = true;
    node.statusPolls = 0;
    try {
      const settled = await settle(await paymentBody());
      expect(settled).toMatchObject({ success: false, errorReason: "settlement_pending" });
      expect(node.statusPolls).toBeGreaterThan(2);
    } finally {
      node.hideStatuses = false;
    }
    // It landed all the same: a later status check finds it.
    expect(await balances()).toEqual({ payer: before.payer - price, payee: before.payee + price });
  });

  it("refuses a network that is not a Solana CAIP-2 id", () => {
    const build = () =>
      createConnectionSolanaChain({
        connection: new Connection(rpc.url),
        network: "solana-devnet",
        feePayer: bank.feePayer,
      });
    expect(build).toThrow();
    try {
      build();
    } catch (error) {
      expect(isTollgateError(error, "SERVER__INVALID_CONFIG")).toBe(true);
    }
  });
});
