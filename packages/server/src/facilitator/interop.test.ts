import type { AddressInfo } from "node:net";
import {
  evmPayeeAccounts,
  evmPayerAccounts,
  startEvmChain,
  type EvmChain as TestEvmChain,
} from "@tollgate/testing";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme as ExactEvmClientScheme } from "@x402/evm/exact/client";
import { ExactEvmScheme as ExactEvmServerScheme } from "@x402/evm/exact/server";
import { paymentMiddleware as paymentMiddlewareV2, x402ResourceServer } from "@x402/express";
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import express from "express";
import { createWalletClient, http } from "viem";
import { baseSepolia } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentMiddleware as paymentMiddlewareV1 } from "x402-express";
import { wrapFetchWithPayment as wrapFetchV1 } from "x402-fetch";
import { type ServedFetch, serveFetch } from "../adapters/node.js";
import { createViemEvmChain } from "../evm/evmChain.js";
import { createExactEvmScheme } from "../evm/exactEvmScheme.js";
import { createFacilitator } from "./createFacilitator.js";

/**
 * Our facilitator behind the reference SDKs, unchanged: an @x402/express 2.27.0 server paid by @x402/fetch, and
 * an x402-express 1.2.0 server paid by x402-fetch, both moving test USDC on anvil through our /verify and /settle.
 */
let evm: TestEvmChain;
let facilitatorServer: ServedFetch;
const apps: { close(): void }[] = [];
const calls: string[] = [];

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  apps.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  evm = await startEvmChain();
  const facilitator = createFacilitator({
    schemes: [
      createExactEvmScheme({
        chains: [
          createViemEvmChain({
            publicClient: evm.publicClient,
            walletClient: evm.walletClient,
            pollingIntervalMs: 10,
          }),
        ],
      }),
    ],
    onEvent: (event) => {
      if (event.type !== "error") calls.push(`${event.type}:${event.ok}`);
    },
  });
  facilitatorServer = await serveFetch({ fetch: facilitator.fetch });
});

afterAll(async () => {
  for (const app of apps) app.close();
  await facilitatorServer?.close();
  await evm?.stop();
});

describe("interop with the reference SDKs through our facilitator", () => {
  it("@x402/express 2.27.0 server, paid by @x402/fetch 2.27.0", async () => {
    const payTo = evmPayeeAccounts[1].address;
    const resourceServer = new x402ResourceServer(
      new HTTPFacilitatorClient({ url: facilitatorServer.url }),
    ).register("eip155:84532", new ExactEvmServerScheme());
    const app = express();
    app.use(
      paymentMiddlewareV2(
        {
          "GET /paid": {
            accepts: { scheme: "exact", price: "$0.01", network: "eip155:84532", payTo },
            description: "paid",
          },
        },
        resourceServer,
      ),
    );
    app.get("/paid", (_req, res) => {
      res.json({ ok: true });
    });
    const url = await listen(app);
    const payer = evmPayerAccounts[0];
    const payingFetch = wrapFetchWithPaymentFromConfig(fetch, {
      schemes: [{ network: "eip155:84532", client: new ExactEvmClientScheme(payer) }],
    });
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(payTo) };
    calls.length = 0;
    const response = await payingFetch(`${url}/paid`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(response.headers.get("payment-response")).toBeTruthy();
    expect(calls).toEqual(["verify:true", "settle:true"]);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 10_000n);
    expect(await evm.balanceOf(payTo)).toBe(before.payee + 10_000n);
  });

  it("x402-express 1.2.0 server, paid by x402-fetch 1.2.0", async () => {
    const payTo = evmPayeeAccounts[2].address;
    const app = express();
    app.use(
      paymentMiddlewareV1(
        payTo,
        { "GET /paid": { price: "$0.02", network: "base-sepolia" } },
        { url: facilitatorServer.url as `${string}://${string}` },
      ),
    );
    app.get("/paid", (_req, res) => {
      res.json({ ok: true });
    });
    const url = await listen(app);
    const payer = evmPayerAccounts[1];
    const wallet = createWalletClient({ account: payer, chain: baseSepolia, transport: http(evm.rpcUrl) });
    // x402 1.2.0 types its signer against its own copy of viem; the runtime object is the same shape.
    const payingFetch = wrapFetchV1(fetch, wallet as unknown as Parameters<typeof wrapFetchV1>[1]);
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(payTo) };
    calls.length = 0;
    const response = await payingFetch(`${url}/paid`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(response.headers.get("x-payment-response")).toBeTruthy();
    expect(calls).toEqual(["verify:true", "settle:true"]);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 20_000n);
    expect(await evm.balanceOf(payTo)).toBe(before.payee + 20_000n);
  });
});
