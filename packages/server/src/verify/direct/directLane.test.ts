import { directBindingMessage, paymentReceiptSchema, tokenHeaderNames } from "@tollgate/shared";
import {
  evmPayeeAccounts,
  evmPayerAccounts,
  type EvmChain as TestEvmChain,
  testUsdcDeployedBytecode,
} from "@tollgate/testing";
import { type Address, createWalletClient, type Hex, http, parseEther } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAll, receiptOf, serve, startChain } from "../../../test/fixtures.js";
import { createEvmDirectChain } from "../../evm/evmDirectChain.js";
import { type CreatePaywallParameters, createPaywall } from "../../paywall.js";
import { createMemoryStore } from "../../store/memory.js";
import { transferClaimKey } from "../transferClaimKey.js";
import { directClaimExpiry, directClaimSkewSeconds } from "./directLane.js";

/** The direct lane on anvil: a real USDC transfer, read back from the chain, with every rule violated once. */
let evm: TestEvmChain;
const sender = evmPayerAccounts[2];
const stranger = evmPayerAccounts[3];
const directPayee = evmPayeeAccounts[2].address;
const otherToken: Address = "0x00000000000000000000000000000000000c0ffe";

beforeAll(async () => {
  evm = await startChain({
    ethForPayers: { [sender.address]: parseEther("1"), [stranger.address]: parseEther("1") },
  });
  // A second ERC-20 that is not the configured USDC.
  await evm.anvil.setCode(otherToken, testUsdcDeployedBytecode);
  await evm.walletClient.writeContractSync({
    address: otherToken,
    abi: evm.abi,
    functionName: "initialize",
    args: ["Fake USDC", "2"],
  });
  await evm.walletClient.writeContractSync({
    address: otherToken,
    abi: evm.abi,
    functionName: "mint",
    args: [sender.address, 10_000_000n],
  });
});

afterAll(async () => {
  await closeAll();
  await evm?.stop();
});

/** Sends a token transfer from `from` and returns its hash once mined (reverting ones too, with `gas` set). */
async function transfer(
  parameters: Readonly<{
    from?: PrivateKeyAccount;
    to?: Address;
    amount: bigint;
    token?: Address;
    gas?: bigint;
  }>,
): Promise<Hex> {
  const { from = sender, to = directPayee, amount, token = evm.token, gas } = parameters;
  const wallet = createWalletClient({ account: from, chain: evm.chain, transport: http(evm.rpcUrl) });
  const receipt = await wallet.writeContractSync({
    address: token,
    abi: evm.abi,
    functionName: "transfer",
    args: [to, amount],
    ...(gas === undefined ? {} : { gas }),
  });
  return receipt.transactionHash;
}

async function app(parameters: Partial<CreatePaywallParameters> = {}) {
  const paywall = createPaywall({
    routes: {
      "GET /paid": "$0.05",
      "GET /fails": "$0.05",
      "GET /unbound": { price: "$0.05", bindingRequired: false },
    },
    direct: {
      networks: [
        {
          chain: createEvmDirectChain({ publicClient: evm.publicClient }),
          payTo: directPayee,
          confirmations: 2,
        },
      ],
    },
    ...parameters,
  });
  let calls = 0;
  const served = await serve(
    paywall.fetch((request) => {
      calls++;
      return new URL(request.url).pathname === "/fails"
        ? Response.json({ error: "broken" }, { status: 500 })
        : Response.json({ content: "paid" });
    }),
  );
  return { url: served.url, paywall, calls: () => calls };
}

async function bind(url: string, tx: Hex, signer: PrivateKeyAccount = sender, network = "eip155:84532") {
  return signer.signMessage({ message: directBindingMessage({ network, tx, origin: new URL(url).origin }) });
}

async function payDirect(
  url: string,
  path: string,
  tx: Hex,
  extra: Readonly<{ signature?: string | null; chain?: string; headers?: Record<string, string> }> = {},
) {
  const signature = extra.signature === undefined ? await bind(url, tx) : extra.signature;
  return fetch(`${url}${path}`, {
    headers: {
      "x-payment-tx": tx,
      "x-payment-chain": extra.chain ?? "eip155:84532",
      ...(signature === null ? {} : { "x-payment-tx-sig": signature }),
      ...extra.headers,
    },
  });
}

const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

