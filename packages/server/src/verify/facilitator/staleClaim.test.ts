import { isTollgateError } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acceptingFacilitator,
  closeAll,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  serve,
  signPayment,
  startChain,
} from "../../../test/fixtures.js";
import { createEvmDirectChain } from "../../evm/evmDirectChain.js";
import { createPaywall } from "../../paywall.js";
import { createMemoryStore } from "../../store/memory.js";

/**
 * The stale-pending rule in one process, on anvil: a `pending` claim nobody moved for `staleClaimSeconds` is
 * taken over by a retry of the same proof, and the request that held it (alive after all, its handler slow)
 * does not settle it a second time. The store's clock stands still and is moved; the paywall's and the chain's are real.
 */
let evm: TestEvmChain;
const payer = evmPayerAccounts[1];

beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  await closeAll();
  await evm?.stop();
});

describe("a stale pending claim", () => {
  it.each([0, -1, 1.5, Number.NaN])("refuses staleClaimSeconds %s at start", (staleClaimSeconds) => {
    let thrown: unknown;
    try {
      createPaywall({
        routes: { "GET /paid": "$0.01" },
        networks: ["base-sepolia"],
        payTo: payee,
        facilitators: [{ url: "http://127.0.0.1:9" }],
        settlementChecks: { "base-sepolia": false },
        staleClaimSeconds,
      });
    } catch (error) {
      thrown = error;
    }
    expect(isTollgateError(thrown, "SERVER__INVALID_CONFIG") && thrown.context.option).toBe(
      "staleClaimSeconds",
    );
  });

  it("is taken over by the same proof's retry, which settles once; the slow holder then settles nothing", async () => {
    const facilitator = ourFacilitator(evm);
    let settles = 0;
    const counting = await serve((request) => {
      if (new URL(request.url).pathname.endsWith("/settle")) settles++;
      return facilitator.fetch(request);
    });
    // The store's clock stands still unless the test moves it.
    const storeStart = Date.now();
    let storeAhead = 0;
    const store = createMemoryStore({ now: () => storeStart + storeAhead });
    let releaseSlow: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    let runs = 0;
    let startedSlow: () => void = () => undefined;
    const slowStarted = new Promise<void>((resolve) => {
      startedSlow = resolve;
    });
    const paywall = createPaywall({
      routes: { "GET /paid": { price: "$0.01", maxTimeoutSeconds: 900 } },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: counting.url }],
      direct: {
        networks: [{ chain: createEvmDirectChain({ publicClient: evm.publicClient }), payTo: payee }],
      },
      store,
      staleClaimSeconds: 120,
    });
    const app = paywall.fetch(async () => {
      if (++runs === 1) {
        startedSlow();
        await slow;
      }
      return Response.json({ content: "paid" });
    });
    const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const proof = await signPayment({ evm, payer, requirement });
    const pay = () => app(new Request("http://api.test/paid", { headers: { "payment-signature": proof } }));
    const errorOf = async (response: Response) => ((await response.json()) as { error?: string }).error;
    const before = await evm.balanceOf(payer.address);

    const holder = pay();
    await slowStarted;
    // Fresh: the retry is a replay.
    storeAhead = 119_000;
    expect(await errorOf(await pay())).toBe("replayed_payment");
    // Unmoved for 120 s: the retry takes the claim over, finds nothing on chain and settles.
    storeAhead = 120_000;
    const retry = await pay();
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ content: "paid" });
    expect(before - (await evm.balanceOf(payer.address))).toBe(10_000n);
    expect(settles).toBe(1);

    // The slow holder's handler answers: its claim is gone, so it settles nothing and serves nothing.
    releaseSlow();
    const held = await holder;
    expect(held.status).toBe(402);
    expect(await errorOf(held)).toBe("settlement_pending");
    expect(settles).toBe(1);
    expect(before - (await evm.balanceOf(payer.address))).toBe(10_000n);
    expect(await errorOf(await pay())).toBe("replayed_payment");
    await paywall.close();
  });

  it("is forgotten 60 s after its authorization's validBefore, which the route's maxTimeoutSeconds bounds", async () => {
    // A facilitator whose /settle answer is garbage: it may have settled, so the claim stays pending_settlement.
    const facilitator = await acceptingFacilitator({ garbage: true });
    // The store's clock stands still unless the test moves it.
    const storeStart = Date.now();
    let storeAhead = 0;
    const store = createMemoryStore({ now: () => storeStart + storeAhead });
    const paywall = createPaywall({
      routes: { "GET /paid": { price: "$0.01", maxTimeoutSeconds: 90 } },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: facilitator.url }],
      settlementChecks: { "base-sepolia": false },
      store,
    });
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const nowSeconds = Math.floor(storeStart / 1000);
    const validBefore = BigInt(nowSeconds + 90);
    const nonce = `0x${"ab".repeat(32)}` as const;
    const proof = await signPayment({ evm, payer, requirement, validBefore, nonce });
    const response = await app(
      new Request("http://api.test/paid", { headers: { "payment-signature": proof } }),
    );
    expect(((await response.json()) as { error?: string }).error).toBe("settlement_pending");
    const key = `x402:eip155:84532:${payer.address.toLowerCase()}:${nonce}`;
    storeAhead = (Number(validBefore) + 59 - nowSeconds) * 1000 - (storeStart % 1000);
    expect((await store.getClaim(key))?.state).toBe("pending_settlement");
    storeAhead = (Number(validBefore) + 60 - nowSeconds) * 1000 - (storeStart % 1000);
    expect(await store.getClaim(key)).toBeUndefined();
    await paywall.close();
  });
});
