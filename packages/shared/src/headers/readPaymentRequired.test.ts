import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mutate, mutationArb, paymentRequiredV2Arb } from "../../test/arbitraries.js";
import { createNetworkRegistry } from "../networks/registry.js";
import { hybridPaymentRequiredSchema } from "../schemas/hybrid.js";
import { encodeHeaderJson } from "./base64Json.js";
import { requirementV2ToV1 } from "./convert.js";
import { readPaymentRequired } from "./readPaymentRequired.js";

const PAYEE = "0x1111111111111111111111111111111111111111";
const BASE_USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
const resource = {
  url: "https://api.example.com/v1/search",
  description: "Search",
  mimeType: "application/json",
};
const requirement = {
  scheme: "exact",
  network: "eip155:8453",
  amount: "10000",
  asset: BASE_USDC,
  payTo: PAYEE,
  maxTimeoutSeconds: 60,
  extra: { name: "USD Coin", version: "2" },
};
const v1Requirement = requirementV2ToV1(requirement, resource);

/** The hybrid 402 of DESIGN.md §1, as a Tollgate server sends it. */
const hybridBody = {
  x402Version: 1,
  error: "payment_required",
  accepts: [v1Requirement],
  payment_required: true,
  endpoint: "/v1/search",
  amount_usdc: "0.01",
  payment_options: [
    {
      provider: "PayAI Network",
      type: "facilitator",
      priority: 1,
      recommended: true,
      x402_standard: { x402Version: 1, accepts: [v1Requirement] },
    },
    {
      provider: "direct",
      type: "direct_transfer",
      priority: 2,
      recommended: false,
      networks: [
        {
          network: "eip155:8453",
          network_v1: "base",
          asset: BASE_USDC,
          payTo: PAYEE,
          amount: "10000",
          min_amount: "100000",
          confirmations: 1,
          max_age_seconds: 604800,
          binding_required: true,
        },
      ],
      headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
    },
    { provider: "direct", type: "prepaid_token", priority: 3, recommended: false, header: "X-PAYMENT-TOKEN" },
  ],
};

const v2Header = encodeHeaderJson({
  header: "PAYMENT-REQUIRED",
  value: { x402Version: 2, error: "payment_required", resource, accepts: [requirement] },
});

const headersOf = (entries: Record<string, string>) => new Headers(entries);

