import { hybridPaymentRequiredSchema } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { ExactEvmScheme as ExactEvmClientScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import { createWalletClient, http } from "viem";
import { baseSepolia } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentRequirementsSchema } from "x402/types";
import { wrapFetchWithPayment as wrapFetchV1 } from "x402-fetch";
import {
  closeAll,
  hangingUrl,
  heldSettleFacilitator,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  receiptOf,
  refusingUrl,
  serve,
  signPayment,
  startChain,
  stubUrl,
} from "../test/fixtures.js";
import type { ServedFetch } from "./adapters/node.js";
import { createEvmDirectChain } from "./evm/evmDirectChain.js";
import { createEvmSettlementCheck } from "./evm/settlementCheck.js";
import type { Facilitator } from "./facilitator/createFacilitator.js";
import { type CreatePaywallParameters, createPaywall, type Paywall } from "./paywall.js";
import { createMemoryStore } from "./store/memory.js";
import type { FacilitatorOption } from "./verify/fallback/facilitators.js";
import { createFetchTransport } from "./verify/fallback/transport.js";
import type { PaywallEvent } from "./verify/laneContext.js";
import { tokenHash } from "./verify/prepaidTokens.js";

let evm: TestEvmChain;
let facilitator: Facilitator;
let facilitatorUrl: string;
const paywalls: Paywall[] = [];
const handlerCalls: string[] = [];

beforeAll(async () => {
  evm = await startChain();
  facilitator = ourFacilitator(evm);
  facilitatorUrl = (await serve(facilitator.fetch)).url;
});

afterAll(async () => {
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
  await evm?.stop();
});

const secret = { content: "the protected answer" };

async function app(
  parameters: Partial<CreatePaywallParameters> = {},
): Promise<{ url: string; paywall: Paywall; events: PaywallEvent[]; served: ServedFetch }> {
  const events: PaywallEvent[] = [];
  const paywall = createPaywall({
    routes: {
      "GET /paid": { price: "$0.01", description: "Paid thing" },
      "GET /fails": "$0.01",
      "GET /before": { price: "$0.01", settlement: "before" },
      "GET /items/:id": { price: (c) => (c.params.id === "big" ? "$0.05" : "$0.02") },
    },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    facilitators: [{ url: facilitatorUrl, name: "primary" }],
    onEvent: (event) => events.push(event),
    ...parameters,
  });
  paywalls.push(paywall);
  const served = await serve(
    paywall.fetch(async (request) => {
      const path = new URL(request.url).pathname;
      handlerCalls.push(path);
      if (path === "/fails") return Response.json({ error: "upstream broke", ...secret }, { status: 502 });
      if (path === "/before") {
        // Settled before the handler runs: the payee already holds the money here.
        return Response.json({ ...secret, payeeBalance: (await evm.balanceOf(payee)).toString() });
      }
      return Response.json(secret);
    }),
  );
  return { url: served.url, paywall, events, served };
}

/** Gets the 402 of `url` and signs a v2 payment for its first requirement. */
async function proofFor(url: string, payer = evmPayerAccounts[0]) {
  const first = await fetch(url);
  expect(first.status).toBe(402);
  const required = paymentRequiredOf(first);
  const requirement = required.accepts[0];
  if (requirement === undefined) throw new Error("no requirement");
  return { header: await signPayment({ evm, payer, requirement, resource: required.resource }), requirement };
}

