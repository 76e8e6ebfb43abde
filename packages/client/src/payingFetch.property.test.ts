import { decodeHeaderJson, isTollgateError } from "@tollgate/shared";
import fc from "fast-check";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { baseSepoliaUsdc, payee } from "../test/paidApi.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createPayingFetch } from "./payingFetch.js";

const wallet = createEvmWallet({ account: privateKeyToAccount(`0x${"22".repeat(32)}`) });

const amount = fc.oneof(
  fc.bigInt({ min: 0n, max: 200_000n }).map(String),
  fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(String),
  fc.constantFrom("-1", "1e6", "0x10", "", "01", "100000.5", " 100"),
  fc.integer().map((n) => n as unknown as string),
);
const network = fc.constantFrom(
  "eip155:84532",
  "eip155:8453",
  "base-sepolia",
  "eip155:0",
  "eip155:99999999999999999999",
  "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
  "cosmos:hub",
  "",
);
const address = fc.oneof(
  fc.constant(baseSepoliaUsdc),
  fc.constant(payee),
  fc.stringMatching(/^0x[0-9a-f]{40}$/),
  fc.string({ maxLength: 50 }),
);
const anyJson = fc.jsonValue({ maxDepth: 4 });

const validRequirementV2 = fc.record({
  scheme: fc.constant("exact"),
  network: fc.constant("eip155:84532"),
  amount: fc.bigInt({ min: 0n, max: 200_000n }).map(String),
  asset: fc.constant(baseSepoliaUsdc),
  payTo: fc.oneof(fc.constant(payee), fc.stringMatching(/^0x[0-9a-f]{40}$/)),
  maxTimeoutSeconds: fc.integer({ min: 1, max: 600 }),
  extra: fc.constant({ name: "USDC", version: "2" }),
});
const validRequirementV1 = validRequirementV2.map(({ amount, network: _n, ...rest }) => ({
  ...rest,
  network: "base-sepolia",
  maxAmountRequired: amount,
  resource: "http://127.0.0.1:9/paid",
  description: "",
  mimeType: "application/json",
}));

const randomRequirementV2 = fc.record(
  {
    scheme: fc.oneof(fc.constant("exact"), fc.string({ maxLength: 10 })),
    network,
    amount,
    asset: address,
    payTo: address,
    maxTimeoutSeconds: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constant(-1), fc.double()),
    extra: fc.oneof(
      fc.constant({ name: "USDC", version: "2" }),
      fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 }),
      anyJson,
    ),
  },
  { requiredKeys: [] },
);
const requirementV2 = fc.oneof(
  { weight: 3, arbitrary: validRequirementV2 },
  { weight: 2, arbitrary: randomRequirementV2 },
);
const randomRequirementV1 = fc.record(
  {
    scheme: fc.constant("exact"),
    network: fc.oneof(fc.constant("base-sepolia"), network),
    maxAmountRequired: amount,
    resource: fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 })),
    description: fc.string({ maxLength: 20 }),
    mimeType: fc.constant("application/json"),
    payTo: address,
    maxTimeoutSeconds: fc.integer({ min: 0, max: 600 }),
    asset: address,
    extra: fc.oneof(fc.constant({ name: "USDC", version: "2" }), anyJson),
  },
  { requiredKeys: [] },
);

const requirementV1 = fc.oneof(
  { weight: 3, arbitrary: validRequirementV1 },
  { weight: 2, arbitrary: randomRequirementV1 },
);