describe("readPaymentRequired", () => {
  it("reads the hybrid 402: one facilitator offer (v2 wins the duplicate), a direct and a token offer", () => {
    expect(hybridPaymentRequiredSchema.safeParse(hybridBody).success).toBe(true);
    const reading = readPaymentRequired({
      headers: headersOf({ "payment-required": v2Header }),
      body: hybridBody,
    });
    expect(reading.problems).toEqual([]);
    expect(reading.offers.map((o) => [o.lane, o.priority])).toEqual([
      ["facilitator", 1],
      ["direct", 2],
      ["token", 3],
    ]);
    const [facilitator, direct] = reading.offers;
    expect(facilitator).toMatchObject({
      x402Version: 2,
      network: "eip155:8453",
      networkV1: "base",
      amount: 10_000n,
      provider: "PayAI Network",
      source: "header",
      requirement,
    });
    expect(direct).toMatchObject({
      lane: "direct",
      amount: 10_000n,
      minAmount: 100_000n,
      bindingRequired: true,
    });
    expect(reading.error).toBe("payment_required");
  });

  it("reads a plain v1 body (x402-express 1.2.0 style) as v1 offers", () => {
    const reading = readPaymentRequired({
      headers: headersOf({}),
      body: { x402Version: 1, error: "X-PAYMENT header is required", accepts: [v1Requirement] },
    });
    expect(reading.offers).toHaveLength(1);
    expect(reading.offers[0]).toMatchObject({
      lane: "facilitator",
      x402Version: 1,
      network: "eip155:8453",
      source: "body",
    });
    expect(reading.resource?.url).toBe(resource.url);
  });

  it("reads a v2-only 402 (header, empty body)", () => {
    const reading = readPaymentRequired({ headers: headersOf({ "PAYMENT-REQUIRED": v2Header }), body: {} });
    expect(reading.offers).toHaveLength(1);
    expect(reading.offers[0]).toMatchObject({ x402Version: 2, amount: 10_000n });
  });

  it("keeps the good offers when one entry or one part is malformed, and lists each problem", () => {
    const body = {
      ...hybridBody,
      accepts: [{ ...v1Requirement, maxAmountRequired: "-5" }],
      payment_options: [...hybridBody.payment_options, { type: "future_lane", provider: "x", priority: 9 }],
    };
    const reading = readPaymentRequired({ headers: headersOf({ "PAYMENT-REQUIRED": "!!!" }), body });
    expect(reading.problems.some((p) => p.startsWith("header:"))).toBe(true);
    expect(reading.problems.some((p) => p.startsWith("body.accepts.0:"))).toBe(true);
    expect(reading.problems.some((p) => p.startsWith("payment_options.3:"))).toBe(true);
    // The x402_standard copy of the requirement still yields the facilitator offer.
    expect(reading.offers.map((o) => o.lane)).toEqual(["facilitator", "direct", "token"]);
    expect(reading.offers[0]).toMatchObject({ source: "payment_options", amount: 10_000n });
  });

  it("keeps an unknown network as sent, so the client can say why it cannot pay it", () => {
    const reading = readPaymentRequired({
      headers: headersOf({}),
      body: { x402Version: 1, accepts: [{ ...v1Requirement, network: "moonchain" }] },
    });
    expect(reading.offers[0]).toMatchObject({ network: "moonchain" });
    expect((reading.offers[0] as { networkV1?: string }).networkV1).toBeUndefined();
  });

  it("reports an unsupported version and an empty 402", () => {
    expect(
      readPaymentRequired({ headers: headersOf({}), body: { x402Version: 3, accepts: [] } }).problems,
    ).toEqual(["body: unsupported x402Version 3"]);
    expect(readPaymentRequired({ headers: headersOf({}), body: undefined })).toStrictEqual({
      offers: [],
      problems: [],
    });
  });

  it("never throws, and never yields a negative or non-bigint amount, for any hostile 402", () => {
    const hostileBody = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.tuple(fc.constant(hybridBody), mutationArb).map(([b, m]) => mutate(b, m.path, m.replacement)),
      fc.constant({ x402Version: 1, accepts: Array.from({ length: 10_000 }, () => v1Requirement) }),
      fc.constant({ x402Version: 1, accepts: "nope", payment_options: {} }),
    );
    const hostileHeader = fc.oneof(
      fc.string(),
      paymentRequiredV2Arb.map((v) => encodeHeaderJson({ header: "P", value: v })),
      fc
        .tuple(paymentRequiredV2Arb, mutationArb)
        .map(([v, m]) =>
          Buffer.from(JSON.stringify(mutate(v, m.path, m.replacement)) ?? "").toString("base64"),
        ),
      fc.constant("A".repeat(40_000)),
    );
    fc.assert(
      fc.property(hostileBody, fc.option(hostileHeader, { nil: undefined }), (body, header) => {
        const headers = headersOf(header === undefined ? {} : { "PAYMENT-REQUIRED": header });
        const reading = readPaymentRequired({ headers, body });
        for (const offer of reading.offers) {
          if (offer.lane === "token") continue;
          expect(typeof offer.amount).toBe("bigint");
          expect(offer.amount >= 0n).toBe(true);
        }
        expect(reading.offers.length).toBeLessThanOrEqual(64 * 3 + 16 * 64);
      }),
      { numRuns: 1500 },
    );
  });
});

