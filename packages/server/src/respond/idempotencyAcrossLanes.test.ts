// One Idempotency-Key runs its handler once, on every lane: a retry gets the kept response, 402
// settlement_pending (wait, send the same proof again) while the first request runs, or 409
// idempotency_response_not_kept when the paid response was too large to keep. On anvil, with our facilitator on loopback and real transfers.
import { directBindingMessage } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { createWalletClient, http, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  serve,
  signPayment,
  startChain,
} from "../../test/fixtures.js";
import { createEvmDirectChain } from "../evm/evmDirectChain.js";
import { createPaywall, type Paywall } from "../paywall.js";

let evm: TestEvmChain;
let facilitatorUrl: string;
const paywalls: Paywall[] = [];
const payer = evmPayerAccounts[0];
const sender = evmPayerAccounts[1];
const network = "eip155:84532";

beforeAll(async () => {
  evm = await startChain({ ethForPayers: { [sender.address]: parseEther("1") } });
  facilitatorUrl = (await serve(ourFacilitator(evm).fetch)).url;
});

afterAll(async () => {
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
  await evm?.stop();
});

const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

async function app() {
  const paywall = createPaywall({
    routes: { "GET /big": "$0.01", "GET /slow": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators: [{ url: facilitatorUrl, name: "primary" }],
    direct: {
      networks: [{ chain: createEvmDirectChain({ publicClient: evm.publicClient }), payTo: payee }],
      minAmount: "$0.01",
    },
  });
  paywalls.push(paywall);
  let runs = 0;
  let gate = Promise.resolve();
  const { url } = await serve(
    paywall.fetch(async (request) => {
      runs++;
      // Too large to keep for Idempotency-Key replays (64 KiB by default).
      if (new URL(request.url).pathname === "/big") return new Response("x".repeat(70_000));
      await gate;
      return Response.json({ content: "paid" });
    }),
  );
  const hold = () => {
    let open: () => void = () => undefined;
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    return () => open();
  };
  return { url, hold, runs: () => runs };
}

async function facilitatorProof(url: string): Promise<string> {
  const requirement = paymentRequiredOf(await fetch(url)).accepts[0];
  if (requirement === undefined) throw new Error("no requirement");
  return signPayment({ evm, payer, requirement });
}

describe("an Idempotency-Key on the facilitator and direct lanes", () => {
  it("does not run a facilitator-lane retry whose paid response was too large to keep", async () => {
    const { url, runs } = await app();
    const headers = { "payment-signature": await facilitatorProof(`${url}/big`), "idempotency-key": "k1" };
    const before = await evm.balanceOf(payee);
    const first = await fetch(`${url}/big`, { headers });
    expect(first.status).toBe(200);
    expect((await first.text()).length).toBe(70_000);
    const retry = await fetch(`${url}/big`, { headers });
    expect(retry.status).toBe(409);
    expect(await errorOf(retry)).toBe("idempotency_response_not_kept");
    expect(runs()).toBe(1);
    expect(await evm.balanceOf(payee)).toBe(before + 10_000n);
  });

  it("tells concurrent retries of one proof and key to wait, runs once, settles once, then replays", async () => {
    const { url, hold, runs } = await app();
    const headers = { "payment-signature": await facilitatorProof(`${url}/slow`), "idempotency-key": "k2" };
    const before = await evm.balanceOf(payee);
    const release = hold();
    const first = fetch(`${url}/slow`, { headers });
    while (runs() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const retries = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/slow`, { headers })));
    release();
    expect((await first).status).toBe(200);
    expect(retries.map((r) => r.status)).toEqual(Array(20).fill(402));
    expect(retries.map((r) => r.headers.get("retry-after"))).toEqual(Array(20).fill("1"));
    expect(new Set(await Promise.all(retries.map(errorOf)))).toEqual(new Set(["settlement_pending"]));
    const replay = await fetch(`${url}/slow`, { headers });
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(runs()).toBe(1);
    expect(await evm.balanceOf(payee)).toBe(before + 10_000n);
  });

  it("does not run a direct-lane retry whose paid response was too large to keep", async () => {
    const { url, runs } = await app();
    const wallet = createWalletClient({ account: sender, chain: evm.chain, transport: http(evm.rpcUrl) });
    const { transactionHash: tx } = await wallet.writeContractSync({
      address: evm.token,
      abi: evm.abi,
      functionName: "transfer",
      args: [payee, 10_000n],
    });
    const signature = await sender.signMessage({
      message: directBindingMessage({ network, tx, origin: new URL(url).origin }),
    });
    const headers = {
      "x-payment-tx": tx,
      "x-payment-chain": network,
      "x-payment-tx-sig": signature,
      "idempotency-key": "k3",
    };
    const first = await fetch(`${url}/big`, { headers });
    expect(first.status).toBe(200);
    await first.text();
    const retry = await fetch(`${url}/big`, { headers });
    expect(retry.status).toBe(409);
    expect(await errorOf(retry)).toBe("idempotency_response_not_kept");
    expect(runs()).toBe(1);
  });
});