const nested = fc
  .integer({ min: 1, max: 200_000 })
  .map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`);

const ascii = (text: string) => text.replace(/[^\x20-\x7e]/g, "?");

/** A 402 as bytes on the wire: an optional `PAYMENT-REQUIRED` value and a body text. */
const paymentRequired = fc.record({
  header: fc.oneof(
    fc.constant(undefined),
    {
      weight: 6,
      arbitrary: fc
        .record({
          x402Version: fc.oneof({ weight: 4, arbitrary: fc.constant(2) }, anyJson),
          resource: fc.oneof({ weight: 4, arbitrary: fc.record({ url: fc.webUrl() }) }, anyJson),
          accepts: fc.oneof(
            {
              weight: 4,
              arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: requirementV2 }, anyJson), {
                maxLength: 6,
              }),
            },
            anyJson,
          ),
        })
        .map((value) => btoa(ascii(JSON.stringify(value)))),
    },
    fc.string({ maxLength: 200 }).map(ascii),
    fc.constant(`${"QUFB".repeat(6000)}`),
    fc.string({ maxLength: 100 }).map((s) => btoa(ascii(s))),
  ),
  body: fc.oneof(
    fc.constant(""),
    anyJson.map((v) => JSON.stringify(v)),
    {
      weight: 4,
      arbitrary: fc
        .record({
          x402Version: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, anyJson),
          error: fc.string({ maxLength: 10 }),
          accepts: fc.oneof(
            {
              weight: 4,
              arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: requirementV1 }, anyJson), {
                maxLength: 6,
              }),
            },
            anyJson,
          ),
          payment_options: fc.oneof(fc.constant(undefined), fc.array(anyJson, { maxLength: 3 })),
        })
        .map((v) => JSON.stringify(v)),
    },
    nested,
    fc.constant("x".repeat(300 * 1024)),
    fc.string({ maxLength: 100 }),
  ),
  paidStatus: fc.constantFrom(200, 402, 500),
});

describe("any 402 yields a payment within the limit or a typed error", () => {
  it("never hangs, crashes, or pays above the maximum", async () => {
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    await fc.assert(
      fc.asyncProperty(paymentRequired, fc.bigInt({ min: 0n, max: 150_000n }), async (case402, max) => {
        const paid: bigint[] = [];
        const fakeFetch: typeof fetch = async (_input, init) => {
          const headers = new Headers(init?.headers);
          const proof = headers.get("payment-signature") ?? headers.get("x-payment");
          if (proof !== null) {
            const decoded = decodeHeaderJson({ header: "proof", value: proof }) as {
              payload: { authorization: { value: string } };
            };
            paid.push(BigInt(decoded.payload.authorization.value));
            return new Response("paid", { status: case402.paidStatus });
          }
          const responseHeaders = new Headers();
          if (case402.header !== undefined) responseHeaders.set("PAYMENT-REQUIRED", case402.header);
          return new Response(case402.body, { status: 402, headers: responseHeaders });
        };
        const payingFetch = createPayingFetch({
          wallets: [wallet],
          fetch: fakeFetch,
          policy: { maxPerRequest: max },
        });
        const outcome = await payingFetch("http://127.0.0.1:9/paid").then(
          (response) => ({ response }),
          (error: unknown) => ({ error }),
        );
        if ("error" in outcome) {
          expect(isTollgateError(outcome.error), String(outcome.error)).toBe(true);
          count(isTollgateError(outcome.error) ? outcome.error.code : "other");
        } else {
          count(`paid ${outcome.response.status}`);
          expect(paid).toHaveLength(1);
        }
        expect(paid.length).toBeLessThanOrEqual(1);
        for (const value of paid) expect(value).toBeLessThanOrEqual(max);
      }),
      { numRuns: 400, seed: 402 },
    );
    // The generators reach every branch: payments, refusals, limits and unreadable 402s.
    expect(outcomes.get("paid 200") ?? 0).toBeGreaterThan(0);
    expect(outcomes.get("CLIENT__PAYMENT_REFUSED") ?? 0).toBeGreaterThan(0);
    expect(outcomes.get("CLIENT__AMOUNT_EXCEEDS_MAX") ?? 0).toBeGreaterThan(0);
    expect(outcomes.get("WIRE__NO_PAYMENT_REQUIRED") ?? 0).toBeGreaterThan(0);
  });
});
