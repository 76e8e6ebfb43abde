import { serveFetch } from "@tollgate/server";
import { createEvmDirectChain } from "@tollgate/server/evm";
import { directBindingMessage, tokenHeaderNames } from "@tollgate/shared";
import { type EvmChain, evmPayeeAccounts, evmPayerAccounts, startEvmChain } from "@tollgate/testing";
import { createWalletClient, http, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createPaidApi, type PaidApi } from "../createPaidApi.js";
import { parseExposition, sumOf } from "../monitoring/exposition.js";

/**
 * /metrics after real direct payments: USDC transfers mined on anvil (running as Base Sepolia), read by the
 * reference API over its RPC, presented over real HTTP on loopback; then the surplus token spent.
 */
const origin = "https://api.metrics.test";
const sender = evmPayerAccounts[1];
const payee = evmPayeeAccounts[1].address;
const network = "eip155:84532";

let evm: EvmChain;
let api: PaidApi;
let url: string;
const closers: { close(): unknown }[] = [];

beforeAll(async () => {
  evm = await startEvmChain({
    payers: [sender.address],
    ethForPayers: { [sender.address]: parseEther("1") },
  });
  api = createPaidApi({
    config: loadConfig({
      X402_USE_UNIFIED_GATEWAY: "false",
      X402_DIRECT_CHAINS: "base",
      X402_BASE_NETWORK: "base-sepolia",
      X402_BASE_RPC_URL: evm.rpcUrl,
      X402_BASE_PAYMENT_ADDRESS: payee,
      X402_PUBLIC_ORIGINS: origin,
    }),
    chains: { base: createEvmDirectChain({ publicClient: evm.publicClient }) },
  });
  const served = await serveFetch({ fetch: api.fetch });
  url = served.url;
  closers.push(api.paywall, served);
});
afterAll(async () => {
  for (const c of closers.reverse()) await c.close();
  await evm?.stop();
});

async function payDirect(amount: bigint): Promise<Response> {
  const wallet = createWalletClient({ account: sender, chain: evm.chain, transport: http(evm.rpcUrl) });
  const receipt = await wallet.writeContractSync({
    address: evm.token,
    abi: evm.abi,
    functionName: "transfer",
    args: [payee, amount],
  });
  const tx = receipt.transactionHash;
  const signature = await sender.signMessage({ message: directBindingMessage({ network, tx, origin }) });
  return fetch(`${url}/v1/search?q=metrics`, {
    headers: { "x-payment-tx": tx, "x-payment-chain": network, "x-payment-tx-sig": signature },
  });
}

describe("/metrics after real direct payments", () => {
  it("counts the direct lane's volume by network and asset, its RPC, and the surplus token's spends", async () => {
    // Two $0.10 transfers, each paying a $0.01 search; the first one's $0.09 surplus token pays a $0.02 report.
    const first = await payDirect(100_000n);
    expect(first.status, await first.clone().text()).toBe(200);
    expect((await payDirect(100_000n)).status).toBe(200);
    const token = first.headers.get(tokenHeaderNames.token) ?? "";
    const report = await fetch(`${url}/v1/report`, { headers: { [tokenHeaderNames.token]: token } });
    expect(report.status).toBe(200);

    const metrics = parseExposition(await (await fetch(`${url}/metrics`)).text());
    const usdc = evm.network.usdc?.address ?? "";
    expect({
      directServed: sumOf(metrics, "tollgate_funnel_total", { lane: "direct", stage: "served" }),
      directVolume: sumOf(metrics, "tollgate_paid_atomic_total", { lane: "direct", network, asset: usdc }),
      tokenVolume: sumOf(metrics, "tollgate_paid_atomic_total", { lane: "token" }),
      directTimed: sumOf(metrics, "tollgate_payment_duration_seconds_count", { lane: "direct" }),
      rpcUp: sumOf(metrics, "tollgate_rpc_up", { network }),
      rpcUnavailable: sumOf(metrics, "tollgate_rpc_requests_total", { network, outcome: "unavailable" }),
      refusals: sumOf(metrics, "tollgate_refusals_total"),
    }).toEqual({
      directServed: 2,
      directVolume: 20_000,
      tokenVolume: 20_000,
      directTimed: 2,
      rpcUp: 1,
      rpcUnavailable: 0,
      refusals: 0,
    });
    expect(
      sumOf(metrics, "tollgate_rpc_requests_total", { network, outcome: "answer" }),
    ).toBeGreaterThanOrEqual(2);
  });
});
