// A facilitator that lies about details the paywall can check for free is not believed: a `success` naming another
// network, an empty or malformed transaction, another payer or another amount, an `isValid` for another payer. Its
// answer is malformed: that facilitator counts as unavailable, and after a /settle the chain decides. Real signed
// proofs; lying facilitators are loopback servers; the honest one is ours, on anvil.
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  receiptOf,
  serve,
  signPayment,
  startChain,
} from "../../../test/fixtures.js";
import { createEvmSettlementCheck } from "../../evm/settlementCheck.js";
import { createPaywall, type Paywall } from "../../paywall.js";
import type { FacilitatorOption } from "../fallback/facilitators.js";

let evm: TestEvmChain;
let honestUrl: string;
const paywalls: Paywall[] = [];
const payer = evmPayerAccounts[1];
const aHash = `0x${"ab".repeat(32)}`;

beforeAll(async () => {
  evm = await startChain();
  honestUrl = (await serve(ourFacilitator(evm).fetch)).url;
});

afterAll(async () => {
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
  await evm?.stop();
});

/** A facilitator that lists base-sepolia, validates everything, and answers /settle with `settle(payer)`. */
async function liar(
  answers: Readonly<{
    verify?: (payer: string) => unknown;
    settle: (payer: string) => unknown;
  }>,
): Promise<string> {
  const served = await serve(async (request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/supported")) {
      return Response.json({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }] });
    }
    const body = (await request.json()) as {
      paymentPayload: { payload: { authorization: { from: string } } };
    };
    const from = body.paymentPayload.payload.authorization.from;
    if (path.endsWith("/verify"))
      return Response.json(answers.verify?.(from) ?? { isValid: true, payer: from });
    return Response.json(answers.settle(from));
  });
  return served.url;
}

async function paidApp(facilitators: FacilitatorOption[], settlement: "before" | "after" = "after") {
  const paywall = createPaywall({
    routes: { "GET /paid": { price: "$0.01", settlement } },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators,
    // The chain decides after a malformed answer: here it finds no transfer, so the payment stays pending.
    settlementChecks: { "base-sepolia": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
  });
  paywalls.push(paywall);
  await paywall.ready();
  let runs = 0;
  const app = paywall.fetch(() => {
    runs++;
    return Response.json({ content: "paid" });
  });
  const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
  if (requirement === undefined) throw new Error("no requirement");
  const proof = await signPayment({ evm, payer, requirement });
  const response = await app(
    new Request("http://api.test/paid", { headers: { "payment-signature": proof } }),
  );
  const body = (await response.json()) as { error?: string; content?: string };
  return { status: response.status, error: body.error, content: body.content, runs, response };
}

describe("a facilitator's success that contradicts what the paywall knows", () => {
  it.each([
    [
      "names another network",
      (p: string) => ({ success: true, payer: p, transaction: aHash, network: "eip155:8453" }),
    ],
    [
      "has an empty transaction",
      (p: string) => ({ success: true, payer: p, transaction: "", network: "eip155:84532" }),
    ],
    [
      "has a malformed transaction",
      (p: string) => ({ success: true, payer: p, transaction: "0x1234", network: "eip155:84532" }),
    ],
    [
      "names a Solana signature on an EVM network",
      (p: string) => ({ success: true, payer: p, transaction: "5".repeat(88), network: "eip155:84532" }),
    ],
    [
      "names another payer",
      () => ({
        success: true,
        payer: evmPayerAccounts[3].address,
        transaction: aHash,
        network: "eip155:84532",
      }),
    ],
    [
      "names another amount",
      (p: string) => ({ success: true, payer: p, transaction: aHash, network: "eip155:84532", amount: "1" }),
    ],
  ])(
    "is not believed when it %s: not served, the settlement is pending (money may have moved)",
    async (_name, settle) => {
      for (const settlement of ["after", "before"] as const) {
        const answer = await paidApp([{ url: await liar({ settle }), name: "liar" }], settlement);
        expect(answer.status).toBe(402);
        expect(answer.error).toBe("settlement_pending");
        expect(answer.content).toBeUndefined();
      }
    },
  );

  it("is not believed on verify when isValid names another payer: the facilitator is unavailable", async () => {
    const url = await liar({
      verify: () => ({ isValid: true, payer: evmPayerAccounts[3].address }),
      settle: (p) => ({ success: true, payer: p, transaction: aHash, network: "eip155:84532" }),
    });
    const answer = await paidApp([{ url, name: "liar" }]);
    expect(answer).toMatchObject({ status: 402, error: "facilitator_unavailable", runs: 0 });
  });

  it("is believed when network, transaction, payer and amount check out (money is trusted to have moved)", async () => {
    const url = await liar({
      settle: (p) => ({
        success: true,
        payer: p,
        transaction: aHash,
        network: "eip155:84532",
        amount: "10000",
      }),
    });
    const answer = await paidApp([{ url, name: "plausible" }]);
    expect(answer.status).toBe(200);
    expect(receiptOf(answer.response)).toMatchObject({ success: true, transaction: aHash });
  });

  it("fails over to the next facilitator, which settles for real: served once, paid once", async () => {
    const url = await liar({
      settle: (p) => ({ success: true, payer: p, transaction: "", network: "eip155:84532" }),
    });
    const before = await evm.balanceOf(payer.address);
    const answer = await paidApp([
      { url, name: "liar" },
      { url: honestUrl, name: "honest" },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.runs).toBe(1);
    expect(before - (await evm.balanceOf(payer.address))).toBe(10_000n);
    expect(receiptOf(answer.response)?.transaction).toMatch(/^0x[0-9a-f]{64}$/);
  });
});
