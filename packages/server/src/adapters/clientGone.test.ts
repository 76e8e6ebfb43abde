import { request as httpRequest } from "node:http";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  listenOnLoopback,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  serve,
  signPayment,
  startChain,
} from "../../test/fixtures.js";
import { createPaywall } from "../paywall.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { paywallMiddleware } from "./express.js";

/** Issue 21 item 13 where money moves: a client that leaves mid-handler is not charged (Express, anvil). */
let evm: TestEvmChain;
const closers: { close(): unknown }[] = [];
beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  for (const c of closers) await c.close();
  await closeAll();
  await evm?.stop();
});

describe("a client that closes its socket mid-handler (settlement after)", () => {
  it("is not charged on chain, and the same proof pays for the retry once", async () => {
    const facilitator = await serve(ourFacilitator(evm).fetch);
    const events: PaywallEvent[] = [];
    let gone: () => void = () => undefined;
    const seenGone = new Promise<void>((resolve) => {
      gone = resolve;
    });
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: facilitator.url }],
      settlementChecks: { "base-sepolia": false },
      onEvent: (event) => {
        events.push(event);
        // Either outcome ends the wait: not charged (499), or charged for a response nobody received.
        if ((event.type === "not_charged" && event.status === 499) || event.type === "paid") gone();
      },
    });
    closers.push(paywall);
    let entered: () => void = () => undefined;
    const handlerEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const app = express();
    app.use(paywallMiddleware({ paywall }));
    app.get("/paid", async (req, res) => {
      res.write("the paid ");
      if (req.headers["x-hold"] === "1") {
        entered();
        // A slow handler: it finishes only after its client has left.
        await new Promise<void>((resolve) => res.once("close", () => resolve()));
      }
      res.end("answer");
    });
    const url = `${(await listenOnLoopback(app)).url}/paid`;

    const requirement = paymentRequiredOf(await fetch(url)).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const payer = evmPayerAccounts[1];
    const header = await signPayment({ evm, payer, requirement });
    const before = await evm.balanceOf(payer.address);

    const abandoned = httpRequest(url, {
      headers: { "payment-signature": header, "x-hold": "1" },
      agent: false,
    });
    abandoned.on("error", () => undefined);
    abandoned.end();
    await handlerEntered;
    abandoned.destroy();
    await seenGone;
    expect(events.filter((e) => e.type === "paid")).toHaveLength(0);
    expect(await evm.balanceOf(payer.address)).toBe(before);

    const retried = await fetch(url, { headers: { "payment-signature": header } });
    expect(retried.status).toBe(200);
    expect(await retried.text()).toBe("the paid answer");
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
    expect(events.filter((e) => e.type === "paid")).toHaveLength(1);
  });

  it("with settlement before, is charged, and its Idempotency-Key retry gets the kept response without a second charge", async () => {
    const facilitator = await serve(ourFacilitator(evm).fetch);
    let settled: () => void = () => undefined;
    const seenSettled = new Promise<void>((resolve) => {
      settled = resolve;
    });
    let handlerRuns = 0;
    const paywall = createPaywall({
      routes: { "GET /before": { price: "$0.01", settlement: "before" } },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: facilitator.url }],
      settlementChecks: { "base-sepolia": false },
    });
    closers.push(paywall);
    let entered: () => void = () => undefined;
    const handlerEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const app = express();
    app.use(paywallMiddleware({ paywall }));
    app.get("/before", async (_req, res) => {
      handlerRuns++;
      res.write("the paid ");
      entered();
      await new Promise<void>((resolve) => res.once("close", () => resolve()));
      res.end("answer");
      settled();
    });
    const url = `${(await listenOnLoopback(app)).url}/before`;
    const requirement = paymentRequiredOf(await fetch(url)).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const payer = evmPayerAccounts[2];
    const header = await signPayment({ evm, payer, requirement });
    const before = await evm.balanceOf(payer.address);
    const headers = { "payment-signature": header, "idempotency-key": "order-7" };

    const abandoned = httpRequest(url, { headers, agent: false });
    abandoned.on("error", () => undefined);
    abandoned.end();
    await handlerEntered;
    abandoned.destroy();
    await seenSettled;
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);

    // The kept response may be written a moment after the handler ended: retry until it is there.
    let retried = await fetch(url, { headers });
    for (let i = 0; i < 20 && retried.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      retried = await fetch(url, { headers });
    }
    expect(retried.status).toBe(200);
    expect(await retried.text()).toBe("the paid answer");
    expect(handlerRuns).toBe(1);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });
});
