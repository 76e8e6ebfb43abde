// Adversarial reuse of one payment (issue 21, items 2 and 3 and their class), on real HTTP over loopback:
// concurrent and repeated requests that share a prepaid token, an Idempotency-Key, a facilitator proof, or the
// transaction that settled it, across the node:http (`serveFetch`) and Express adapters, two servers sharing one
// store, and a third server of the same payee with its own store; money moves on anvil and on the Solana bank.
// Invariants: handler runs that answered below 400 equal the debits (tokens) or the settlements (chain), so a
// balance is exact and never below zero; one Idempotency-Key runs once; one on-chain transfer pays one serving.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { directBindingMessage, tokenHeaderNames } from "@tollgate/shared";
import {
  createBankSolanaChain,
  createBankTransactionReader,
  evmPayerAccounts,
  startSolanaBank,
  svmPayeeKeypairs,
  svmPayerKeypairs,
  type EvmChain as TestEvmChain,
} from "@tollgate/testing";
import express from "express";
import fc from "fast-check";
import { createWalletClient, http, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paywallMiddleware } from "../../src/adapters/express.js";
import { serveFetch } from "../../src/adapters/node.js";
import { createEvmDirectChain } from "../../src/evm/evmDirectChain.js";
import { createFacilitator } from "../../src/facilitator/createFacilitator.js";
import { createPaywall, type Paywall } from "../../src/paywall.js";
import { createMemoryStore, type MemoryStore } from "../../src/store/memory.js";
import { encodeBase58 } from "../../src/svm/base58.js";
import { keypairSigner } from "../../src/svm/ed25519.js";
import { createExactSvmScheme } from "../../src/svm/exactSvmScheme.js";
import { createSvmDirectChain } from "../../src/svm/svmDirectChain.js";
import { tokenHash } from "../../src/verify/prepaidTokens.js";
import {
  closeAll,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  receiptOf,
  serve,
  signPayment,
  startChain,
} from "../fixtures.js";
import { svmPaymentSignature } from "../svmFixtures.js";

