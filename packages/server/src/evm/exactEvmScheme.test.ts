import { randomBytes } from "node:crypto";
import {
  evmPayeeAccounts,
  evmPayerAccounts,
  startEvmChain,
  type EvmChain as TestEvmChain,
} from "@tollgate/testing";
import { type Hex, toHex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  authorizationTypedData,
  exactEvmPayload,
  paymentRequiredOf,
  signPayment,
} from "../../test/fixtures.js";
import { type ServedFetch, serveFetch } from "../adapters/node.js";
import { createFacilitator, type Facilitator } from "../facilitator/createFacilitator.js";
import { createPaywall } from "../paywall.js";
import { createViemEvmChain } from "./evmChain.js";
import { createExactEvmScheme } from "./exactEvmScheme.js";
import { createEvmSettlementCheck } from "./settlementCheck.js";

let evm: TestEvmChain;
let facilitator: Facilitator;
let served: ServedFetch;
const payee = evmPayeeAccounts[0].address;
const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

beforeAll(async () => {
  evm = await startEvmChain();
  const chain = createViemEvmChain({
    publicClient: evm.publicClient,
    walletClient: evm.walletClient,
    pollingIntervalMs: 10,
  });
  facilitator = createFacilitator({ schemes: [createExactEvmScheme({ chains: [chain] })] });
  served = await serveFetch({ fetch: facilitator.fetch });
});

afterAll(async () => {
  await served?.close();
  await evm?.stop();
});

type AuthorizationOverrides = Partial<{
  to: `0x${string}`;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
  signer: PrivateKeyAccount;
}>;

async function signAuthorization(
  payer: PrivateKeyAccount,
  value: bigint,
  overrides: AuthorizationOverrides = {},
) {
  const message = {
    from: payer.address,
    to: overrides.to ?? payee,
    value: overrides.value ?? value,
    validAfter: overrides.validAfter ?? 0n,
    validBefore: overrides.validBefore ?? nowSeconds() + 300n,
    nonce: overrides.nonce ?? toHex(randomBytes(32)),
  };
  const signature = await (overrides.signer ?? payer).signTypedData(authorizationTypedData(evm, message));
  return exactEvmPayload(signature, message);
}

function requirementFor(amount: bigint, extra: Record<string, unknown> = { name: "USDC", version: "2" }) {
  return {
    scheme: "exact",
    network: "eip155:84532",
    amount: amount.toString(),
    asset: evm.token,
    payTo: payee,
    maxTimeoutSeconds: 300,
    extra,
  };
}

function v2Body(payload: unknown, amount: bigint, requirementOverrides: Record<string, unknown> = {}) {
  const requirement = { ...requirementFor(amount), ...requirementOverrides };
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      resource: { url: "http://127.0.0.1/paid", description: "", mimeType: "" },
      accepted: requirement,
      payload,
    },
    paymentRequirements: requirement,
  };
}

