import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from "node:crypto";
import { isTollgateError } from "@tollgate/shared";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  acceptingFacilitator,
  closeAll,
  payee,
  paymentRequiredOf,
  unsignedPayment,
} from "../../test/fixtures.js";
import { createPaywall } from "../paywall.js";
import { createFetchTransport } from "../verify/fallback/transport.js";
import { payaiFacilitator, payaiFacilitatorUrl } from "./payai.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const apiKeySecret = `payai_sk_${privateKey.export({ format: "der", type: "pkcs8" }).toString("base64")}`;
const apiKeyId = "key_test_123";
const solanaPayee = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
const feePayer = "2wKupLR9q6wXYppw8Gr2NvWxKBUqm4PPJKkQfoxHDBg4";

type Seen = { path: string; authorization: string | null };
let seen: Seen[] = [];
let supportedKinds: unknown[] = [];

/** PayAI's documented answers; every call must carry a valid merchant JWT. */
const mswServer = setupServer(
  http.get(`${payaiFacilitatorUrl}/supported`, ({ request }) => {
    seen.push({ path: "/supported", authorization: request.headers.get("authorization") });
    return HttpResponse.json({ kinds: supportedKinds, extensions: [], signers: { "solana:*": [feePayer] } });
  }),
  http.post(`${payaiFacilitatorUrl}/verify`, async ({ request }) => {
    seen.push({ path: "/verify", authorization: request.headers.get("authorization") });
    const body = (await request.json()) as {
      paymentPayload: { payload: { authorization: { from: string } } };
    };
    return HttpResponse.json({ isValid: true, payer: body.paymentPayload.payload.authorization.from });
  }),
  http.post(`${payaiFacilitatorUrl}/settle`, async ({ request }) => {
    seen.push({ path: "/settle", authorization: request.headers.get("authorization") });
    return HttpResponse.json({
      success: true,
      transaction: `0x${"ef".repeat(32)}`,
      network: "eip155:84532",
      payer: "0x1111111111111111111111111111111111111111",
    });
  }),
);

beforeAll(() => {
  mswServer.listen({
    onUnhandledRequest(request) {
      const { hostname } = new URL(request.url);
      if (hostname === "127.0.0.1" || hostname === "localhost") return;
      throw new Error(`unexpected request to ${request.url}`);
    },
  });
});
afterEach(() => {
  seen = [];
});
afterAll(async () => {
  mswServer.close();
  await closeAll();
});

function decodeJwt(authorization: string | null, key: KeyObject) {
  expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  const token = (authorization ?? "").slice("Bearer ".length);
  const [header = "", claims = "", signature = ""] = token.split(".");
  const valid = verify(null, Buffer.from(`${header}.${claims}`), key, Buffer.from(signature, "base64url"));
  return {
    token,
    valid,
    header: JSON.parse(Buffer.from(header, "base64url").toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(claims, "base64url").toString()) as Record<string, number | string>,
  };
}

