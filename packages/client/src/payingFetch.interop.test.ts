import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { isTollgateError } from "@tollgate/shared";
import {
  deriveEvmTestPrivateKey,
  type EvmChain,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
} from "@tollgate/testing";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme as ExactEvmServerScheme } from "@x402/evm/exact/server";
import { paymentMiddleware as paymentMiddlewareV2, x402ResourceServer } from "@x402/express";
import { paymentMiddleware as paymentMiddlewareHono } from "@x402/hono";
import express from "express";
import { Hono } from "hono";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentMiddleware as paymentMiddlewareV1 } from "x402-express";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createPayingFetch } from "./payingFetch.js";

/**
 * payingFetch against the reference servers, unchanged: an @x402/express 2.27.0 server and an x402-express 1.2.0
 * server, both settling through our facilitator on anvil (test USDC at Base Sepolia's USDC address, payers at 0 ETH).
 */
let evm: EvmChain;
let local: LocalFacilitator;
const calls: string[] = [];
const servers: { close(): void }[] = [];
let v2Url: string;
let v1Url: string;
let honoUrl: string;
const account = (label: string) => privateKeyToAccount(deriveEvmTestPrivateKey({ label }));
/** Payers of this file only (test USDC, no ETH), so balances are exact whatever else runs. */
const evmPayerAccounts = Array.from({ length: 7 }, (_, i) => account(`client-interop-payer/${i}`));
const v2PayTo = account("client-interop-payee/v2").address;
const v1PayTo = account("client-interop-payee/v1").address;
const honoPayTo = account("client-interop-payee/hono").address;

/**
 * Our facilitator relays settlements from one account; concurrent /settle calls currently collide on its nonce
 * (reported), so the v2 server sends them one at a time. The client side of the concurrency test is unchanged.
 */