describe("readPaymentRequired, offer by offer", () => {
  const header = (accepts: unknown[], extra: Record<string, unknown> = {}) =>
    encodeHeaderJson({
      header: "PAYMENT-REQUIRED",
      value: { x402Version: 2, error: "payment_required", resource, accepts, ...extra },
    });

  it("keeps every different facilitator offer of a 402, and one of each duplicate (case of addresses aside)", () => {
    const sepolia = {
      ...requirement,
      network: "eip155:84532",
      asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      extra: { name: "USDC", version: "2" },
    };
    const dearer = { ...requirement, amount: "20000" };
    const otherPayee = { ...requirement, payTo: "0x2222222222222222222222222222222222222222" };
    const upper = {
      ...requirement,
      asset: BASE_USDC.toUpperCase().replace("0X", "0x"),
      payTo: PAYEE.toUpperCase().replace("0X", "0x"),
    };
    const otherScheme = { ...requirement, scheme: "upto" };
    const reading = readPaymentRequired({
      headers: headersOf({
        "payment-required": header([requirement, sepolia, dearer, otherPayee, upper, otherScheme]),
      }),
      body: undefined,
    });
    expect(reading.problems).toEqual([]);
    expect(
      reading.offers.map((o) => (o.lane === "facilitator" ? [o.scheme, o.network, o.amount, o.payTo] : [])),
    ).toEqual([
      ["exact", "eip155:8453", 10_000n, PAYEE],
      ["exact", "eip155:84532", 10_000n, PAYEE],
      ["exact", "eip155:8453", 20_000n, PAYEE],
      ["exact", "eip155:8453", 10_000n, "0x2222222222222222222222222222222222222222"],
      ["upto", "eip155:8453", 10_000n, PAYEE],
    ]);
  });

  it("carries each requirement's extra (the EIP-712 domain the signature needs), or an empty one", () => {
    const { extra: _none, ...bare } = requirement;
    const v2 = readPaymentRequired({
      headers: headersOf({ "payment-required": header([requirement]) }),
      body: undefined,
    });
    expect(v2.offers[0]).toMatchObject({ extra: { name: "USD Coin", version: "2" } });
    const v2Bare = readPaymentRequired({
      headers: headersOf({ "payment-required": header([bare]) }),
      body: undefined,
    });
    expect((v2Bare.offers[0] as { extra?: unknown }).extra).toStrictEqual({});
    const v1 = readPaymentRequired({
      headers: headersOf({}),
      body: { x402Version: 1, accepts: [v1Requirement] },
    });
    expect(v1.offers[0]).toMatchObject({ extra: { name: "USD Coin", version: "2" } });
    const { extra: _v1none, ...v1Bare } = v1Requirement;
    const v1Plain = readPaymentRequired({
      headers: headersOf({}),
      body: { x402Version: 1, accepts: [v1Bare] },
    });
    expect((v1Plain.offers[0] as { extra?: unknown }).extra).toStrictEqual({});
  });

  it("reads a direct offer whole: its proof header names, limits, provider and priority", () => {
    const reading = readPaymentRequired({ headers: headersOf({}), body: hybridBody });
    const direct = reading.offers.find((o) => o.lane === "direct");
    expect(direct).toStrictEqual({
      lane: "direct",
      network: "eip155:8453",
      networkV1: "base",
      asset: BASE_USDC,
      payTo: PAYEE,
      amount: 10_000n,
      minAmount: 100_000n,
      confirmations: 1,
      maxAgeSeconds: 604800,
      bindingRequired: true,
      priority: 2,
      provider: "direct",
      headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
      option: hybridBody.payment_options[1]?.networks?.[0],
    });
    expect(reading.offers.find((o) => o.lane === "token")).toStrictEqual({
      lane: "token",
      header: "X-PAYMENT-TOKEN",
      priority: 3,
      provider: "direct",
    });
  });

  it("takes the facilitator lane's priority and provider from payment_options, for v2 offers too", () => {
    const body = {
      ...hybridBody,
      payment_options: [{ ...hybridBody.payment_options[0], priority: 4, provider: "Backup" }],
    };
    const reading = readPaymentRequired({ headers: headersOf({ "payment-required": v2Header }), body });
    expect(reading.offers.map((o) => [o.lane, o.priority, (o as { provider?: string }).provider])).toEqual([
      ["facilitator", 4, "Backup"],
    ]);
    const plain = readPaymentRequired({
      headers: headersOf({ "payment-required": v2Header }),
      body: undefined,
    });
    expect(plain.offers[0]?.priority).toBe(1);
    expect(plain.offers[0]).not.toHaveProperty("provider");
  });

  it("keeps the other entries of a v2 header when one is malformed, naming the bad one", () => {
    const reading = readPaymentRequired({
      headers: headersOf({ "payment-required": header([{ ...requirement, amount: "-1" }, requirement]) }),
      body: undefined,
    });
    expect(reading.offers).toHaveLength(1);
    expect(reading.offers[0]).toMatchObject({ amount: 10_000n, source: "header" });
    expect(reading.problems).toHaveLength(1);
    expect(reading.problems[0]).toMatch(/^header\.accepts\.0: amount: /);
  });

  it("reads a v2 402 sent as a JSON body: its offers, resource and error; the header's win when both come", () => {
    const v2Body = {
      x402Version: 2,
      error: "from_body",
      resource: { url: "https://body.example/r" },
      accepts: [requirement],
    };
    const bodyOnly = readPaymentRequired({ headers: headersOf({}), body: v2Body });
    expect(bodyOnly.problems).toEqual([]);
    expect(bodyOnly.offers).toHaveLength(1);
    expect(bodyOnly.offers[0]).toMatchObject({
      x402Version: 2,
      source: "body",
      resource: { url: "https://body.example/r" },
    });
    expect(bodyOnly.error).toBe("from_body");
    expect(bodyOnly.resource).toEqual({ url: "https://body.example/r" });

    const both = readPaymentRequired({ headers: headersOf({ "payment-required": v2Header }), body: v2Body });
    expect(both.error).toBe("payment_required");
    expect(both.resource).toEqual(resource);
    // The same offer in both: read once, from the header.
    expect(both.offers.map((o) => (o as { source?: string }).source)).toEqual(["header"]);

    const broken = readPaymentRequired({ headers: headersOf({}), body: { x402Version: 2, accepts: "nope" } });
    expect(broken.offers).toEqual([]);
    expect(broken.problems).toHaveLength(1);
    expect(broken.problems[0]).toMatch(/^body: /);
  });

  it("names an unsupported version as sent, quoted when it is not a number", () => {
    expect(
      readPaymentRequired({ headers: headersOf({}), body: { x402Version: "9\u0007", accepts: [] } }).problems,
    ).toEqual(['body: unsupported x402Version "9\\u0007"']);
    // Without a version the body is not a 402 of any kind this reader knows: nothing to report.
    expect(readPaymentRequired({ headers: headersOf({}), body: { accepts: [] } }).problems).toEqual([]);
  });

  it("reports at most three issues of a malformed part, each with its path or (root)", () => {
    const reading = readPaymentRequired({ headers: headersOf({}), body: { x402Version: 1, accepts: 5 } });
    expect(reading.problems).toHaveLength(1);
    expect(reading.problems[0]).toMatch(/^body: accepts: /);
    const many = readPaymentRequired({
      headers: headersOf({}),
      body: {
        x402Version: 1,
        accepts: [{ scheme: 1, network: 2, maxAmountRequired: 3, asset: 4, payTo: 5 }],
      },
    });
    expect(many.problems[0]?.split("; ")).toHaveLength(3);
    const root = readPaymentRequired({ headers: headersOf({}), body: { x402Version: 1, accepts: ["x"] } });
    expect(root.problems[0]).toMatch(/^body\.accepts\.0: \(root\): /);
  });

  it("names v1 offers' provider from payment_options, a bad x402_standard entry by its path, a header's decoding error", () => {
    const reading = readPaymentRequired({ headers: headersOf({}), body: hybridBody });
    expect(reading.offers[0]).toMatchObject({ x402Version: 1, provider: "PayAI Network", source: "body" });
    const plain = readPaymentRequired({
      headers: headersOf({}),
      body: { x402Version: 1, accepts: [v1Requirement] },
    });
    expect(plain.offers[0]).not.toHaveProperty("provider");
    const option = hybridBody.payment_options[0] as { x402_standard: { accepts: unknown[] } };
    const bad = readPaymentRequired({
      headers: headersOf({}),
      body: {
        ...hybridBody,
        accepts: [],
        payment_options: [{ ...option, x402_standard: { x402Version: 1, accepts: [{ scheme: "exact" }] } }],
      },
    });
    // The option's schema reads its requirements strictly: one bad entry costs the whole option, named by its path.
    expect(bad.problems).toEqual([expect.stringMatching(/^payment_options\.0: x402_standard\.accepts\.0\./)]);
    const header = readPaymentRequired({
      headers: headersOf({ "payment-required": "!!!" }),
      body: undefined,
    });
    expect(header.problems).toEqual([expect.stringMatching(/^header: .*PAYMENT-REQUIRED/i)]);
    expect(header.problems[0]).not.toContain("undefined");
  });

  it("gives a network it knows without a v1 name no networkV1", () => {
    const registry = createNetworkRegistry();
    registry.addFromSupported([{ x402Version: 2, network: "eip155:999999" }]);
    const reading = readPaymentRequired({
      headers: headersOf({ "payment-required": header([{ ...requirement, network: "eip155:999999" }]) }),
      body: undefined,
      registry,
    });
    expect(reading.offers[0]).toMatchObject({ network: "eip155:999999" });
    expect(reading.offers[0]).not.toHaveProperty("networkV1");
  });
});
