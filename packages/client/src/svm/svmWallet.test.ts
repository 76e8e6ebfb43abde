import { PublicKey, VersionedTransaction } from "@solana/web3.js";
import {
  decodeHeaderJson,
  encodeHeaderJson,
  isTollgateError,
  paymentPayloadV1Schema,
  paymentPayloadV2Schema,
} from "@tollgate/shared";
import { deriveSvmTestKeypair, type SolanaBank, startSolanaBank } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Loopback, serveLoopback } from "../../test/loopback.js";
import { createPayingFetch } from "../payingFetch.js";
import { createSvmWallet } from "./svmWallet.js";

/**
 * The Solana facilitator lane on a real bank (solana-bankrun): the client's partially signed transfer is
 * co-signed by the fee payer named in the offer, as a facilitator does, and processed; balances move once.
 */
const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const payer = deriveSvmTestKeypair({ label: "client-svm-payer" });
const payee = deriveSvmTestKeypair({ label: "client-svm-payee" }).publicKey;
const memoProgram = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";

let bank: SolanaBank;
let server: Loopback;
const seen: { version: 1 | 2; programs: string[]; feePayer: string }[] = [];
let offer: { version: 1 | 2; amount: string; memo?: string } = { version: 2, amount: "10000" };

beforeAll(async () => {
  bank = await startSolanaBank({ payers: [payer.publicKey], payees: [payee] });
  const requirementV2 = () => ({
    scheme: "exact",
    network: devnet,
    amount: offer.amount,
    asset: bank.mint.toBase58(),
    payTo: payee.toBase58(),
    maxTimeoutSeconds: 60,
    extra: { feePayer: bank.feePayer.publicKey.toBase58(), ...(offer.memo ? { memo: offer.memo } : {}) },
  });
  server = await serveLoopback(async (request) => {
    const v2 = request.headers.get("payment-signature");
    const v1 = request.headers.get("x-payment");
    if (v2 === null && v1 === null) {
      if (offer.version === 2) {
        return new Response("{}", {
          status: 402,
          headers: {
            "PAYMENT-REQUIRED": encodeHeaderJson({
              header: "PAYMENT-REQUIRED",
              value: { x402Version: 2, resource: { url: request.url }, accepts: [requirementV2()] },
            }),
          },
        });
      }
      const { amount, network: _n, ...rest } = requirementV2();
      return Response.json(
        {
          x402Version: 1,
          error: "payment_required",
          accepts: [
            {
              ...rest,
              network: "solana-devnet",
              maxAmountRequired: amount,
              resource: request.url,
              description: "",
              mimeType: "application/json",
            },
          ],
        },
        { status: 402 },
      );
    }
    const decoded =
      v2 !== null
        ? paymentPayloadV2Schema.parse(decodeHeaderJson({ header: "PAYMENT-SIGNATURE", value: v2 }))
        : paymentPayloadV1Schema.parse(decodeHeaderJson({ header: "X-PAYMENT", value: v1 as string }));
    const transaction = VersionedTransaction.deserialize(
      Buffer.from((decoded.payload as { transaction: string }).transaction, "base64"),
    );
    const keys = transaction.message.staticAccountKeys;
    seen.push({
      version: v2 !== null ? 2 : 1,
      programs: transaction.message.compiledInstructions.map((i) => keys[i.programIdIndex]?.toBase58() ?? ""),
      feePayer: keys[0]?.toBase58() ?? "",
    });
    // The facilitator's part: co-sign as fee payer, then send.
    transaction.sign([bank.feePayer]);
    const result = await bank.processTransaction(transaction);
    if (!result.ok) return new Response(JSON.stringify(result.error), { status: 500 });
    return new Response("served", {
      headers: {
        "PAYMENT-RESPONSE": encodeHeaderJson({
          header: "PAYMENT-RESPONSE",
          value: {
            success: true,
            transaction: result.signature,
            network: devnet,
            payer: payer.publicKey.toBase58(),
          },
        }),
      },
    });
  });
});

