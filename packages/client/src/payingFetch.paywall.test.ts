import { Writable } from "node:stream";
import { createPaywall, type Paywall, type ServedFetch, serveFetch } from "@tollgate/server";
import { createEvmDirectChain } from "@tollgate/server/evm";
import {
  deriveEvmTestPrivateKey,
  type EvmChain,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
} from "@tollgate/testing";
import pino from "pino";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PayingFetchEvent } from "./events.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryTokenStore } from "./lanes/token/tokenStore.js";
import { createPayingFetch } from "./payingFetch.js";

/**
 * payingFetch against our own paywall on loopback, every lane real: the facilitator lane through our facilitator,
 * the direct lane as a USDC transfer on anvil (payer holds ETH) with its binding signature, the prepaid token a
 * direct transfer above the price buys, and the fallback from an unavailable facilitator to the direct lane.
 */
const account = (label: string) => privateKeyToAccount(deriveEvmTestPrivateKey({ label }));
const facilitatorPayer = account("client-paywall/facilitator-payer");
const directPayers = [0, 1, 2].map((i) => account(`client-paywall/direct-payer/${i}`));
const payee = account("client-paywall/payee").address;
const directPayee = account("client-paywall/direct-payee").address;

let evm: EvmChain;
let local: LocalFacilitator;
const served: ServedFetch[] = [];
const paywalls: Paywall[] = [];

async function startPaidApi(facilitatorUrl: string): Promise<string> {
  const paywall = createPaywall({
    routes: { "GET /report": "$0.01", "GET /direct-only": { price: "$0.01", lanes: { facilitator: false } } },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators: [{ url: facilitatorUrl, name: "local", verifyTimeoutMs: 2_000, settleTimeoutMs: 10_000 }],
    direct: {
      networks: [
        {
          chain: createEvmDirectChain({ publicClient: evm.publicClient }),
          payTo: directPayee,
          confirmations: 1,
        },
      ],
      minAmount: "$0.05",
    },
  });
  paywalls.push(paywall);
  const server = await serveFetch({
    fetch: paywall.fetch(async (request) => Response.json({ report: new URL(request.url).pathname })),
  });
  served.push(server);
  return server.url;
}

function directWallet(payer: ReturnType<typeof account>) {
  return createEvmWallet({
    account: payer,
    direct: createPublicClient({ chain: evm.chain, transport: http(evm.rpcUrl), pollingInterval: 10 }),
  });
}

beforeAll(async () => {
  evm = await startEvmChain({
    payers: [facilitatorPayer.address, ...directPayers.map((p) => p.address)],
    ethForPayers: Object.fromEntries(directPayers.map((p) => [p.address, 10n ** 18n])),
  });
  local = await startLocalFacilitator({ evm });
});

afterAll(async () => {
  for (const server of served) await server.close();
  for (const paywall of paywalls) await paywall.close();
  await local?.close();
  await evm?.stop();
});

describe("payingFetch against the Tollgate paywall", () => {
  it("pays the facilitator lane once", async () => {
    const url = await startPaidApi(local.url);
    const before = await evm.balanceOf(facilitatorPayer.address);
    const payingFetch = createPayingFetch({ wallets: [createEvmWallet({ account: facilitatorPayer })] });
    const response = await payingFetch(`${url}/report`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ report: "/report" });
    expect(payingFetch.getReceipt(response)).toMatchObject({ lane: "facilitator", amount: 10_000n });
    expect(await evm.balanceOf(facilitatorPayer.address)).toBe(before - 10_000n);
  });

  it("pays the direct lane with the minimum transfer, then spends the surplus token without a new transfer", async () => {
    const url = await startPaidApi(local.url);
    const payer = directPayers[0]!;
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(directPayee) };
    const tokens = createMemoryTokenStore();
    const events: PayingFetchEvent[] = [];
    const payingFetch = createPayingFetch({
      wallets: [directWallet(payer)],
      tokens,
      onEvent: (e) => events.push(e),
    });

    const first = await payingFetch(`${url}/direct-only`);
    expect(first.status).toBe(200);
    expect(payingFetch.getReceipt(first)).toMatchObject({ lane: "direct", amount: 50_000n });
    expect((await tokens.get(new URL(url).origin))?.balance).toBe(40_000n);

    const second = await payingFetch(`${url}/direct-only`);
    expect(second.status).toBe(200);
    expect(payingFetch.getReceipt(second)).toMatchObject({ lane: "token" });
    expect((await tokens.get(new URL(url).origin))?.balance).toBe(30_000n);

    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 50_000n);
    expect(await evm.balanceOf(directPayee)).toBe(before.payee + 50_000n);
    expect(events.filter((e) => e.type === "payment.signed")).toHaveLength(1);
  });

  it("falls back from an unavailable facilitator to the direct lane", async () => {
    const dead = await serveFetch({ fetch: () => new Response("down", { status: 503 }) });
    served.push(dead);
    const url = await startPaidApi(dead.url);
    const payer = directPayers[1]!;
    const before = await evm.balanceOf(payer.address);
    const events: PayingFetchEvent[] = [];
    const payingFetch = createPayingFetch({ wallets: [directWallet(payer)], onEvent: (e) => events.push(e) });
    const response = await payingFetch(`${url}/report`);
    expect(response.status).toBe(200);
    expect(payingFetch.getReceipt(response)).toMatchObject({ lane: "direct", amount: 50_000n });
    expect(
      events.filter((e) => e.type === "payment.refused").map((e) => e.type === "payment.refused" && e.reason),
    ).toEqual(["facilitator_unavailable"]);
    expect(await evm.balanceOf(payer.address)).toBe(before - 50_000n);
  });
});

describe("payingFetch's logger", () => {
  it("writes a line per payment through a real pino logger, without the proof, the signature or the token", async () => {
    const url = await startPaidApi(local.url);
    const payer = directPayers[2]!;
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const sent: string[] = [];
    const payingFetch = createPayingFetch({
      wallets: [directWallet(payer)],
      logger: pino({ level: "debug" }, stream),
      fetch: async (input, init) => {
        for (const [name, value] of new Headers(init?.headers)) {
          // The secret proof headers: the direct transfer's binding signature and the prepaid token. (Its
          // transaction hash is public on chain, and logged as the payment's `transaction` on purpose.)
          if (name === "x-payment-tx-sig" || name === "x-payment-token") sent.push(value);
        }
        return fetch(input, init);
      },
    });
    // A direct transfer buys a token; the second request spends it.
    expect((await payingFetch(`${url}/direct-only`)).status).toBe(200);
    expect((await payingFetch(`${url}/direct-only`)).status).toBe(200);

    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        "payingFetch payment.required",
        "payingFetch payment.signed",
        "payingFetch payment.settled",
      ]),
    );
    expect(parsed.find((l) => l.msg === "payingFetch payment.signed")).toMatchObject({
      component: "payingFetch",
      offer: { lane: "direct", amount: expect.stringMatching(/^[0-9]+$/) },
    });
    expect(sent).toHaveLength(2);
    const all = lines.join("\n");
    for (const value of sent) {
      expect(all).not.toContain(value);
      for (const part of value.split(/[.:]/).filter((p) => p.length >= 20)) expect(all).not.toContain(part);
    }
  });
});