const paywalls: Paywall[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const big = "x".repeat(70_000); // over the 64 KiB an idempotent response may hold

/** Handler runs by `x-run` + path + `Idempotency-Key`, and how each answered. */
type Runs = Map<string, { ok: number; failed: number }>;

/** What every app does: `/small` and `/big` answer 200, `/fails` 500, after `x-delay` milliseconds. */
async function answer(runs: Runs, headers: Headers, path: string): Promise<Response> {
  const id = `${headers.get("x-run")} ${path} ${headers.get("idempotency-key") ?? ""}`;
  const entry = runs.get(id) ?? { ok: 0, failed: 0 };
  runs.set(id, entry);
  await sleep(Number(headers.get("x-delay") ?? 0));
  if (path === "/fails") {
    entry.failed++;
    return Response.json({ error: "broken" }, { status: 500 });
  }
  entry.ok++;
  return new Response(path === "/big" ? big : "small");
}

describe("one token and Idempotency-Key reused, concurrently, over HTTP (fast-check)", () => {
  const store = createMemoryStore();
  const runs: Runs = new Map();
  const routes = { "GET /small": "$0.01", "GET /big": "$0.01", "GET /fails": "$0.01" };
  const apps: Record<"fetch" | "express", { url: string; paywall: Paywall }> = {} as never;

  beforeAll(async () => {
    const onFetch = createPaywall({ routes, store });
    const served = await serveFetch({
      fetch: onFetch.fetch((request) => answer(runs, request.headers, new URL(request.url).pathname)),
    });
    closers.push(() => served.close());
    apps.fetch = { url: served.url, paywall: onFetch };

    const onExpress = createPaywall({ routes, store });
    const app = express();
    app.use(paywallMiddleware({ paywall: onExpress }));
    app.get(/.*/, async (req, res) => {
      const response = await answer(runs, new Headers(req.headers as Record<string, string>), req.path);
      res.status(response.status).send(await response.text());
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    apps.express = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paywall: onExpress };
    paywalls.push(onFetch, onExpress);
  });

  const request = fc.record({
    path: fc.constantFrom("/small", "/big", "/fails"),
    key: fc.constantFrom(undefined, "a", "b", "c"),
    delay: fc.integer({ min: 0, max: 3 }),
  });
  const scenario = fc.record({
    adapter: fc.constantFrom("fetch" as const, "express" as const),
    cents: fc.integer({ min: 1, max: 8 }),
    // Waves run one after the other; the requests of a wave run at once.
    waves: fc.array(fc.array(request, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
  });

  let run = 0;
  it("runs a charged handler once per debit, a key at most once, and keeps the balance exact", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ adapter, cents, waves }) => {
        const id = `r${++run}`;
        const { url, paywall } = apps[adapter];
        const { token } = await paywall.issueToken({ amount: BigInt(cents) * 10_000n });
        const answers: { path: string; key: string | undefined; response: Response; body: string }[] = [];
        for (const wave of waves) {
          await Promise.all(
            wave.map(async ({ path, key, delay }) => {
              const response = await fetch(`${url}${path}`, {
                headers: {
                  "x-payment-token": token,
                  "x-run": id,
                  "x-delay": String(delay),
                  ...(key === undefined ? {} : { "idempotency-key": key }),
                },
              });
              answers.push({ path, key, response, body: await response.text() });
            }),
          );
        }
        const mine = [...runs].filter(([k]) => k.startsWith(`${id} `));
        const okRuns = mine.reduce((n, [, r]) => n + r.ok, 0);
        const balance = (store as MemoryStore).tokenBalance(tokenHash(token))?.balance ?? -1n;
        // Exact and never below zero: every charged run took one debit, nothing else was taken.
        expect(balance).toBeGreaterThanOrEqual(0n);
        expect(BigInt(cents) * 10_000n - balance).toBe(BigInt(okRuns) * 10_000n);
        // One key, one run (a failed run is refunded and gives the key back).
        for (const [k, r] of mine) if (!k.endsWith(" ")) expect(r.ok).toBeLessThanOrEqual(1);
        // Every charged run reached its client; a replay only repeats a run that happened.
        const fresh = answers.filter(
          (a) => a.response.status === 200 && a.response.headers.get("idempotent-replayed") === null,
        );
        expect(fresh).toHaveLength(okRuns);
        for (const a of answers) {
          const { status } = a.response;
          expect([200, 402, 409, 500]).toContain(status);
          if (status === 500) {
            expect(a.path).toBe("/fails");
            expect(a.response.headers.get("payment-response")).toBeNull();
          }
          if (status === 200) expect(a.body).toBe(a.path === "/big" ? big : "small");
          if (a.response.headers.get("idempotent-replayed") === "true") {
            expect(a.path).toBe("/small");
            expect(runs.get(`${id} ${a.path} ${a.key}`)?.ok).toBe(1);
          }
          const reported = a.response.headers.get(tokenHeaderNames.balance);
          if (reported !== null) expect(BigInt(reported)).toBeGreaterThanOrEqual(0n);
        }
      }),
      { numRuns: 30 },
    );
  });
});

type ServerName = "a" | "b" | "c";

/** One chain as the reuse property drives it: three servers of one payee, a payer of each lane, the payee's balance. */
type ChainLeg = Readonly<{
  servers: Readonly<Record<ServerName, string>>;
  payeeBalance(): Promise<bigint>;
  /** Signs a facilitator-lane payment of `path`'s requirement (as server a offers it): its headers. */
  facilitatorProof(path: string): Promise<Record<string, string>>;
  /** Sends a plain transfer of the price from the direct-lane sender to the payee: its transaction. */
  transfer(): Promise<string>;
  /** `X-PAYMENT-TX` headers for `tx`, bound by the transfer's sender (`payer` or `sender`) to `server`'s origin. */
  directProof(tx: string, server: ServerName, by: "payer" | "sender"): Promise<Record<string, string>>;
}>;

const presentation = fc.record({
  server: fc.constantFrom("a" as const, "b" as const),
  key: fc.constantFrom(undefined, "x", "y"),
});
const payment = fc.record({
  kind: fc.constantFrom("facilitator" as const, "direct" as const),
  path: fc.constantFrom("/small", "/big"),
  presentations: fc.array(presentation, { minLength: 1, maxLength: 6 }),
  // Then the transaction that paid, as X-PAYMENT-TX with its sender's binding for that server.
  asTransfer: fc.array(fc.constantFrom("a" as const, "b" as const, "c" as const), { maxLength: 3 }),
});