describe("the hybrid 402", () => {
  it("passes unpriced routes through untouched", async () => {
    const { url, events } = await app();
    const response = await fetch(`${url}/free`, { headers: { "payment-signature": "garbage" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(secret);
    expect(events).toEqual([]);
  });

  it("answers a v2 header that @x402/core reads and a v1 body that x402 1.2.0 parses, with every lane", async () => {
    const { url } = await app();
    const response = await fetch(`${url}/paid?q=1`);
    expect(response.status).toBe(402);
    const header = decodePaymentRequiredHeader(response.headers.get("payment-required") ?? "");
    expect(header).toMatchObject({
      x402Version: 2,
      error: "payment_required",
      resource: { url: `${url}/paid?q=1`, description: "Paid thing", mimeType: "application/json" },
      accepts: [
        {
          scheme: "exact",
          network: "eip155:84532",
          amount: "10000",
          asset: evm.token,
          payTo: payee,
          maxTimeoutSeconds: 60,
          extra: { name: "USDC", version: "2" },
        },
      ],
    });
    const body = (await response.json()) as Record<string, unknown>;
    const hybrid = hybridPaymentRequiredSchema.parse(body);
    // The golden check: x402-fetch 1.2.0 parses every `accepts` entry with this schema.
    for (const entry of hybrid.accepts) expect(() => PaymentRequirementsSchema.parse(entry)).not.toThrow();
    expect(hybrid).toMatchObject({
      x402Version: 1,
      error: "payment_required",
      accepts: [{ network: "base-sepolia", maxAmountRequired: "10000", resource: `${url}/paid?q=1` }],
      payment_required: true,
      endpoint: "/paid",
      amount_usdc: "0.01",
    });
    expect(hybrid.payment_options?.map((o) => o.type)).toEqual(["facilitator", "prepaid_token"]);
  });

  it("prices by a function of the request", async () => {
    const { url } = await app();
    expect(paymentRequiredOf(await fetch(`${url}/items/big`)).accepts[0]?.amount).toBe("50000");
    expect(paymentRequiredOf(await fetch(`${url}/items/small`)).accepts[0]?.amount).toBe("20000");
  });

  it("has no header and an empty accepts with the facilitator lane off", async () => {
    const { url } = await app({ lanes: { facilitator: false } });
    const response = await fetch(`${url}/paid`);
    expect(response.status).toBe(402);
    expect(response.headers.get("payment-required")).toBeNull();
    const body = hybridPaymentRequiredSchema.parse(await response.json());
    expect(body.accepts).toEqual([]);
    expect(body.payment_options?.map((o) => o.type)).toEqual(["prepaid_token"]);
  });

  it("refuses proofs of two lanes at once with 400 multiple_payment_proofs", async () => {
    const { url } = await app();
    const { header } = await proofFor(`${url}/paid`);
    const response = await fetch(`${url}/paid`, {
      headers: { "payment-signature": header, "x-payment-token": "a".repeat(43) },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe("multiple_payment_proofs");
  });
});

describe("a request whose readings reach different priced routes", () => {
  it("is refused 400 ambiguous_route, not priced by the cheaper route (method-override header)", async () => {
    const store = createMemoryStore();
    const events: PaywallEvent[] = [];
    const paywall = createPaywall({
      // A natural configuration: reading is cheap, the expensive operation shares the path.
      routes: { "GET /v1/report": "$0.01", "POST /v1/report": "$5" },
      store,
      onEvent: (e) => events.push(e),
    });
    const served = paywall.fetch((request) =>
      // A plain Web handler with no method-override support: it runs by the real method.
      request.method === "POST"
        ? Response.json({ content: "the $5 report" })
        : Response.json({ content: "the $0.01 summary" }),
    );
    // A token worth one cheap request only.
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const response = await served(
      new Request("http://api.test/v1/report", {
        method: "POST",
        headers: { "x-payment-token": token, "x-http-method-override": "GET" },
      }),
    );
    const body = (await response.json()) as { content?: string; error?: string };
    expect({ status: response.status, content: body.content }).not.toEqual({
      status: 200,
      content: "the $5 report",
    });
    expect({ status: response.status, error: body.error }).toEqual({ status: 400, error: "ambiguous_route" });
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(10_000n);
    expect(events).toContainEqual(expect.objectContaining({ type: "refused", reason: "ambiguous_route" }));

    // The unambiguous requests are priced as before: HEAD on the GET route, each method on its own.
    const head = await served(new Request("http://api.test/v1/report", { method: "HEAD" }));
    expect(head.status).toBe(402);
    const post = await served(new Request("http://api.test/v1/report", { method: "POST" }));
    expect(post.status).toBe(402);
    expect(((await post.json()) as { amount_usdc: string }).amount_usdc).toBe("5");
  });
});

describe("reference clients pay the paywall unchanged", () => {
  it("@x402/fetch 2.27.0 pays with PAYMENT-SIGNATURE and gets PAYMENT-RESPONSE", async () => {
    const { url } = await app();
    const payer = evmPayerAccounts[0];
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(payee) };
    const payingFetch = wrapFetchWithPaymentFromConfig(fetch, {
      schemes: [{ network: "eip155:84532", client: new ExactEvmClientScheme(payer) }],
    });
    const response = await payingFetch(`${url}/paid`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(secret);
    expect(receiptOf(response)).toMatchObject({
      success: true,
      network: "eip155:84532",
      payer: payer.address,
    });
    expect(response.headers.get("x-payment-response")).toBeNull();
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 10_000n);
    expect(await evm.balanceOf(payee)).toBe(before.payee + 10_000n);
  });

  it("x402-fetch 1.2.0 pays with X-PAYMENT and gets X-PAYMENT-RESPONSE", async () => {
    const { url } = await app();
    const payer = evmPayerAccounts[1];
    const wallet = createWalletClient({ account: payer, chain: baseSepolia, transport: http(evm.rpcUrl) });
    const payingFetch = wrapFetchV1(fetch, wallet as unknown as Parameters<typeof wrapFetchV1>[1]);
    const before = await evm.balanceOf(payer.address);
    const response = await payingFetch(`${url}/items/small`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(secret);
    expect(receiptOf(response, "x-payment-response")).toMatchObject({
      success: true,
      network: "base-sepolia",
    });
    expect(response.headers.get("payment-response")).toBeNull();
    expect(await evm.balanceOf(payer.address)).toBe(before - 20_000n);
  });
});

describe("settlement timing", () => {
  it("never charges for a handler answer of 400 or more, and the proof stays usable", async () => {
    const { url, events } = await app({
      routes: { "GET /fails": "$0.01", "GET /paid": "$0.01" },
    });
    const payer = evmPayerAccounts[2];
    const before = await evm.balanceOf(payer.address);
    const { header } = await proofFor(`${url}/fails`, payer);
    const failed = await fetch(`${url}/fails`, { headers: { "payment-signature": header } });
    expect(failed.status).toBe(502);
    expect(failed.headers.get("payment-response")).toBeNull();
    expect(await evm.balanceOf(payer.address)).toBe(before);
    expect(events.some((e) => e.type === "not_charged")).toBe(true);
    // The claim was released: the same unspent authorization pays a retry.
    const retried = await fetch(`${url}/fails`, { headers: { "payment-signature": header } });
    expect(retried.status).toBe(502);
    expect(await evm.balanceOf(payer.address)).toBe(before);
  });

  it("settles before the handler with settlement: before", async () => {
    const { url } = await app();
    const payeeBefore = await evm.balanceOf(payee);
    const { header } = await proofFor(`${url}/before`);
    const response = await fetch(`${url}/before`, { headers: { "payment-signature": header } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { payeeBalance: string };
    expect(BigInt(body.payeeBalance)).toBe(payeeBefore + 10_000n);
    expect(receiptOf(response)).toMatchObject({ success: true });
  });

  /** A facilitator that verifies but answers every /settle with `refusal`. */
  const refusingToSettle = (refusal: Readonly<{ errorReason: string; transaction: string }>) =>
    serve(async (request) => {
      const path = new URL(request.url).pathname;
      const body = (await request.json().catch(() => undefined)) as unknown;
      if (path.endsWith("/verify")) return Response.json((await facilitator.verify(body)).body);
      return Response.json({ success: false, network: "", ...refusal });
    });

  it("discards the body and answers 402 when the settlement is refused", async () => {
    const served = await refusingToSettle({
      errorReason: "invalid_exact_evm_insufficient_balance",
      transaction: "",
    });
    const { url } = await app({ facilitators: [{ url: served.url }] });
    const { header } = await proofFor(`${url}/paid`);
    const response = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
    expect(response.status).toBe(402);
    const text = await response.text();
    expect(text).not.toContain(secret.content);
    expect(JSON.parse(text).error).toBe("settlement_failed");
    expect(receiptOf(response)).toMatchObject({
      success: false,
      errorReason: "invalid_exact_evm_insufficient_balance",
    });
  });

  it("answers settlement_pending, not settlement_failed, to a refusal that leaves open whether money moved", async () => {
    for (const refusal of [
      { errorReason: "unexpected_settle_error", transaction: "" },
      { errorReason: "some_new_timeout_reason", transaction: `0x${"cd".repeat(32)}` },
    ]) {
      const served = await refusingToSettle(refusal);
      const { url } = await app({ facilitators: [{ url: served.url }] });
      const { header } = await proofFor(`${url}/paid`);
      const response = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
      expect(response.status, refusal.errorReason).toBe(402);
      const text = await response.text();
      expect(text).not.toContain(secret.content);
      expect(JSON.parse(text).error, refusal.errorReason).toBe("settlement_pending");
      expect(response.headers.get("retry-after")).not.toBeNull();
    }
  });
});

describe("facilitator failover", () => {
  const broken: [string, () => Promise<string>][] = [
    ["refusing connections", refusingUrl],
    ["timing out", hangingUrl],
    ["answering 500", () => stubUrl(500, "<html>Internal Server Error</html>")],
    ["answering garbage", () => stubUrl(200, "{not json")],
    ["answering 503 JSON", () => stubUrl(503, { error: "overloaded" })],
    ["answering 429", () => stubUrl(429, { error: "rate_limited" })],
  ];

  for (const [kind, start] of broken) {
    it(`fails over from a primary ${kind} to the second facilitator`, async () => {
      const primary: FacilitatorOption = {
        url: await start(),
        name: "broken",
        verifyTimeoutMs: 300,
        settleTimeoutMs: 300,
      };
      const { url, events } = await app({ facilitators: [primary, { url: facilitatorUrl, name: "second" }] });
      const { header } = await proofFor(`${url}/paid`);
      const response = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(secret);
      const calls = events.flatMap((e) =>
        e.type === "facilitator_call" && e.endpoint !== "supported"
          ? [`${e.facilitator}:${e.endpoint}:${e.outcome}`]
          : [],
      );
      expect(calls).toEqual([
        "broken:verify:unavailable",
        "second:verify:answer",
        "broken:settle:unavailable",
        "second:settle:answer",
      ]);
      expect(events.find((e) => e.type === "paid")).toMatchObject({
        lane: "facilitator",
        facilitator: "second",
      });
    });
  }

  it("settles itself as the last resort, then answers facilitator_unavailable when nothing answers", async () => {
    const broken = [
      { url: await refusingUrl(), name: "a" },
      { url: await stubUrl(500, "oops"), name: "b" },
    ];
    const self = await app({ facilitators: broken, selfSettle: ourFacilitator(evm) });
    const paid = await proofFor(`${self.url}/paid`);
    const response = await fetch(`${self.url}/paid`, { headers: { "payment-signature": paid.header } });
    expect(response.status).toBe(200);
    expect(self.events.find((e) => e.type === "paid")).toMatchObject({ facilitator: "self" });

    const none = await app({ facilitators: broken, transport: createFetchTransport() });
    const { header } = await proofFor(`${none.url}/paid`);
    const refused = await fetch(`${none.url}/paid`, { headers: { "payment-signature": header } });
    expect(refused.status).toBe(402);
    expect(refused.headers.get("retry-after")).toBe("10");
    const body = hybridPaymentRequiredSchema.parse(await refused.json());
    expect(body.error).toBe("facilitator_unavailable");
    expect(body.payment_options?.some((o) => o.type === "prepaid_token")).toBe(true);
    // The proof is dead: never sent to /settle, and never will be.
    const again = await fetch(`${none.url}/paid`, { headers: { "payment-signature": header } });
    expect(((await again.json()) as { error: string }).error).toBe("facilitator_unavailable");
  });

  it("never fails over after a definitive refusal, whatever its status", async () => {
    const calls: string[] = [];
    const refusing = await stubUrl(500, { isValid: false, invalidReason: "insufficient_funds" });
    const second = await stubUrl(200, { isValid: true }, calls);
    const { url } = await app({ facilitators: [{ url: refusing }, { url: second }] });
    const { header } = await proofFor(`${url}/paid`);
    const response = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
    expect(response.status).toBe(402);
    expect(((await response.json()) as { error: string }).error).toBe("insufficient_funds");
    expect(calls.filter((c) => c !== "/supported")).toEqual([]);
  });

  it("fails over to the direct lane only when refused facilitator_unavailable; reports a lost /settle pending once", async () => {
    const direct = {
      networks: [{ chain: createEvmDirectChain({ publicClient: evm.publicClient }), payTo: payee }],
    };
    const failovers = (events: PaywallEvent[]) =>
      events.flatMap((e) => (e.type === "failed_over" ? [`${e.from}->${e.to}`] : []));
    // Nothing answers /verify: the proof is dead and the direct lane is the way left.
    const none = await app({ facilitators: [{ url: await refusingUrl(), name: "gone" }], direct });
    const dead = await proofFor(`${none.url}/paid`);
    const refused = await fetch(`${none.url}/paid`, { headers: { "payment-signature": dead.header } });
    expect(((await refused.json()) as { error: string }).error).toBe("facilitator_unavailable");
    expect(failovers(none.events)).toEqual(["gone->direct"]);
    // Every /settle answer lost: the money may have moved, the client presents the same proof again.
    const lost = await serve((request) =>
      new URL(request.url).pathname.endsWith("/settle")
        ? Response.json({ error: "bad_gateway" }, { status: 502 })
        : facilitator.fetch(request),
    );
    const pending = await app({ facilitators: [{ url: lost.url, name: "lost" }], direct });
    const { header } = await proofFor(`${pending.url}/paid`, evmPayerAccounts[2]);
    const answer = await fetch(`${pending.url}/paid`, { headers: { "payment-signature": header } });
    expect(((await answer.json()) as { error: string }).error).toBe("settlement_pending");
    // Presented again while still unknown: refused again, and still one payment pending.
    const again = await fetch(`${pending.url}/paid`, { headers: { "payment-signature": header } });
    expect(((await again.json()) as { error: string }).error).toBe("settlement_pending");
    expect(pending.events.filter((e) => e.type === "settlement_pending")).toHaveLength(1);
    expect(
      pending.events.filter((e) => e.type === "refused" && e.reason === "settlement_pending"),
    ).toHaveLength(2);
    expect(failovers(pending.events)).toEqual([]);
  });

  it("answers settlement_pending after a /settle timed out, then serves the retry once the chain has it", async () => {
    const proxy = await heldSettleFacilitator(facilitator);
    const { url } = await app({
      facilitators: [{ url: proxy.url, settleTimeoutMs: 200 }],
      settlementChecks: { "eip155:84532": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
    });
    const payer = evmPayerAccounts[3];
    const before = await evm.balanceOf(payer.address);
    const { header } = await proofFor(`${url}/paid`, payer);
    const pending = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
    expect(pending.status).toBe(402);
    expect(pending.headers.get("retry-after")).toBe("5");
    expect(((await pending.json()) as { error: string }).error).toBe("settlement_pending");

    await proxy.release();
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
    const retried = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual(secret);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });
});

describe("replay and idempotency", () => {
  it("serves exactly one of 200 concurrent requests presenting one proof", async () => {
    const { url } = await app();
    const payer = evmPayerAccounts[0];
    const before = await evm.balanceOf(payer.address);
    const { header } = await proofFor(`${url}/paid`, payer);
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => fetch(`${url}/paid`, { headers: { "payment-signature": header } })),
    );
    const bodies = await Promise.all(
      responses.map(async (r) => ({ status: r.status, text: await r.text() })),
    );
    const served = bodies.filter((b) => b.status === 200);
    expect(served).toHaveLength(1);
    expect(served[0]?.text).toContain(secret.content);
    const refused = bodies.filter((b) => b.status === 402);
    expect(refused).toHaveLength(199);
    for (const r of refused) expect(JSON.parse(r.text).error).toBe("replayed_payment");
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });

  it("answers a retry with the same Idempotency-Key and proof from the stored response; another proof gets 409", async () => {
    const { url } = await app();
    const payer = evmPayerAccounts[1];
    const before = await evm.balanceOf(payer.address);
    const { header, requirement } = await proofFor(`${url}/paid`, payer);
    const headers = { "payment-signature": header, "idempotency-key": "order-42" };
    const first = await fetch(`${url}/paid`, { headers });
    expect(first.status).toBe(200);
    const firstReceipt = first.headers.get("payment-response");
    const calls = handlerCalls.length;
    const again = await fetch(`${url}/paid`, { headers });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(secret);
    expect(again.headers.get("payment-response")).toBe(firstReceipt);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(handlerCalls.length).toBe(calls);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);

    const other = await signPayment({ evm, payer, requirement });
    const conflict = await fetch(`${url}/paid`, {
      headers: { "payment-signature": other, "idempotency-key": "order-42" },
    });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: string }).error).toBe("idempotency_key_conflict");
    // Without the key, the spent proof is a replay.
    const replay = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
    expect(((await replay.json()) as { error: string }).error).toBe("replayed_payment");
  });

  it("refuses locally, before any facilitator call, a proof that does not match the route", async () => {
    const calls: string[] = [];
    const stub = await stubUrl(200, { isValid: true }, calls);
    const { url } = await app({ facilitators: [{ url: stub }], store: createMemoryStore() });
    const required = paymentRequiredOf(await fetch(`${url}/paid`));
    const requirement = required.accepts[0];
    if (!requirement) throw new Error("no requirement");
    const cases: [string, string][] = [
      [
        "no_matching_requirements",
        await signPayment({ evm, payer: evmPayerAccounts[0], requirement: { ...requirement, amount: "1" } }),
      ],
      [
        "invalid_exact_evm_payload_authorization_value_mismatch",
        await signPayment({ evm, payer: evmPayerAccounts[0], requirement, value: 1n }),
      ],
      [
        "invalid_exact_evm_payload_authorization_valid_before",
        await signPayment({ evm, payer: evmPayerAccounts[0], requirement, validBefore: 1n }),
      ],
      ["malformed_payment", "not base64!"],
    ];
    for (const [reason, header] of cases) {
      const response = await fetch(`${url}/paid`, { headers: { "payment-signature": header } });
      expect(response.status).toBe(402);
      expect(((await response.json()) as { error: string }).error).toBe(reason);
    }
    expect(calls.filter((c) => c !== "/supported")).toEqual([]);
  });
});
