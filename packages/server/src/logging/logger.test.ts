import { Writable } from "node:stream";
import type { Logger } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  refusingUrl,
  serve,
  signPayment,
  startChain,
} from "../../test/fixtures.js";
import { createPaywall, type Paywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";

let evm: TestEvmChain;
const paywalls: Paywall[] = [];

beforeAll(async () => {
  evm = await startChain();
});

afterAll(async () => {
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
  await evm?.stop();
});

/** A real pino logger at `debug`, writing JSON lines into an array. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

describe("the logger option", () => {
  it("logs a paywall's and a facilitator's payments, failovers and replays in pino lines that hold no secret", async () => {
    const paywallLog = capture();
    const facilitatorLog = capture();
    // Our facilitator, logging every call it answers.
    const facilitator = ourFacilitator(evm, { logger: facilitatorLog.logger });
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      settlementChecks: { "base-sepolia": false },
      facilitators: [
        { url: await refusingUrl(), name: "down" },
        { url: (await serve(facilitator.fetch)).url, name: "primary" },
      ],
      logger: paywallLog.logger,
    });
    paywalls.push(paywall);
    const app = await serve(paywall.fetch(async () => Response.json({ content: "paid" })));
    const url = `${app.url}/paid`;

    const first = await fetch(url);
    expect(first.status).toBe(402);
    const required = paymentRequiredOf(first);
    const requirement = required.accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const proof = await signPayment({
      evm,
      payer: evmPayerAccounts[0],
      requirement,
      resource: required.resource,
    });
    const paid = await fetch(url, { headers: { "payment-signature": proof } });
    expect(paid.status).toBe(200);
    const replay = await fetch(url, { headers: { "payment-signature": proof } });
    expect(replay.status).toBe(402);
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const spent = await fetch(url, { headers: { "x-payment-token": token } });
    expect(spent.status).toBe(200);
    await paywall.analytics.flush();

    const lines = paywallLog.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const messages = lines.map((l) => `${l.level} ${l.msg}`);
    expect(messages).toContain("30 paywall payment_required");
    expect(messages).toContain("40 paywall failed_over");
    expect(messages).toContain("40 paywall refused");
    expect(messages).toContain("20 paywall proof_received");
    expect(lines.filter((l) => l.msg === "paywall paid").map((l) => [l.lane, l.amount])).toEqual([
      ["facilitator", "10000"],
      ["token", "10000"],
    ]);
    const all = paywallLog.lines.join("\n");
    // The proof, its signature and the token appear in no line.
    const decoded = Buffer.from(proof, "base64").toString("utf8");
    const signature = (JSON.parse(decoded) as { payload: { signature: string } }).payload.signature;
    expect(all).not.toContain(proof);
    expect(all).not.toContain(signature);
    expect(all).not.toContain(signature.slice(2, 42));
    expect(all).not.toContain(token);

    const facilitatorLines = facilitatorLog.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(facilitatorLines.map((l) => `${l.level} ${l.msg} ${l.ok}`)).toEqual(
      expect.arrayContaining(["30 facilitator verify true", "30 facilitator settle true"]),
    );
    const facilitatorAll = facilitatorLog.lines.join("\n");
    expect(facilitatorAll).not.toContain(signature);
    expect(facilitatorAll).not.toContain(proof);
  });

  it("logs an internal failure as an error line without the credentials its message carried", async () => {
    const { logger, lines } = capture();
    const store = createMemoryStore();
    const failing = {
      ...store,
      recordBatch: async () => {
        throw new Error(
          "connect ECONNREFUSED postgres://tollgate:hunter2-password@db.internal:5432/payments",
        );
      },
    };
    const paywall = createPaywall({ routes: { "GET /paid": "$0.01" }, store: failing, logger });
    paywalls.push(paywall);
    const app = paywall.fetch(() => new Response("paid"));
    expect((await app(new Request("http://api.test/paid"))).status).toBe(402);
    await paywall.analytics.flush();
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 50);
    expect(errors).toEqual([
      expect.objectContaining({
        msg: "paywall error",
        where: "store.record",
        error: expect.objectContaining({ message: expect.stringContaining("db.internal:5432") }),
      }),
    ]);
    expect(lines.join("\n")).not.toContain("hunter2");
  });
});
