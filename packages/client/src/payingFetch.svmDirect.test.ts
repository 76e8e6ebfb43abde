import type { Keypair, VersionedTransaction } from "@solana/web3.js";
import { createPaywall, type Paywall, type ServedFetch, serveFetch } from "@tollgate/server";
import { createSvmDirectChain } from "@tollgate/server/svm";
import { isTollgateError } from "@tollgate/shared";
import {
  createBankTransactionReader,
  deriveSvmTestKeypair,
  type SolanaBank,
  startSolanaBank,
} from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PayingFetchEvent } from "./events.js";
import { createMemoryTokenStore } from "./lanes/token/tokenStore.js";
import { createPayingFetch } from "./payingFetch.js";
import { createSvmWallet, type SvmDirectAccess } from "./svm/svmWallet.js";

/**
 * payingFetch against our own paywall on loopback, direct lane on Solana over a real bank (solana-bankrun): the
 * payer sends and pays for a USDC TransferChecked to the payee's token account, binds it to the origin with an
 * ed25519 signature, and the paywall reads the bank's record of it. The surplus above the price comes back as a
 * prepaid token that pays the next call without a new transaction.
 */
const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const payer = deriveSvmTestKeypair({ label: "client-svm-direct/payer" });
const brokePayer = deriveSvmTestKeypair({ label: "client-svm-direct/broke-payer" });
const payee = deriveSvmTestKeypair({ label: "client-svm-direct/payee" }).publicKey;

let bank: SolanaBank;
const served: ServedFetch[] = [];
const paywalls: Paywall[] = [];

beforeAll(async () => {
  bank = await startSolanaBank({
    payers: [payer.publicKey, brokePayer.publicKey],
    payees: [payee],
    lamportsForPayers: { [payer.publicKey.toBase58()]: 1_000_000_000n },
  });
});

afterAll(async () => {
  for (const server of served) await server.close();
  for (const paywall of paywalls) await paywall.close();
});

async function startPaidApi(): Promise<string> {
  const chain = createSvmDirectChain({
    network: devnet,
    read: createBankTransactionReader({ bank }),
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

/** The direct lane's chain access over the bank, counting what is sent. */
function bankAccess(sent: string[]): SvmDirectAccess {
  const refused = new Set<string>();
  return {
    sendTransaction: async (transaction: VersionedTransaction) => {
      const result = await bank.processTransaction(transaction);
      sent.push(result.signature);
      if (result.ok) return result.signature;
      if (result.recorded === undefined) refused.add(result.signature);
      throw new Error(`transaction refused: ${result.error.name}`);
    },
    confirm: async (signature) => {
      const recorded = bank.getRecordedTransaction(signature);
      if (recorded !== undefined) return recorded.err === null;
      if (refused.has(signature)) return false;
      throw new Error(`transaction ${signature} not found`);
    },
  };
}

function directWallet(keypair: Keypair, sent: string[]) {
  return createSvmWallet({
    keypair,
    rpc: { getLatestBlockhash: () => bank.latestBlockhash() },
    direct: bankAccess(sent),
  });
}

describe("payingFetch on the Solana direct lane (bank)", () => {
  it("pays with a bound transfer of the minimum, then spends the surplus token without a new transaction", async () => {
    const url = await startPaidApi();
    const sent: string[] = [];
    const tokens = createMemoryTokenStore();
    const events: PayingFetchEvent[] = [];
    const payingFetch = createPayingFetch({
      wallets: [directWallet(payer, sent)],
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
    const sent: string[] = [];
    const payingFetch = createPayingFetch({
      wallets: [directWallet(brokePayer, sent)],
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

  it("refuses direct offers without chain access", () => {
    const wallet = createSvmWallet({
      keypair: payer,
      rpc: { getLatestBlockhash: () => bank.latestBlockhash() },
    });
    expect(wallet.checkDirectOffer).toBeUndefined();
    expect(wallet.prepareDirectTransfer).toBeUndefined();
    expect(wallet.sendDirectTransfer).toBeUndefined();
  });
});