async function post(path: "verify" | "settle", body: unknown) {
  const response = await fetch(`${served.url}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("exact EVM facilitator on anvil", () => {
  it("verifies and settles a valid payment; balances move exactly; the payer holds no ETH", async () => {
    const payer = evmPayerAccounts[0];
    expect(await evm.publicClient.getBalance({ address: payer.address })).toBe(0n);
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(payee) };
    const body = v2Body(await signAuthorization(payer, 10_000n), 10_000n);
    expect(await post("verify", body)).toEqual({
      status: 200,
      body: { isValid: true, payer: payer.address },
    });
    const settled = await post("settle", body);
    expect(settled.status).toBe(200);
    expect(settled.body).toMatchObject({ success: true, payer: payer.address, network: "eip155:84532" });
    expect(settled.body.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 10_000n);
    expect(await evm.balanceOf(payee)).toBe(before.payee + 10_000n);
    // The same authorization again: refused by our guard, and the chain would refuse it too.
    expect((await post("settle", body)).body).toMatchObject({
      success: false,
      errorReason: "duplicate_settlement",
    });
    expect((await post("verify", body)).body).toMatchObject({
      isValid: false,
      invalidReason: "invalid_exact_evm_nonce_already_used",
    });
  });

  it("lists v2 and v1 kinds and its signer in /supported", async () => {
    const response = await fetch(`${served.url}/supported`);
    const supported = (await response.json()) as { kinds: unknown[]; signers: Record<string, string[]> };
    expect(supported.kinds).toEqual([
      { x402Version: 2, scheme: "exact", network: "eip155:84532" },
      { x402Version: 1, scheme: "exact", network: "base-sepolia" },
    ]);
    expect(supported.signers["eip155:*"]).toEqual([evm.facilitator.address]);
  });

  const payer = () => evmPayerAccounts[1];
  const refusals: [string, () => Promise<unknown>, string][] = [
    [
      "wrong payee",
      async () =>
        v2Body(await signAuthorization(payer(), 10_000n, { to: evmPayeeAccounts[1].address }), 10_000n),
      "invalid_exact_evm_recipient_mismatch",
    ],
    [
      "wrong amount",
      async () => v2Body(await signAuthorization(payer(), 9_999n), 10_000n),
      "invalid_exact_evm_payload_authorization_value_mismatch",
    ],
    [
      "expired",
      async () =>
        v2Body(await signAuthorization(payer(), 10_000n, { validBefore: nowSeconds() - 1n }), 10_000n),
      "invalid_exact_evm_payload_authorization_valid_before",
    ],
    [
      "expiring within the margin",
      async () =>
        v2Body(await signAuthorization(payer(), 10_000n, { validBefore: nowSeconds() + 3n }), 10_000n),
      "invalid_exact_evm_payload_authorization_valid_before",
    ],
    [
      "not yet valid",
      async () =>
        v2Body(await signAuthorization(payer(), 10_000n, { validAfter: nowSeconds() + 120n }), 10_000n),
      "invalid_exact_evm_payload_authorization_valid_after",
    ],
    [
      "signed by another key",
      async () => v2Body(await signAuthorization(payer(), 10_000n, { signer: evmPayerAccounts[2] }), 10_000n),
      "invalid_exact_evm_signature",
    ],
    [
      "insufficient balance",
      async () => v2Body(await signAuthorization(payer(), 50_000_000n), 50_000_000n),
      "invalid_exact_evm_insufficient_balance",
    ],
    [
      "wrong EIP-712 domain name",
      async () =>
        v2Body(await signAuthorization(payer(), 10_000n), 10_000n, {
          extra: { name: "USD Coin", version: "2" },
        }),
      "invalid_exact_evm_signature",
    ],
    [
      "missing EIP-712 domain",
      async () => v2Body(await signAuthorization(payer(), 10_000n), 10_000n, { extra: {} }),
      "invalid_exact_evm_missing_eip712_domain",
    ],
    [
      "unsupported network",
      async () => v2Body(await signAuthorization(payer(), 10_000n), 10_000n, { network: "eip155:8453" }),
      "invalid_network",
    ],
    [
      "non-exact scheme",
      async () => v2Body(await signAuthorization(payer(), 10_000n), 10_000n, { scheme: "upto" }),
      "unsupported_scheme",
    ],
    ["malformed payload", async () => v2Body({ signature: "0x12" }, 10_000n), "invalid_payload"],
  ];

  it.each(refusals)(
    "refuses a payment with %s, at verify and at settle, moving nothing",
    async (_name, build, reason) => {
      const before = await evm.balanceOf(payer().address);
      const body = await build();
      expect(await post("verify", body)).toEqual({
        status: 200,
        body: expect.objectContaining({ isValid: false, invalidReason: reason }),
      });
      const settled = await post("settle", body);
      expect(settled).toEqual({
        status: 200,
        body: expect.objectContaining({ success: false, errorReason: reason, transaction: "" }),
      });
      expect(await evm.balanceOf(payer().address)).toBe(before);
    },
  );

  it("refuses a replayed nonce already used on chain", async () => {
    const nonce = toHex(randomBytes(32));
    const first = v2Body(await signAuthorization(payer(), 1_000n, { nonce }), 1_000n);
    expect((await post("settle", first)).body).toMatchObject({ success: true });
    // A different authorization (another amount) reusing the nonce: new settlement key? No: same payer + nonce.
    const second = v2Body(await signAuthorization(payer(), 2_000n, { nonce }), 2_000n);
    expect((await post("verify", second)).body).toMatchObject({
      invalidReason: "invalid_exact_evm_nonce_already_used",
    });
    expect((await post("settle", second)).body).toMatchObject({ errorReason: "duplicate_settlement" });
  });

  it("settles 50 concurrent settles of one authorization exactly once", async () => {
    const payer = evmPayerAccounts[2];
    const before = await evm.balanceOf(payer.address);
    const body = v2Body(await signAuthorization(payer, 7_000n), 7_000n);
    const answers = await Promise.all(Array.from({ length: 50 }, () => post("settle", body)));
    const successes = answers.filter((a) => a.body.success === true);
    expect(successes).toHaveLength(1);
    expect(answers.filter((a) => a.body.errorReason === "duplicate_settlement")).toHaveLength(49);
    expect(await evm.balanceOf(payer.address)).toBe(before - 7_000n);
  });

  it("settles 10 different authorizations sent at once, each exactly once (one relayer account)", async () => {
    const payers = [evmPayerAccounts[0], evmPayerAccounts[1], evmPayerAccounts[2]] as const;
    const before = await Promise.all(payers.map((p) => evm.balanceOf(p.address)));
    const bodies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => signAuthorization(payers[i % 3] ?? payers[0], 1_000n)),
    );
    const answers = await Promise.all(bodies.map((signed) => post("settle", v2Body(signed, 1_000n))));
    expect(answers.map((a) => a.body.success)).toEqual(Array(10).fill(true));
    const after = await Promise.all(payers.map((p) => evm.balanceOf(p.address)));
    expect(after.map((a, i) => (before[i] ?? 0n) - a)).toEqual([4_000n, 3_000n, 3_000n]);
  });

  it("speaks x402 v1: v1 network names in and out, v1 reason strings", async () => {
    const payer = evmPayerAccounts[3];
    const signed = await signAuthorization(payer, 5_000n);
    const requirement = {
      scheme: "exact",
      network: "base-sepolia",
      maxAmountRequired: "5000",
      resource: "http://127.0.0.1/paid",
      description: "",
      mimeType: "",
      payTo: payee,
      maxTimeoutSeconds: 60,
      asset: evm.token,
      extra: { name: "USDC", version: "2" },
    };
    const body = {
      x402Version: 1,
      paymentPayload: { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: signed },
      paymentRequirements: requirement,
    };
    expect((await post("verify", body)).body).toEqual({ isValid: true, payer: payer.address });
    const bad = { ...body, paymentRequirements: { ...requirement, payTo: evmPayeeAccounts[2].address } };
    expect((await post("verify", bad)).body).toMatchObject({
      invalidReason: "invalid_exact_evm_payload_recipient_mismatch",
    });
    expect((await post("settle", body)).body).toMatchObject({ success: true, network: "base-sepolia" });
  });

  it.each([
    ["not JSON", "{nope", 400],
    ["an empty object", "{}", 400],
    ["a wrong version", JSON.stringify({ x402Version: 3, paymentPayload: {}, paymentRequirements: {} }), 400],
    ["a huge body", JSON.stringify({ pad: "x".repeat(100_000) }), 413],
  ])("answers a request with %s with a 4xx and a reason, never 500", async (_name, body, status) => {
    for (const path of ["verify", "settle"]) {
      const response = await fetch(`${served.url}/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: string }).error).toMatch(/^[a-z_]+$/);
    }
  });

  it("answers unknown paths and methods with 404 and 405", async () => {
    expect((await fetch(`${served.url}/nope`)).status).toBe(404);
    expect((await fetch(`${served.url}/verify`)).status).toBe(405);
    expect((await fetch(`${served.url}/supported`, { method: "POST" })).status).toBe(405);
  });
});

