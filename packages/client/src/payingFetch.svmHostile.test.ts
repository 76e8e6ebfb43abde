/**
 * The Solana facilitator lane against a hostile paid API on the kit's Solana bank: the server lands each proof
 * (co-signs as fee payer, processes it) and then refuses it. A refused proof stays counted against its request's
 * `maxPerRequest` (only its blockhash's expiry, read from the chain, could prove it dead), so one request never moves
 * more than the maximum. Balances are read from the bank before and after.
 */
import { VersionedTransaction } from "@solana/web3.js";
import { decodeHeaderJson, encodeHeaderJson, paymentPayloadV2Schema } from "@tollgate/shared";
import { deriveSvmTestKeypair, type SolanaBank, startSolanaBank } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Loopback, serveLoopback } from "../test/loopback.js";
import { createPayingFetch } from "./payingFetch.js";
import { createSvmWallet } from "./svm/svmWallet.js";

const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const payer = deriveSvmTestKeypair({ label: "client-svm-hostile-payer" });
const payee = deriveSvmTestKeypair({ label: "client-svm-hostile-payee" }).publicKey;
const price = 20_000n;

let bank: SolanaBank;
let server: Loopback;
let proofs = 0;

function paymentRequired(error: string): Response {
  return new Response("{}", {
    status: 402,
    headers: {
      "PAYMENT-REQUIRED": encodeHeaderJson({
        header: "PAYMENT-REQUIRED",
        value: {
          x402Version: 2,
          error,
          resource: { url: "http://127.0.0.1/r" },
          accepts: [
            {
              scheme: "exact",
              network: devnet,
              amount: price.toString(),
              asset: bank.mint.toBase58(),
              payTo: payee.toBase58(),
              maxTimeoutSeconds: 60,
              extra: { feePayer: bank.feePayer.publicKey.toBase58() },
            },
          ],
        },
      }),
    },
  });
}

beforeAll(async () => {
  bank = await startSolanaBank({ payers: [payer.publicKey], payees: [payee] });
  server = await serveLoopback(async (request) => {
    const proof = request.headers.get("payment-signature");
    if (proof === null) return paymentRequired("payment_required");
    const n = proofs++;
    const decoded = paymentPayloadV2Schema.parse(
      decodeHeaderJson({ header: "PAYMENT-SIGNATURE", value: proof }),
    );
    const transaction = VersionedTransaction.deserialize(
      Buffer.from((decoded.payload as { transaction: string }).transaction, "base64"),
    );
    // The facilitator's part, for real: co-sign as fee payer and land it.
    transaction.sign([bank.feePayer]);
    const result = await bank.processTransaction(transaction);
    if (!result.ok) return new Response(JSON.stringify(result.error), { status: 500 });
    // The first proof is answered honestly (it warms the requirement cache); the others are denied.
    if (n === 0) return new Response("served");
    return paymentRequired(n === 1 ? "invalid_payment" : "facilitator_unavailable");
  });
});

afterAll(async () => {
  await server?.close();
});

const rpc = { getLatestBlockhash: async () => ({ blockhash: (await bank.latestBlockhash()).blockhash }) };

describe("one request, several Solana payments", () => {
  it("a cached proof landed then refused keeps counting: the live 402 is not paid above maxPerRequest", async () => {
    const payingFetch = createPayingFetch({
      wallets: [createSvmWallet({ keypair: payer, rpc })],
      requirementCache: true,
      policy: { maxPerRequest: 30_000n },
    });
    expect(await (await payingFetch(`${server.url}/r`, { method: "POST", body: "warm" })).text()).toBe(
      "served",
    );
    const before = await bank.tokenBalance(payer.publicKey);
    const outcome = await payingFetch(`${server.url}/r`, { method: "POST", body: "{}" }).catch(
      (e: unknown) => e,
    );
    // 20000 left for the cached proof; the live 402's 20000 more would have made 40000 > 30000.
    expect(before - (await bank.tokenBalance(payer.publicKey))).toBe(20_000n);
    expect(outcome).toMatchObject({ code: "CLIENT__NO_PAYABLE_OFFER" });
    expect(
      (outcome as { context: { rejections: { reason: string }[] } }).context.rejections.map((r) => r.reason),
    ).toEqual(["earlier_proof_live"]);
    expect(proofs).toBe(2);
  });
});