describe("the direct-transfer lane on EVM", () => {
  it("offers the lane with its terms", async () => {
    const { url } = await app();
    const body = (await (await fetch(`${url}/paid`)).json()) as { payment_options: unknown[] };
    expect(body.payment_options).toContainEqual({
      provider: "direct",
      type: "direct_transfer",
      priority: 2,
      recommended: false,
      networks: [
        {
          network: "eip155:84532",
          network_v1: "base-sepolia",
          asset: evm.token,
          payTo: directPayee,
          amount: "50000",
          min_amount: "100000",
          confirmations: 2,
          max_age_seconds: 604_800,
          binding_required: true,
        },
      ],
      headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
    });
  });

  it("accepts a bound, confirmed transfer once, and returns the surplus as a prepaid token", async () => {
    const { url } = await app();
    const tx = await transfer({ amount: 250_000n });
    const early = await payDirect(url, "/paid", tx);
    expect(early.status).toBe(402);
    expect(early.headers.get("retry-after")).toBe("5");
    expect(await errorOf(early)).toBe("direct_insufficient_confirmations");
    await evm.mine(1);

    const paid = await payDirect(url, "/paid", tx, { chain: "base-sepolia" });
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ content: "paid" });
    expect(paymentReceiptSchema.parse(receiptOf(paid))).toMatchObject({
      success: true,
      lane: "direct",
      transaction: tx,
      network: "eip155:84532",
      payer: sender.address,
      amount: "50000",
    });
    const token = paid.headers.get(tokenHeaderNames.token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(paid.headers.get(tokenHeaderNames.balance)).toBe("200000");

    expect(await errorOf(await payDirect(url, "/paid", tx))).toBe("replayed_payment");
    const spent = await fetch(`${url}/paid`, { headers: { "x-payment-token": token ?? "" } });
    expect(spent.status).toBe(200);
    expect(spent.headers.get(tokenHeaderNames.balance)).toBe("150000");
  });

  it("credits a transfer below the minimum in full as a token, with direct_amount_below_minimum", async () => {
    const { url } = await app();
    const tx = await transfer({ amount: 60_000n });
    await evm.mine(1);
    const response = await payDirect(url, "/paid", tx);
    expect(response.status).toBe(402);
    expect(await errorOf(response)).toBe("direct_amount_below_minimum");
    const token = response.headers.get(tokenHeaderNames.token) ?? "";
    expect(response.headers.get(tokenHeaderNames.balance)).toBe("60000");
    expect(await errorOf(await payDirect(url, "/paid", tx))).toBe("replayed_payment");
    const spent = await fetch(`${url}/paid`, { headers: { "x-payment-token": token } });
    expect(spent.status).toBe(200);
    expect(spent.headers.get(tokenHeaderNames.balance)).toBe("10000");
  });

  it("requires the binding by the transfer's sender for this origin, unless the route turns it off", async () => {
    const { url } = await app();
    const tx = await transfer({ amount: 100_000n });
    await evm.mine(1);
    expect(await errorOf(await payDirect(url, "/paid", tx, { signature: null }))).toBe(
      "direct_binding_missing",
    );
    const byStranger = await bind(url, tx, stranger);
    expect(await errorOf(await payDirect(url, "/paid", tx, { signature: byStranger }))).toBe(
      "direct_binding_invalid",
    );
    const otherOrigin = await sender.signMessage({
      message: directBindingMessage({ network: "eip155:84532", tx, origin: "https://elsewhere.example" }),
    });
    expect(await errorOf(await payDirect(url, "/paid", tx, { signature: otherOrigin }))).toBe(
      "direct_binding_invalid",
    );
    expect(await errorOf(await payDirect(url, "/paid", tx, { signature: "0x1234" }))).toBe(
      "direct_binding_invalid",
    );
    // None of these claimed the transfer: its sender still can.
    const unbound = await payDirect(url, "/unbound", tx, { signature: null });
    expect(unbound.status).toBe(200);
  });

  it("refuses transfers of another token, to another payee, reverted, unknown, malformed or on another chain", async () => {
    const { url } = await app();
    const wrongToken = await transfer({ amount: 200_000n, token: otherToken });
    const wrongPayee = await transfer({ amount: 200_000n, to: stranger.address });
    const reverted = await transfer({ amount: 10n ** 12n, gas: 100_000n });
    await evm.mine(1);
    expect(await errorOf(await payDirect(url, "/paid", wrongToken))).toBe("direct_no_qualifying_transfer");
    expect(await errorOf(await payDirect(url, "/paid", wrongPayee))).toBe("direct_no_qualifying_transfer");
    expect(await errorOf(await payDirect(url, "/paid", reverted))).toBe("direct_tx_failed");
    const unknown = `0x${"12".repeat(32)}` as Hex;
    const notFound = await payDirect(url, "/paid", unknown);
    expect(await errorOf(notFound)).toBe("direct_tx_not_found");
    expect(notFound.headers.get("retry-after")).toBe("5");
    expect(await errorOf(await payDirect(url, "/paid", "0x1234" as Hex, { signature: null }))).toBe(
      "direct_tx_malformed",
    );
    expect(await errorOf(await payDirect(url, "/paid", unknown, { chain: "solana" }))).toBe(
      "direct_chain_unsupported",
    );
    expect(await errorOf(await payDirect(url, "/paid", unknown, { chain: "eip155:1" }))).toBe(
      "direct_chain_unsupported",
    );
  });

  it("refuses a transfer older than the maximum age", async () => {
    const { url } = await app({ now: () => Date.now() + 8 * 86_400_000 });
    const tx = await transfer({ amount: 100_000n });
    await evm.mine(1);
    expect(await errorOf(await payDirect(url, "/paid", tx))).toBe("direct_tx_too_old");
  });

  it("claims a transfer only while it is young enough to pay: once its claim is forgotten the age check refuses it", async () => {
    let clock = Date.now();
    const store = createMemoryStore({ now: () => clock });
    const maxAgeSeconds = 3_600;
    const { url } = await app({
      now: () => clock,
      store,
      direct: {
        networks: [
          {
            chain: createEvmDirectChain({ publicClient: evm.publicClient }),
            payTo: directPayee,
            confirmations: 2,
            maxAgeSeconds,
          },
        ],
      },
    });
    const tx = await transfer({ amount: 100_000n });
    await evm.mine(1);
    const receipt = await evm.publicClient.getTransactionReceipt({ hash: tx });
    const { timestamp } = await evm.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    const blockTime = Number(timestamp);
    expect((await payDirect(url, "/paid", tx)).status).toBe(200);
    const key = transferClaimKey({ network: "eip155:84532", family: "evm", transaction: tx });
    const forgottenAt = directClaimExpiry({ timestamp: blockTime, maxAgeSeconds });
    expect(forgottenAt).toBe(blockTime + maxAgeSeconds + directClaimSkewSeconds);

    // Past the maximum age but still claimed: a replay, not even looked up on chain.
    clock = (blockTime + maxAgeSeconds + 1) * 1000;
    expect(await errorOf(await payDirect(url, "/paid", tx))).toBe("replayed_payment");
    clock = (forgottenAt - 1) * 1000;
    expect((await store.getClaim(key))?.state).toBe("settled");
    // The claim is forgotten (the store sweeps it), and the transfer still pays for nothing: too old.
    clock = forgottenAt * 1000;
    expect(await store.getClaim(key)).toBeUndefined();
    expect(await errorOf(await payDirect(url, "/paid", tx))).toBe("direct_tx_too_old");
    expect(await store.getClaim(key)).toBeUndefined();
  });

  it("does not charge for a handler failure: the price joins the token", async () => {
    const { url } = await app();
    const tx = await transfer({ amount: 150_000n });
    await evm.mine(1);
    const response = await payDirect(url, "/fails", tx);
    expect(response.status).toBe(500);
    expect(response.headers.get("payment-response")).toBeNull();
    expect(response.headers.get(tokenHeaderNames.balance)).toBe("150000");
    expect(response.headers.get(tokenHeaderNames.token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("is refused with direct_lane_disabled when switched off", async () => {
    const { url } = await app({ lanes: { direct: false } });
    const body = (await (await fetch(`${url}/paid`)).json()) as { payment_options: { type: string }[] };
    expect(body.payment_options.map((o) => o.type)).toEqual(["prepaid_token"]);
    const tx = await transfer({ amount: 100_000n });
    expect(await errorOf(await payDirect(url, "/paid", tx))).toBe("direct_lane_disabled");
  });
});
