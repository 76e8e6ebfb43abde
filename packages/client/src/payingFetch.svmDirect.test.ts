import { Connection, type Keypair, VersionedTransaction } from "@solana/web3.js";
import { createPaywall, type Paywall, type ServedFetch, serveFetch } from "@tollgate/server";
import { createConnectionTransactionReader, createSvmDirectChain } from "@tollgate/server/svm";
import { encodeBase58, isTollgateError, type TollgateError } from "@tollgate/shared";
import {
  deriveSvmTestKeypair,
  type SolanaBank,
  type SolanaRpc,
  startSolanaBank,
  startSolanaRpc,
} from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PayingFetchEvent } from "./events.js";
import { createMemoryTokenStore } from "./lanes/token/tokenStore.js";
import { createPayingFetch } from "./payingFetch.js";
import { createConnectionDirectAccess } from "./svm/connectionDirectAccess.js";
import { createSvmWallet } from "./svm/svmWallet.js";

/**
 * payingFetch against our own paywall on loopback, direct lane on Solana over a real bank (solana-bankrun): the
 * payer sends and pays for a USDC TransferChecked to the payee's token account, binds it to the origin with an
 * ed25519 signature, and the paywall reads it back. Both sides talk to the bank through real `Connection`s to the
 * kit's JSON-RPC node, as they would to a cluster. The surplus above the price comes back as a prepaid token that
 * pays the next call without a new transaction.
 */
const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const payer = deriveSvmTestKeypair({ label: "client-svm-direct/payer" });
const brokePayer = deriveSvmTestKeypair({ label: "client-svm-direct/broke-payer" });
const payee = deriveSvmTestKeypair({ label: "client-svm-direct/payee" }).publicKey;

let bank: SolanaBank;
let rpc: SolanaRpc;
let connection: Connection;
/** Signatures of the transactions sent to the node, in order. */
const sent: string[] = [];
/** What the node does with the next sends: land them, or accept them and drop them. */
const node = { dropSends: false };
const served: ServedFetch[] = [];
const paywalls: Paywall[] = [];

beforeAll(async () => {
  bank = await startSolanaBank({
    payers: [payer.publicKey, brokePayer.publicKey],
    payees: [payee],
    lamportsForPayers: { [payer.publicKey.toBase58()]: 1_000_000_000n },
  });
  rpc = await startSolanaRpc({
    bank,
    intercept: ({ method, params }) => {
      if (method !== "sendTransaction") return undefined;
      const transaction = VersionedTransaction.deserialize(Buffer.from(String(params[0]), "base64"));
      const signature = encodeBase58(transaction.signatures[0] ?? new Uint8Array());
      sent.push(signature);
      return node.dropSends ? { result: signature } : undefined;
    },
  });
  connection = new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true });
});

afterAll(async () => {
  await rpc?.close();
  for (const server of served) await server.close();
  for (const paywall of paywalls) await paywall.close();
});

async function startPaidApi(): Promise<string> {
  const chain = createSvmDirectChain({
    network: devnet,
    read: createConnectionTransactionReader({ connection }),
  });
  const paywall = createPaywall({
    routes: { "GET /report": { price: "$0.01", lanes: { facilitator: false } } },
    direct: { networks: [{ chain, payTo: payee.toBase58() }], minAmount: "$0.05" },
  });
  paywalls.push(paywall);
  const server = await serveFetch({
    fetch: paywall.fetch(async (request) => Response.json({ report: new URL(request.url).pathname })),
  });
  served.push(server);
  return server.url;
}

function directWallet(keypair: Keypair) {
  return createSvmWallet({
    keypair,
    rpc: connection,
    direct: createConnectionDirectAccess({ connection, pollingIntervalMs: 10 }),
  });
}