let chainRun = 0;
/**
 * Pays 1 to 3 times (a facilitator proof, or a plain transfer), presents each payment concurrently 1 to 6 times on
 * a and b (one store) with random Idempotency-Keys, then its transaction on the direct lane of a, b and c (c has its
 * own store). Each payment serves exactly once; the payee receives the price once per payment; every handler run
 * that answered 200 was a paid serving.
 */
function reuseProperty(leg: () => ChainLeg, runs: Runs, price: bigint) {
  return fc.asyncProperty(fc.array(payment, { minLength: 1, maxLength: 3 }), async (payments) => {
    const { servers, payeeBalance, facilitatorProof, transfer, directProof } = leg();
    const id = `chain${++chainRun}`;
    const before = await payeeBalance();
    let fresh = 0;
    for (const [i, p] of payments.entries()) {
      let tx: string | undefined;
      let proof: (server: ServerName) => Promise<Record<string, string>>;
      if (p.kind === "facilitator") {
        const headers = await facilitatorProof(p.path);
        proof = async () => headers;
      } else {
        const sent = await transfer();
        tx = sent;
        proof = (server) => directProof(sent, server, "sender");
      }
      const answers = await Promise.all(
        p.presentations.map(async ({ server, key }) => {
          const response = await fetch(`${servers[server]}${p.path}`, {
            headers: {
              "x-run": id,
              ...(await proof(server)),
              ...(key === undefined ? {} : { "idempotency-key": `${id}-${i}-${key}` }),
            },
          });
          await response.text();
          return response;
        }),
      );
      const served = answers.filter((r) => r.status === 200 && r.headers.get("idempotent-replayed") === null);
      // One payment, exactly one fresh serving however it is repeated; a replay only repeats it.
      expect(served).toHaveLength(1);
      for (const r of answers) expect([200, 402, 409]).toContain(r.status);
      fresh += served.length;
      tx ??= String(receiptOf(served[0] as Response)?.transaction ?? "");
      const paid = tx;
      const again = await Promise.all(
        p.asTransfer.map(async (server) => {
          const by = p.kind === "facilitator" ? ("payer" as const) : ("sender" as const);
          const response = await fetch(`${servers[server]}${p.path}`, {
            headers: { "x-run": id, ...(await directProof(paid, server, by)) },
          });
          await response.text();
          return { server, response };
        }),
      );
      for (const { server, response } of again) {
        // Never a second serving on the shared store, nor of a facilitator's settlement anywhere. A plain transfer
        // c never saw pays on c (its own store: servers that share a direct payee must share a store).
        if (server !== "c" || p.kind === "facilitator") expect(response.status).not.toBe(200);
        else if (response.status === 200) fresh++;
      }
    }
    const okRuns = [...runs].filter(([k]) => k.startsWith(`${id} `)).reduce((n, [, r]) => n + r.ok, 0);
    expect((await payeeBalance()) - before).toBe(BigInt(payments.length) * price);
    expect(okRuns).toBe(fresh);
  });
}

describe("one payment and its transaction reused across lanes and servers, on anvil (fast-check)", () => {
  let evm: TestEvmChain;
  const payer = evmPayerAccounts[0];
  const sender = evmPayerAccounts[1];
  const network = "eip155:84532";
  const runs: Runs = new Map();
  let leg: ChainLeg;

  beforeAll(async () => {
    evm = await startChain({ ethForPayers: { [sender.address]: parseEther("1") } });
    const facilitatorUrl = (await serve(ourFacilitator(evm).fetch)).url;
    const shared = createMemoryStore();
    const make = async (store: MemoryStore, facilitator: boolean) => {
      const paywall = createPaywall({
        routes: { "GET /small": "$0.01", "GET /big": "$0.01" },
        networks: ["base-sepolia"],
        payTo: payee,
        facilitators: facilitator ? [{ url: facilitatorUrl, name: "primary" }] : [],
        direct: {
          networks: [{ chain: createEvmDirectChain({ publicClient: evm.publicClient }), payTo: payee }],
          minAmount: "$0.01",
        },
        store,
      });
      paywalls.push(paywall);
      return (await serve(paywall.fetch((r) => answer(runs, r.headers, new URL(r.url).pathname)))).url;
    };
    // a and b: two processes of one service, one store; c: another server of the same payee, its own store.
    const servers = {
      a: await make(shared, true),
      b: await make(shared, true),
      c: await make(createMemoryStore(), false),
    };
    const wallet = createWalletClient({ account: sender, chain: evm.chain, transport: http(evm.rpcUrl) });
    leg = {
      servers,
      payeeBalance: () => evm.balanceOf(payee),
      async facilitatorProof(path) {
        const requirement = paymentRequiredOf(await fetch(`${servers.a}${path}`)).accepts[0];
        if (requirement === undefined) throw new Error("no requirement");
        return { "payment-signature": await signPayment({ evm, payer, requirement }) };
      },
      async transfer() {
        const sent = await wallet.writeContractSync({
          address: evm.token,
          abi: evm.abi,
          functionName: "transfer",
          args: [payee, 10_000n],
        });
        return sent.transactionHash;
      },
      async directProof(tx, server, by) {
        const message = directBindingMessage({ network, tx, origin: new URL(servers[server]).origin });
        const signature = await (by === "payer" ? payer : sender).signMessage({ message });
        return { "x-payment-tx": tx, "x-payment-chain": network, "x-payment-tx-sig": signature };
      },
    };
  });
  afterAll(() => evm?.stop());

  it("serves each on-chain transfer once, whichever lane, server or key presents it", async () => {
    await fc.assert(
      reuseProperty(() => leg, runs, 10_000n),
      { numRuns: 5 },
    );
  });
});