class SerialSettleClient extends HTTPFacilitatorClient {
  #queue: Promise<unknown> = Promise.resolve();
  override settle(
    ...args: Parameters<HTTPFacilitatorClient["settle"]>
  ): ReturnType<HTTPFacilitatorClient["settle"]> {
    const run = this.#queue.then(() => super.settle(...args));
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  evm = await startEvmChain({ payers: evmPayerAccounts.map((a) => a.address) });
  local = await startLocalFacilitator({
    evm,
    options: {
      onEvent: (event) => {
        if (event.type !== "error") calls.push(`${event.type}:${event.ok}`);
      },
    },
  });

  const resourceServer = new x402ResourceServer(new SerialSettleClient({ url: local.url })).register(
    "eip155:84532",
    new ExactEvmServerScheme(),
  );
  const v2 = express();
  v2.use(
    paymentMiddlewareV2(
      {
        "POST /echo": {
          accepts: { scheme: "exact", price: "$0.01", network: "eip155:84532", payTo: v2PayTo },
          description: "echo",
        },
        "GET /cheap": {
          accepts: { scheme: "exact", price: "$0.001", network: "eip155:84532", payTo: v2PayTo },
          description: "cheap",
        },
      },
      resourceServer,
    ),
  );
  v2.post("/echo", express.raw({ type: () => true }), (req, res) => {
    res.json({
      contentType: req.headers["content-type"] ?? null,
      body: Buffer.isBuffer(req.body) ? req.body.toString("utf8") : null,
    });
  });
  v2.get("/cheap", (_req, res) => {
    res.json({ ok: true });
  });
  v2Url = await listen(v2);

  const v1 = express();
  v1.use(
    paymentMiddlewareV1(
      v1PayTo,
      { "GET /paid": { price: "$0.02", network: "base-sepolia" } },
      { url: local.url as `${string}://${string}` },
    ),
  );
  v1.get("/paid", (_req, res) => {
    res.json({ ok: "v1" });
  });
  v1Url = await listen(v1);

  const hono = new Hono();
  hono.use(
    paymentMiddlewareHono(
      {
        "GET /hono": {
          accepts: { scheme: "exact", price: "$0.03", network: "eip155:84532", payTo: honoPayTo },
          description: "hono",
        },
      },
      resourceServer,
    ),
  );
  hono.get("/hono", (c) => c.json({ ok: "hono" }));
  const honoServer = serve({ fetch: hono.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => honoServer.once("listening", () => resolve()));
  servers.push(honoServer);
  honoUrl = `http://127.0.0.1:${(honoServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const server of servers) server.close();
  await local?.close();
  await evm?.stop();
});

describe("payingFetch pays the reference servers through our facilitator on anvil", () => {
  it("pays an @x402/express 2.27.0 server once, replaying a string body, and reads the receipt", async () => {
    const payer = evmPayerAccounts[0]!;
    const events: string[] = [];
    const payingFetch = createPayingFetch({
      wallets: [createEvmWallet({ account: payer })],
      onEvent: (event) => events.push(event.type),
    });
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(v2PayTo) };
    calls.length = 0;
    const response = await payingFetch(`${v2Url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ q: "x402" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ contentType: "application/json", body: '{"q":"x402"}' });
    expect(calls).toEqual(["verify:true", "settle:true"]);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 10_000n);
    expect(await evm.balanceOf(v2PayTo)).toBe(before.payee + 10_000n);
    const receipt = payingFetch.getReceipt(response);
    expect(receipt).toMatchObject({
      lane: "facilitator",
      amount: 10_000n,
      network: "eip155:84532",
      reusedProof: false,
    });
    expect(receipt?.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(receipt?.settle?.success).toBe(true);
    expect(events).toEqual(["payment.required", "offer.selected", "payment.signed", "payment.settled"]);
  });

  it("pays an x402-express 1.2.0 server once with X-PAYMENT", async () => {
    const payer = evmPayerAccounts[1]!;
    const payingFetch = createPayingFetch({ wallets: [createEvmWallet({ account: payer })] });
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(v1PayTo) };
    calls.length = 0;
    const response = await payingFetch(`${v1Url}/paid`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: "v1" });
    expect(calls).toEqual(["verify:true", "settle:true"]);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 20_000n);
    expect(await evm.balanceOf(v1PayTo)).toBe(before.payee + 20_000n);
    const receipt = payingFetch.getReceipt(response);
    expect(receipt).toMatchObject({ lane: "facilitator", amount: 20_000n, network: "eip155:84532" });
    expect(receipt?.settle?.success).toBe(true);
  });

  it("pays an @x402/hono 2.27.0 server once", async () => {
    const payer = evmPayerAccounts[6]!;
    const payingFetch = createPayingFetch({ wallets: [createEvmWallet({ account: payer })] });
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(honoPayTo) };
    calls.length = 0;
    const response = await payingFetch(`${honoUrl}/hono`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: "hono" });
    expect(calls).toEqual(["verify:true", "settle:true"]);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 30_000n);
    expect(await evm.balanceOf(honoPayTo)).toBe(before.payee + 30_000n);
    expect(payingFetch.getReceipt(response)?.settle?.success).toBe(true);
  });

  it("replays bytes, FormData and stream bodies on the paid retry", async () => {
    const payer = evmPayerAccounts[2]!;
    const payingFetch = createPayingFetch({ wallets: [createEvmWallet({ account: payer })] });
    const before = await evm.balanceOf(payer.address);

    const bytes = await payingFetch(`${v2Url}/echo`, {
      method: "POST",
      body: new TextEncoder().encode("raw bytes"),
    });
    expect(((await bytes.json()) as { body: string }).body).toBe("raw bytes");

    const form = new FormData();
    form.set("field", "value");
    const formResponse = await payingFetch(`${v2Url}/echo`, { method: "POST", body: form });
    const formJson = (await formResponse.json()) as { contentType: string; body: string };
    expect(formJson.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(formJson.body).toContain('name="field"');
    expect(formJson.body).toContain("value");

    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("streamed "));
        controller.enqueue(new TextEncoder().encode("body"));
        controller.close();
      },
    });
    const streamed = await payingFetch(`${v2Url}/echo`, {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(((await streamed.json()) as { body: string }).body).toBe("streamed body");

    expect(await evm.balanceOf(payer.address)).toBe(before - 30_000n);
  });

  it("re-sends the same proof after a lost request and pays once", async () => {
    const payer = evmPayerAccounts[3]!;
    const sentProofs: string[] = [];
    let dropNextPaid = true;
    const flakyFetch: typeof fetch = async (input, init) => {
      const proof = new Headers(init?.headers).get("payment-signature");
      if (proof !== null) {
        sentProofs.push(proof);
        if (dropNextPaid) {
          dropNextPaid = false;
          throw new TypeError("fetch failed (connection reset before the server read it)");
        }
      }
      return fetch(input, init);
    };
    const ledger = createMemoryLedger();
    const payingFetch = createPayingFetch({
      wallets: [createEvmWallet({ account: payer })],
      ledger,
      fetch: flakyFetch,
    });
    const before = await evm.balanceOf(payer.address);
    const init = { method: "POST", body: "same logical request" };
    const first = await payingFetch(`${v2Url}/echo`, init).catch((e: unknown) => e);
    expect(isTollgateError(first, "CLIENT__SETTLEMENT_PENDING")).toBe(true);
    expect(await ledger.pending()).toHaveLength(1);

    const second = await payingFetch(`${v2Url}/echo`, init);
    expect(second.status).toBe(200);
    expect(payingFetch.getReceipt(second)?.reusedProof).toBe(true);
    expect(sentProofs).toHaveLength(2);
    expect(sentProofs[1]).toBe(sentProofs[0]);
    expect(await ledger.pending()).toHaveLength(0);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });

  it("never signs again after a lost response: the settled proof is refused as used, and nothing more is paid", async () => {
    const payer = evmPayerAccounts[4]!;
    const sentProofs: string[] = [];
    let loseNextResponse = true;
    const lossyFetch: typeof fetch = async (input, init) => {
      const proof = new Headers(init?.headers).get("payment-signature");
      const response = await fetch(input, init);
      if (proof !== null) {
        sentProofs.push(proof);
        if (loseNextResponse) {
          loseNextResponse = false;
          await response.arrayBuffer();
          throw new TypeError("fetch failed (response lost)");
        }
      }
      return response;
    };
    const payingFetch = createPayingFetch({
      wallets: [createEvmWallet({ account: payer })],
      fetch: lossyFetch,
    });
    const before = await evm.balanceOf(payer.address);
    const init = { method: "POST", headers: { "idempotency-key": "order-42" }, body: "x" };
    const first = await payingFetch(`${v2Url}/echo`, init).catch((e: unknown) => e);
    expect(isTollgateError(first, "CLIENT__SETTLEMENT_PENDING")).toBe(true);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);

    const second = await payingFetch(`${v2Url}/echo`, init).catch((e: unknown) => e);
    expect(isTollgateError(second, "CLIENT__PAYMENT_REFUSED")).toBe(true);
    expect(sentProofs).toHaveLength(2);
    expect(sentProofs[1]).toBe(sentProofs[0]);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });

  it("100 concurrent calls against a budget of 10 payments pay exactly 10", async () => {
    const payer = evmPayerAccounts[5]!;
    const payingFetch = createPayingFetch({
      wallets: [createEvmWallet({ account: payer })],
      policy: { budgets: [{ limit: 10_000n, window: "total" }] },
    });
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(v2PayTo) };
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => payingFetch(`${v2Url}/cheap?call=${i}`)),
    );
    const paid = results.filter((r) => r.status === "fulfilled" && r.value.status === 200);
    const refused = results.filter(
      (r) => r.status === "rejected" && isTollgateError(r.reason, "CLIENT__BUDGET_EXHAUSTED"),
    );
    const other = results.filter((r) => !paid.includes(r) && !refused.includes(r));
    expect(other.map((r) => (r.status === "rejected" ? String(r.reason) : r.value.status))).toEqual([]);
    expect(paid).toHaveLength(10);
    expect(refused).toHaveLength(90);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 10_000n);
    expect(await evm.balanceOf(v2PayTo)).toBe(before.payee + 10_000n);
  });
});