/**
 * A settlement broadcast whose receipt does not arrive within `receiptTimeoutMs`: the money may still move, so
 * the facilitator answers `settlement_pending` with the transaction hash (never a bare `unexpected_settle_error`
 * the paywall would read as a clean refusal), and the paywall keeps the claim until the chain shows it.
 */
describe("a settlement whose receipt is late", () => {
  it("is answered settlement_pending, and the retry is served once it is mined", async () => {
    const payTo = evmPayeeAccounts[1].address;
    const slowFacilitator = createFacilitator({
      schemes: [
        createExactEvmScheme({
          chains: [
            createViemEvmChain({
              publicClient: evm.publicClient,
              walletClient: evm.walletClient,
              pollingIntervalMs: 10,
            }),
          ],
          receiptTimeoutMs: 300,
        }),
      ],
    });
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo,
      selfSettle: slowFacilitator,
      settlementChecks: { "eip155:84532": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
    });
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const payer = evmPayerAccounts[2];
    const proof = await signPayment({ evm, payer, requirement });
    const request = () => new Request("http://api.test/paid", { headers: { "payment-signature": proof } });
    const payerBefore = await evm.balanceOf(payer.address);

    // The chain is slow: the settlement is broadcast but not mined within receiptTimeoutMs.
    await evm.publicClient.request({ method: "evm_setAutomine" as never, params: [false] as never });
    let answer: Response;
    try {
      answer = await app(request());
    } finally {
      await evm.publicClient.request({ method: "evm_setAutomine" as never, params: [true] as never });
    }
    await evm.mine(1);
    const error = ((await answer.json()) as { error: string }).error;

    // The payer's money moved, so the paywall must not have said the settlement failed...
    expect(payerBefore - (await evm.balanceOf(payer.address))).toBe(10_000n);
    expect(error).toBe("settlement_pending");
    // ...and the retry of the same proof is served from the chain's answer.
    const retry = await app(request());
    expect(retry.status).toBe(200);
    await paywall.close();
  }, 30_000);
});