afterAll(async () => {
  await server?.close();
});

const rpc = { getLatestBlockhash: async () => ({ blockhash: (await bank.latestBlockhash()).blockhash }) };

describe("createSvmWallet on a Solana bank", () => {
  it.each([
    ["v2 without memo", { version: 2, amount: "10000" }, 3],
    ["v2 with extra.memo", { version: 2, amount: "20000", memo: "order-7" }, 4],
    ["v1 (exactly three instructions)", { version: 1, amount: "30000" }, 3],
  ] as const)("pays a %s offer once; the payer holds no SOL", async (_name, next, instructionCount) => {
    offer = next;
    seen.length = 0;
    const before = { payer: await bank.tokenBalance(payer.publicKey), payee: await bank.tokenBalance(payee) };
    const payingFetch = createPayingFetch({ wallets: [createSvmWallet({ keypair: payer, rpc })] });
    const response = await payingFetch(`${server.url}/paid`);
    expect(await response.text()).toBe("served");
    const receipt = payingFetch.getReceipt(response);
    expect(receipt).toMatchObject({ lane: "facilitator", network: devnet, amount: BigInt(next.amount) });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.version).toBe(next.version);
    expect(seen[0]?.feePayer).toBe(bank.feePayer.publicKey.toBase58());
    expect(seen[0]?.programs).toHaveLength(instructionCount);
    expect(seen[0]?.programs.at(-1)).toBe(
      instructionCount === 4 ? memoProgram : "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    );
    expect(await bank.tokenBalance(payer.publicKey)).toBe(before.payer - BigInt(next.amount));
    expect(await bank.tokenBalance(payee)).toBe(before.payee + BigInt(next.amount));
    expect(await bank.lamports(payer.publicKey)).toBe(0n);
  });

  it("refuses offers it cannot pay, with reasons", async () => {
    const wallet = createSvmWallet({ keypair: payer, rpc });
    const base = {
      lane: "facilitator",
      x402Version: 2,
      scheme: "exact",
      network: devnet,
      asset: bank.mint.toBase58(),
      payTo: payee.toBase58(),
      amount: 1n,
      maxTimeoutSeconds: 60,
      priority: 1,
      resource: { url: "http://x" },
      source: "header",
      extra: { feePayer: bank.feePayer.publicKey.toBase58() },
    } as unknown as Parameters<NonNullable<typeof wallet.checkExactOffer>>[0];
    expect(wallet.checkExactOffer?.(base)).toBeUndefined();
    expect(wallet.checkExactOffer?.({ ...base, extra: {} })).toBe("fee_payer_missing");
    expect(wallet.checkExactOffer?.({ ...base, extra: { feePayer: payer.publicKey.toBase58() } })).toBe(
      "fee_payer_is_payer",
    );
    expect(wallet.checkExactOffer?.({ ...base, asset: PublicKey.default.toBase58() })).toBe("mint_unknown");
    expect(wallet.checkExactOffer?.({ ...base, amount: 1n << 64n })).toBe("amount_invalid");
    expect(wallet.checkExactOffer?.({ ...base, x402Version: 1, extra: { ...base.extra, memo: "m" } })).toBe(
      "memo_unsupported_v1",
    );
  });

  it("a failing RPC is CLIENT__WALLET_FAILED and nothing is sent", async () => {
    offer = { version: 2, amount: "1000" };
    seen.length = 0;
    const broken = {
      getLatestBlockhash: async () => {
        throw new Error("rpc down");
      },
    };
    const payingFetch = createPayingFetch({ wallets: [createSvmWallet({ keypair: payer, rpc: broken })] });
    const error = await payingFetch(`${server.url}/paid`).catch((e: unknown) => e);
    expect(isTollgateError(error, "CLIENT__WALLET_FAILED")).toBe(true);
    expect(seen).toHaveLength(0);
  });
});