describe("the PayAI preset", () => {
  it("signs every call with the merchant JWT, renews it before expiry, and reads networks from /supported", async () => {
    supportedKinds = [
      { x402Version: 2, scheme: "exact", network: "eip155:84532" },
      { x402Version: 1, scheme: "exact", network: "base-sepolia" },
      {
        x402Version: 2,
        scheme: "exact",
        network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
        extra: { feePayer },
      },
      { x402Version: 1, scheme: "exact", network: "solana-devnet", extra: { feePayer } },
    ];
    let now = 1_800_000_000_000;
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia", "solana-devnet"],
      payTo: { "base-sepolia": payee, "solana-devnet": solanaPayee },
      settlementChecks: { "base-sepolia": false, "solana-devnet": false },
      facilitators: [
        payaiFacilitator({ apiKeyId, apiKeySecret, transport: createFetchTransport(), now: () => now }),
      ],
      now: () => now,
    });
    await paywall.ready();
    const app = paywall.fetch(() => Response.json({ ok: true }));

    // The Solana requirement takes its fee payer from PayAI's /supported.
    const required = paymentRequiredOf(await app(new Request("http://api.test/paid")));
    expect(required.accepts.map((r) => [r.network, r.extra])).toEqual([
      ["eip155:84532", { name: "USDC", version: "2" }],
      ["solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", { feePayer }],
    ]);
    const evmRequirement = required.accepts[0];
    if (!evmRequirement) throw new Error("no requirement");
    const paid = await app(
      new Request("http://api.test/paid", {
        headers: { "payment-signature": unsignedPayment(evmRequirement, { nowSeconds: now / 1000 }) },
      }),
    );
    expect(paid.status).toBe(200);
    expect(seen.map((s) => s.path)).toEqual(["/supported", "/verify", "/settle"]);

    const jwts = seen.map((s) => decodeJwt(s.authorization, publicKey));
    for (const jwt of jwts) {
      expect(jwt.valid).toBe(true);
      expect(jwt.header).toEqual({ alg: "EdDSA", typ: "JWT", kid: apiKeyId });
      expect(jwt.claims).toMatchObject({
        sub: apiKeyId,
        iss: "payai-merchant",
        iat: now / 1000,
        exp: now / 1000 + 120,
      });
      expect(jwt.claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(jwts.map((j) => j.token)).size).toBe(1);

    // Past 90 s the cached token is renewed.
    now += 91_000;
    seen = [];
    const again = await app(
      new Request("http://api.test/paid", {
        headers: { "payment-signature": unsignedPayment(evmRequirement, { nowSeconds: now / 1000 }) },
      }),
    );
    expect(again.status).toBe(200);
    const renewed = decodeJwt(seen[0]?.authorization ?? null, publicKey);
    expect(renewed.valid).toBe(true);
    expect(renewed.token).not.toBe(jwts[0]?.token);
    expect(renewed.claims.iat).toBe(now / 1000);
    await paywall.close();
  });

  it("is skipped for networks its /supported does not list, and can be switched off", async () => {
    supportedKinds = [{ x402Version: 2, scheme: "exact", network: "eip155:8453" }];
    const local = await acceptingFacilitator();
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      settlementChecks: { "base-sepolia": false },
      facilitators: [
        payaiFacilitator({ transport: createFetchTransport() }),
        { url: local.url, name: "local" },
      ],
    });
    await paywall.ready();
    const app = paywall.fetch(() => Response.json({ ok: true }));
    const required = paymentRequiredOf(await app(new Request("http://api.test/paid")));
    const body = (await (await app(new Request("http://api.test/paid"))).json()) as {
      payment_options: { provider: string }[];
    };
    expect(body.payment_options[0]?.provider).toBe("PayAI Network");
    const requirement = required.accepts[0];
    if (!requirement) throw new Error("no requirement");
    const paid = await app(
      new Request("http://api.test/paid", { headers: { "payment-signature": unsignedPayment(requirement) } }),
    );
    expect(paid.status).toBe(200);
    expect(seen.map((s) => s.path)).toEqual(["/supported"]);
    expect(seen[0]?.authorization).toBeNull();
    expect(local.calls.filter((c) => c !== "/supported")).toEqual(["/verify", "/settle"]);
    await paywall.close();

    seen = [];
    const off = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      settlementChecks: { "base-sepolia": false },
      facilitators: [payaiFacilitator({ enabled: false }), { url: local.url, name: "local" }],
    });
    await off.ready();
    expect(seen).toEqual([]);
    await off.close();
  });

  it("refuses half an API key or a secret that is not an Ed25519 PKCS#8 key", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    const attempts = [
      () => payaiFacilitator({ apiKeyId }),
      () => payaiFacilitator({ apiKeyId, apiKeySecret: "payai_sk_bm90IGEga2V5" }),
      () =>
        payaiFacilitator({
          apiKeyId,
          apiKeySecret: rsa.export({ format: "der", type: "pkcs8" }).toString("base64"),
        }),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(isTollgateError(error, "SERVER__INVALID_CONFIG")).toBe(true);
    }
    expect(createPublicKey(privateKey).asymmetricKeyType).toBe("ed25519");
  });
});