describe("one payment and its transaction reused across lanes and servers, on the Solana bank (fast-check)", () => {
  const payer = svmPayerKeypairs[0];
  const sender = svmPayerKeypairs[1];
  const svmPayee = svmPayeeKeypairs[0].publicKey;
  const network = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
  const runs: Runs = new Map();
  let leg: ChainLeg;

  beforeAll(async () => {
    const bank = await startSolanaBank({
      lamportsForPayers: { [sender.publicKey.toBase58()]: 1_000_000_000n },
    });
    const facilitator = createFacilitator({
      schemes: [createExactSvmScheme({ chains: [createBankSolanaChain({ bank })] })],
    });
    const chain = createSvmDirectChain({ network, read: createBankTransactionReader({ bank }) });
    const shared = createMemoryStore();
    const make = async (store: MemoryStore, selfSettle: boolean) => {
      const paywall = createPaywall({
        routes: { "GET /small": "$0.01", "GET /big": "$0.01" },
        networks: ["solana-devnet"],
        payTo: { "solana-devnet": svmPayee.toBase58() },
        ...(selfSettle ? { selfSettle: facilitator } : {}),
        direct: { networks: [{ chain, payTo: svmPayee.toBase58() }], minAmount: "$0.01" },
        // The bank reader brings no settlement check, and the in-process facilitator never loses an answer.
        settlementChecks: { [network]: false },
        store,
      });
      paywalls.push(paywall);
      await paywall.ready();
      return (await serve(paywall.fetch((r) => answer(runs, r.headers, new URL(r.url).pathname)))).url;
    };
    const servers = {
      a: await make(shared, true),
      b: await make(shared, true),
      c: await make(createMemoryStore(), false),
    };
    leg = {
      servers,
      payeeBalance: () => bank.tokenBalance(svmPayee),
      async facilitatorProof(path) {
        const requirement = paymentRequiredOf(await fetch(`${servers.a}${path}`)).accepts[0];
        if (requirement === undefined) throw new Error("no requirement");
        return { "payment-signature": await svmPaymentSignature({ bank, payer, requirement }) };
      },
      async transfer() {
        const result = await bank.processTransaction(
          await bank.signedTransfer({ from: sender, to: svmPayee, amount: 10_000n }),
        );
        if (!result.ok) throw new Error("transfer failed");
        return result.signature;
      },
      async directProof(tx, server, by) {
        const message = directBindingMessage({ network, tx, origin: new URL(servers[server]).origin });
        const signer = keypairSigner(by === "payer" ? payer : sender);
        return {
          "x-payment-tx": tx,
          "x-payment-chain": "solana-devnet",
          "x-payment-tx-sig": encodeBase58(signer(new TextEncoder().encode(message))),
        };
      },
    };
  });

  it("serves each on-chain transfer once, whichever lane, server or key presents it", async () => {
    await fc.assert(
      reuseProperty(() => leg, runs, 10_000n),
      { numRuns: 5 },
    );
  });
});
