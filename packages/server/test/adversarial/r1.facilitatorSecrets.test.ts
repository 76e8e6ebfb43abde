// Review r1: our facilitator's public /settle answer must not carry the text of an internal error. RPC providers
// put the API key in the URL path (`/v2/<key>`); viem's HttpRequestError message names that URL (it strips only
// userinfo), and a failed receipt poll after broadcast used to be sent back as `errorMessage` to any caller.
// On anvil, with a loopback RPC in front of it that names a secret in its path and fails receipt reads.

import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { evmPayerAccounts, startEvmChain, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { createPublicClient, http, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createViemEvmChain } from "../../src/evm/evmChain.js";
import { createExactEvmScheme } from "../../src/evm/exactEvmScheme.js";
import { transferWithAuthorizationTypes } from "../../src/evm/usdcAbi.js";
import { createFacilitator } from "../../src/facilitator/createFacilitator.js";

const secret = "SECRET-RPC-KEY-r1-4b1d";
let evm: TestEvmChain;
let proxy: Server;
let proxyUrl: string;

beforeAll(async () => {
  evm = await startEvmChain();
  // Forwards JSON-RPC to anvil; answers 500 to receipt reads, as a rate-limited provider does.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const text = Buffer.concat(chunks).toString();
      if (text.includes("eth_getTransactionReceipt")) {
        res.writeHead(500, { "content-type": "text/plain" }).end("rate limited");
        return;
      }
      const upstream = await fetch(evm.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: text,
      });
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v2/${secret}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await evm?.stop();
});

describe("our facilitator's /settle answer after a chain call failed", () => {
  it("names no RPC URL (nor its key) when the receipt cannot be read after broadcast", async () => {
    const publicClient = createPublicClient({
      chain: evm.chain,
      transport: http(proxyUrl, { retryCount: 0 }),
    });
    const chain = createViemEvmChain({ publicClient, walletClient: evm.walletClient, pollingIntervalMs: 10 });
    const facilitator = createFacilitator({
      schemes: [createExactEvmScheme({ chains: [chain], receiptTimeoutMs: 5_000 })],
    });
    const payer = evmPayerAccounts[0];
    const network = evm.network.caip2;
    const message = {
      from: payer.address,
      to: evmPayerAccounts[1].address,
      value: 1_000n,
      validAfter: 0n,
      validBefore: BigInt(Math.floor(Date.now() / 1000) + 300),
      nonce: toHex(randomBytes(32)),
    };
    const signature = await payer.signTypedData({
      domain: evm.eip712Domain,
      types: transferWithAuthorizationTypes,
      primaryType: "TransferWithAuthorization",
      message,
    });
    const requirement = {
      scheme: "exact",
      network,
      amount: "1000",
      asset: evm.token,
      payTo: message.to,
      maxTimeoutSeconds: 300,
      extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
    };
    const answer = await facilitator.settle({
      x402Version: 2,
      paymentPayload: {
        x402Version: 2,
        resource: { url: "http://127.0.0.1/paid", description: "", mimeType: "" },
        accepted: requirement,
        payload: {
          signature,
          authorization: {
            ...message,
            value: "1000",
            validAfter: "0",
            validBefore: message.validBefore.toString(),
          },
        },
      },
      paymentRequirements: requirement,
    });
    // Broadcast, receipt unknown: pending under its hash, as before.
    expect(answer.body).toMatchObject({ success: false, errorReason: "settlement_pending" });
    expect(JSON.stringify(answer.body)).not.toContain(secret);
    expect(JSON.stringify(answer.body)).not.toContain("127.0.0.1");
  });
});