describe("payingFetch on the Solana direct lane (bank)", () => {
  it("pays with a bound transfer of the minimum, then spends the surplus token without a new transaction", async () => {
    const url = await startPaidApi();
    sent.length = 0;
    const tokens = createMemoryTokenStore();
    const events: PayingFetchEvent[] = [];
    const payingFetch = createPayingFetch({
      wallets: [directWallet(payer)],
      policy: { maxPerRequest: 100_000n },
      tokens,
      onEvent: (event) => events.push(event),
    });
    const before = {
      payer: await bank.tokenBalance(payer.publicKey),
      payee: await bank.tokenBalance(payee),
      lamports: await bank.lamports(payer.publicKey),
    };

    const first = await payingFetch(`${url}/report`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ report: "/report" });
    expect(payingFetch.getReceipt(first)).toMatchObject({ lane: "direct", amount: 50_000n });
    expect(sent).toHaveLength(1);
    expect(bank.getRecordedTransaction(sent[0] ?? "")?.err).toBeNull();
    expect(await bank.tokenBalance(payee)).toBe(before.payee + 50_000n);
    expect(await bank.tokenBalance(payer.publicKey)).toBe(before.payer - 50_000n);
    // The payer paid the fee itself.
    expect(await bank.lamports(payer.publicKey)).toBeLessThan(before.lamports);
    expect((await tokens.get(new URL(url).origin))?.balance).toBe(40_000n);

    const second = await payingFetch(`${url}/report`);
    expect(second.status).toBe(200);
    expect(payingFetch.getReceipt(second)).toMatchObject({ lane: "token" });
    expect((await tokens.get(new URL(url).origin))?.balance).toBe(30_000n);
    expect(sent).toHaveLength(1);
    expect(await bank.tokenBalance(payee)).toBe(before.payee + 50_000n);
    expect(await bank.tokenBalance(payer.publicKey)).toBe(before.payer - 50_000n);
    expect(events.filter((event) => event.type === "payment.signed")).toHaveLength(1);
  });

  it("fails a transfer the bank refuses (no SOL for the fee) without paying, and moves no token", async () => {
    const url = await startPaidApi();
    sent.length = 0;
    const payingFetch = createPayingFetch({
      wallets: [directWallet(brokePayer)],
      policy: { maxPerRequest: 100_000n },
    });
    const before = {
      payer: await bank.tokenBalance(brokePayer.publicKey),
      payee: await bank.tokenBalance(payee),
    };
    const error = await payingFetch(`${url}/report`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isTollgateError(error, "CLIENT__WALLET_FAILED")).toBe(true);
    expect(sent).toHaveLength(1);
    expect(await bank.tokenBalance(brokePayer.publicKey)).toBe(before.payer);
    expect(await bank.tokenBalance(payee)).toBe(before.payee);
  });

  it("counts the fee in lamports: one above the cap is refused before anything is sent, the fee budget counts each", async () => {
    const url = await startPaidApi();
    sent.length = 0;
    const before = { lamports: await bank.lamports(payer.publicKey), payee: await bank.tokenBalance(payee) };
    // 5000 lamports for the signature and 1 of priority fee (20 000 units at 1 micro-lamport, rounded up).
    const capped = createPayingFetch({
      wallets: [directWallet(payer)],
      policy: { direct: { fees: [{ network: "solana:*", maxPerPayment: 5_000n }] } },
    });
    const error = await capped(`${url}/report`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isTollgateError(error, "CLIENT__FEE_LIMIT_EXCEEDED")).toBe(true);
    expect((error as TollgateError).context).toMatchObject({
      network: devnet,
      fee: "5001",
      limit: "maxPerPayment",
    });
    expect(sent).toHaveLength(0);
    expect(await bank.lamports(payer.publicKey)).toBe(before.lamports);

    // A store that keeps no token: every call needs a new transfer. 10 001 lamports hold one fee of 5001, not two.
    const forgetful = {
      get: async () => undefined,
      put: async () => undefined,
      delete: async () => undefined,
    };
    const budgeted = createPayingFetch({
      wallets: [directWallet(payer)],
      tokens: forgetful,
      policy: { direct: { fees: [{ network: devnet, budgets: [{ limit: 10_001n, window: "day" }] }] } },
    });
    expect((await budgeted(`${url}/report`)).status).toBe(200);
    const refused = await budgeted(`${url}/report?again`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isTollgateError(refused, "CLIENT__FEE_LIMIT_EXCEEDED")).toBe(true);
    expect((refused as TollgateError).context).toMatchObject({ fee: "5001", remaining: "5000" });
    expect(sent).toHaveLength(1);
    expect(await bank.lamports(payer.publicKey)).toBe(before.lamports - 5_001n);
    expect(await bank.tokenBalance(payee)).toBe(before.payee + 50_000n);
  });

  it("five concurrent payments from one account land five distinct transfers, each paid once", async () => {
    const url = await startPaidApi();
    sent.length = 0;
    const forgetful = {
      get: async () => undefined,
      put: async () => undefined,
      delete: async () => undefined,
    };
    const payingFetch = createPayingFetch({ wallets: [directWallet(payer)], tokens: forgetful });
    const before = { payer: await bank.tokenBalance(payer.publicKey), payee: await bank.tokenBalance(payee) };
    const responses = await Promise.all([0, 1, 2, 3, 4].map((i) => payingFetch(`${url}/report?call=${i}`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(sent).size).toBe(5);
    for (const signature of sent) expect(bank.getRecordedTransaction(signature)?.err).toBeNull();
    expect(await bank.tokenBalance(payee)).toBe(before.payee + 250_000n);
    expect(await bank.tokenBalance(payer.publicKey)).toBe(before.payer - 250_000n);
  });

  it("refuses direct offers without chain access", () => {
    const wallet = createSvmWallet({ keypair: payer, rpc: connection });
    expect(wallet.checkDirectOffer).toBeUndefined();
    expect(wallet.prepareDirectTransfer).toBeUndefined();
    expect(wallet.sendDirectTransfer).toBeUndefined();
  });
});
