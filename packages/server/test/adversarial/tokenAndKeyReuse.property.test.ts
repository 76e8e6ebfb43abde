// Adversarial reuse of one payment (issue 21, items 2 and 3 and their class), on real HTTP over loopback:
// concurrent and repeated requests that share a prepaid token, an Idempotency-Key, a facilitator proof, or the
// transaction that settled it, across the node:http (`serveFetch`) and Express adapters, two servers sharing one
// store, and a third server of the same payee with its own store; money moves on anvil.
// Invariants: handler runs that answered below 400 equal the debits (tokens) or the settlements (chain), so a
// balance is exact and never below zero; one Idempotency-Key runs once; one on-chain transfer pays one serving.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { directBindingMessage, tokenHeaderNames } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import express from "express";
import fc from "fast-check";
import { createWalletClient, type Hex, http, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paywallMiddleware } from "../../src/adapters/express.js";
import { serveFetch } from "../../src/adapters/node.js";
import { createEvmDirectChain } from "../../src/evm/evmDirectChain.js";
import { createPaywall, type Paywall } from "../../src/paywall.js";
import { createMemoryStore, type MemoryStore } from "../../src/store/memory.js";
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

describe("one facilitator proof and its transaction reused across lanes and servers, on anvil (fast-check)", () => {
  let evm: TestEvmChain;
  const payer = evmPayerAccounts[0];
  const sender = evmPayerAccounts[1];
  const network = "eip155:84532";
  const price = 10_000n;
  const runs: Runs = new Map();
  const servers: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };

  beforeAll(async () => {
    evm = await startChain({ ethForPayers: { [sender.address]: parseEther("1") } });
    const facilitatorUrl = (await serve(ourFacilitator(evm).fetch)).url;
    const shared = createMemoryStore();
    const make = async (name: "a" | "b" | "c", store: MemoryStore, facilitator: boolean) => {
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
      servers[name] = (
        await serve(paywall.fetch((r) => answer(runs, r.headers, new URL(r.url).pathname)))
      ).url;
    };
    // a and b: two processes of one service, one store; c: another server of the same payee, its own store.
    await make("a", shared, true);
    await make("b", shared, true);
    await make("c", createMemoryStore(), false);
  });
  afterAll(() => evm?.stop());

  const bind = (account: typeof payer, tx: Hex, url: string) =>
    account.signMessage({ message: directBindingMessage({ network, tx, origin: new URL(url).origin }) });

  const presentation = fc.record({
    server: fc.constantFrom("a" as const, "b" as const),
    key: fc.constantFrom(undefined, "x", "y"),
  });
  const payment = fc.record({
    kind: fc.constantFrom("facilitator" as const, "direct" as const),
    path: fc.constantFrom("/small", "/big"),
    presentations: fc.array(presentation, { minLength: 1, maxLength: 6 }),
    // Then the transaction that paid, as X-PAYMENT-TX with the payer's binding for that server.
    asTransfer: fc.array(fc.constantFrom("a" as const, "b" as const, "c" as const), { maxLength: 3 }),
  });

  let run = 0;
  it("serves each on-chain transfer once, whichever lane, server or key presents it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(payment, { minLength: 1, maxLength: 3 }), async (payments) => {
        const id = `chain${++run}`;
        const before = await evm.balanceOf(payee);
        let fresh = 0;
        for (const [i, p] of payments.entries()) {
          let proof: (server: "a" | "b") => Promise<Record<string, string>>;
          let tx: Hex | undefined;
          if (p.kind === "facilitator") {
            const requirement = paymentRequiredOf(await fetch(`${servers.a}${p.path}`)).accepts[0];
            if (requirement === undefined) throw new Error("no requirement");
            const header = await signPayment({ evm, payer, requirement });
            proof = async () => ({ "payment-signature": header });
          } else {
            const wallet = createWalletClient({
              account: sender,
              chain: evm.chain,
              transport: http(evm.rpcUrl),
            });
            const sent = await wallet.writeContractSync({
              address: evm.token,
              abi: evm.abi,
              functionName: "transfer",
              args: [payee, price],
            });
            tx = sent.transactionHash;
            const transfer = tx;
            proof = async (server) => ({
              "x-payment-tx": transfer,
              "x-payment-chain": network,
              "x-payment-tx-sig": await bind(sender, transfer, servers[server]),
            });
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
          const served = answers.filter(
            (r) => r.status === 200 && r.headers.get("idempotent-replayed") === null,
          );
          // One proof, exactly one fresh serving however it is repeated; a replay only repeats it.
          expect(served).toHaveLength(1);
          for (const r of answers) expect([200, 402, 409]).toContain(r.status);
          fresh += served.length;
          tx ??= served[0] === undefined ? undefined : (String(receiptOf(served[0])?.transaction) as Hex);
          if (tx === undefined) continue;
          const transfer = tx;
          const again = await Promise.all(
            p.asTransfer.map(async (server) => {
              const account = p.kind === "facilitator" ? payer : sender;
              const response = await fetch(`${servers[server]}${p.path}`, {
                headers: {
                  "x-run": id,
                  "x-payment-tx": transfer,
                  "x-payment-chain": network,
                  "x-payment-tx-sig": await bind(account, transfer, servers[server]),
                },
              });
              await response.text();
              return { server, response };
            }),
          );
          for (const { server, response } of again) {
            // Never a second serving on the shared store; on c, only a plain transfer c never saw counts (c
            // keeps its own store: servers that share a direct payee must share a store).
            if (server !== "c" || p.kind === "facilitator") expect(response.status).not.toBe(200);
            else if (response.status === 200) fresh++;
          }
        }
        const okRuns = [...runs].filter(([k]) => k.startsWith(`${id} `)).reduce((n, [, r]) => n + r.ok, 0);
        const moved = (await evm.balanceOf(payee)) - before;
        // Every transfer moved the price once, and every handler run that answered 200 was a paid serving.
        expect(moved).toBe(BigInt(payments.length) * price);
        expect(okRuns).toBe(fresh);
      }),
      { numRuns: 5 },
    );
  });
});
