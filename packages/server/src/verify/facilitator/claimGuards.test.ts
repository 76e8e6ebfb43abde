import { encodeHeaderJson, isTollgateError, type PaymentRequirementsV2 } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acceptingFacilitator,
  closeAll,
  countingStore,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  receiptOf,
  refusingUrl,
  serve,
  signPayment,
  startChain,
  unsignedPayment,
} from "../../../test/fixtures.js";
import { createEvmDirectChain } from "../../evm/evmDirectChain.js";
import { type CreatePaywallParameters, createPaywall } from "../../paywall.js";
import { createMemoryStore } from "../../store/memory.js";

/**
 * Issue 21 items 9 and 11 on anvil: what a facilitator-lane proof must pass before it is claimed (the payer's
 * signature, a validBefore within the offer's timeout), and the settlement check a direct-lane chain brings.
 */
let evm: TestEvmChain;
const closers: { close(): unknown }[] = [];
const network = "eip155:84532";

beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  for (const c of closers) await c.close();
  await closeAll();
  await evm?.stop();
});

async function paywallWith(parameters: Partial<CreatePaywallParameters> & { facilitatorUrl: string }) {
  const { facilitatorUrl, ...rest } = parameters;
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators: [{ url: facilitatorUrl }],
    ...rest,
  });
  closers.push(paywall);
  const app = paywall.fetch(() => Response.json({ content: "paid" }));
  const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
  if (requirement === undefined) throw new Error("no requirement");
  const pay = (header: string) =>
    app(new Request("http://api.test/paid", { headers: { "payment-signature": header } }));
  return { paywall, app, requirement, pay };
}

const errorOf = async (response: Response) => ((await response.json()) as { error?: string }).error;

/** The direct lane on anvil, built from the test chain's viem client: it carries the facilitator lane's checks. */
const directOnAnvil = () => ({
  networks: [{ chain: createEvmDirectChain({ publicClient: evm.publicClient }), payTo: payee }],
});

/** A v2 proof whose signature is replaced by `signature`. */
function withSignature(header: string, signature: string): string {
  const value = JSON.parse(Buffer.from(header, "base64").toString()) as { payload: { signature: string } };
  value.payload.signature = signature;
  return encodeHeaderJson({ header: "PAYMENT-SIGNATURE", value });
}

describe("a facilitator-lane proof is checked before it is claimed", () => {
  it("refuses proofs whose signature does not recover to an EOA `from`, claiming nothing, while the facilitator is down", async () => {
    const counted = countingStore();
    const { requirement, pay } = await paywallWith({
      facilitatorUrl: await refusingUrl(),
      store: counted.store,
      direct: directOnAnvil(),
    });
    const reasons = new Set<string | undefined>();
    for (let i = 0; i < 30; i++) reasons.add(await errorOf(await pay(unsignedPayment(requirement))));
    // A real signature by another key than `from` is refused the same way.
    const signed = await signPayment({ evm, payer: evmPayerAccounts[0], requirement });
    const foreign = withSignature(
      unsignedPayment(requirement, { from: evmPayerAccounts[1].address }),
      JSON.parse(Buffer.from(signed, "base64").toString()).payload.signature,
    );
    reasons.add(await errorOf(await pay(foreign)));
    expect({ reasons: [...reasons], claims: counted.claims() }).toEqual({
      reasons: ["invalid_exact_evm_signature"],
      claims: 0,
    });
  });

  it("serves a payer whose EIP-712 signature recovers, through our facilitator", async () => {
    const facilitator = await serve(ourFacilitator(evm).fetch);
    const { requirement, pay } = await paywallWith({
      facilitatorUrl: facilitator.url,
      direct: directOnAnvil(),
    });
    const payer = evmPayerAccounts[2];
    const before = await evm.balanceOf(payer.address);
    const paid = await pay(await signPayment({ evm, payer, requirement }));
    expect(paid.status).toBe(200);
    expect(receiptOf(paid)).toMatchObject({ success: true, network });
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });

  it("refuses garbage that only looks like a smart wallet's signature (`from` with code, ERC-6492-wrapped), claiming nothing", async () => {
    // Real smart-wallet signatures (ERC-1271, ERC-6492) are passed on: see smartWalletSignature.test.ts.
    const facilitator = await acceptingFacilitator();
    const counted = countingStore();
    const { requirement, pay } = await paywallWith({
      facilitatorUrl: facilitator.url,
      store: counted.store,
      direct: directOnAnvil(),
    });
    // The token contract has code but answers no ERC-1271 check: not a wallet that signed this.
    const deployed = await pay(unsignedPayment(requirement, { from: evm.token }));
    const wrapped = await pay(
      withSignature(unsignedPayment(requirement), `0x${"ab".repeat(96)}${"6492".repeat(16)}`),
    );
    expect([deployed.status, wrapped.status]).toEqual([402, 402]);
    expect(counted.claims()).toBe(0);
    expect(facilitator.calls.filter((c) => c.endsWith("/verify"))).toHaveLength(0);
  });

  it("refuses a validBefore beyond maxTimeoutSeconds plus 60 s of skew, claiming nothing (no RPC needed)", async () => {
    const counted = countingStore();
    const facilitator = await acceptingFacilitator();
    const { requirement, pay } = await paywallWith({
      facilitatorUrl: facilitator.url,
      store: counted.store,
      settlementChecks: { [network]: false },
    });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const aYearOut = await pay(
      await signPayment({
        evm,
        payer: evmPayerAccounts[0],
        requirement,
        validBefore: BigInt(nowSeconds + 31_536_000),
      }),
    );
    const justPast = await pay(
      await signPayment({
        evm,
        payer: evmPayerAccounts[0],
        requirement,
        validBefore: BigInt(nowSeconds + requirement.maxTimeoutSeconds + 120),
      }),
    );
    const claimsOfRefused = counted.claims();
    const withinSkew = await pay(
      await signPayment({
        evm,
        payer: evmPayerAccounts[0],
        requirement,
        validBefore: BigInt(nowSeconds + requirement.maxTimeoutSeconds + 30),
      }),
    );
    expect({
      aYearOut: await errorOf(aYearOut),
      justPast: await errorOf(justPast),
      claimsOfRefused,
      withinSkew: withinSkew.status,
      claims: counted.claims(),
    }).toEqual({
      aYearOut: "invalid_exact_evm_payload_authorization_valid_before",
      justPast: "invalid_exact_evm_payload_authorization_valid_before",
      claimsOfRefused: 0,
      withinSkew: 200,
      // The served proof's claim, and its settled transaction's under the direct lane's key.
      claims: 2,
    });
  });

  it("answers 503 store_full with Retry-After when the memory store is full of live claims, and never evicts one", async () => {
    // A served payment holds two claims: its proof, and its settled transaction under the direct lane's key.
    const store = createMemoryStore({ maxClaims: 6 });
    const facilitator = await acceptingFacilitator();
    const { requirement, pay } = await paywallWith({
      facilitatorUrl: facilitator.url,
      store,
      settlementChecks: { [network]: false },
      // Settlement before the handler: a served proof keeps its claim (settled).
      routes: { "GET /paid": { price: "$0.01", settlement: "before" } },
    });
    const headers = [0, 1, 2, 3].map(() => unsignedPayment(requirement as PaymentRequirementsV2));
    const statuses = [];
    for (const header of headers.slice(0, 3)) statuses.push((await pay(header)).status);
    const full = await pay(headers[3] as string);
    // The first proofs are still refused as replays: their claims were kept.
    const replay = await pay(headers[0] as string);
    expect({
      statuses,
      full: full.status,
      fullError: await errorOf(full),
      retryAfter: full.headers.get("retry-after"),
      replay: await errorOf(replay),
    }).toEqual({
      statuses: [200, 200, 200],
      full: 503,
      fullError: "store_full",
      retryAfter: "10",
      replay: "replayed_payment",
    });
  });
});

describe("an Idempotency-Key in a bounded store", () => {
  it("is refused 503 store_full when its proof finds no room, and gives its reservation back (a retry is not told to wait)", async () => {
    // One served keyed payment holds two live entries (its proof's claim, its settled transaction's); its key's
    // reservation counts while it runs and is freed once its response is kept.
    const store = createMemoryStore({ maxClaims: 3 });
    const facilitator = await acceptingFacilitator();
    const { app, requirement } = await paywallWith({
      facilitatorUrl: facilitator.url,
      store,
      settlementChecks: { [network]: false },
      routes: { "GET /paid": { price: "$0.01", settlement: "before" } },
    });
    const send = (header: string, key: string) =>
      app(
        new Request("http://api.test/paid", {
          headers: { "payment-signature": header, "idempotency-key": key },
        }),
      );
    const first = unsignedPayment(requirement as PaymentRequirementsV2);
    const second = unsignedPayment(requirement as PaymentRequirementsV2);
    const served = await send(first, "order-1");
    const full = await send(second, "order-2");
    const retried = await send(second, "order-2");
    const replayed = await send(first, "order-1");
    expect({
      served: served.status,
      full: [full.status, await errorOf(full)],
      retried: [retried.status, await errorOf(retried)],
      replayed: [replayed.status, replayed.headers.get("idempotent-replayed"), await replayed.json()],
      settles: facilitator.calls.filter((c) => c.endsWith("/settle")).length,
    }).toEqual({
      served: 200,
      full: [503, "store_full"],
      retried: [503, "store_full"],
      replayed: [200, "true", { content: "paid" }],
      settles: 1,
    });
  });
});

describe("a lost /settle answer is resolved on chain by default", () => {
  it("refuses to start when a facilitator-lane network has no settlement check, unless given one or `false`", async () => {
    const facilitator = await acceptingFacilitator();
    const base = {
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: facilitator.url }],
    };
    let thrown: unknown;
    try {
      createPaywall(base);
    } catch (error) {
      thrown = error;
    }
    expect(isTollgateError(thrown, "SERVER__INVALID_CONFIG")).toBe(true);
    expect((thrown as { context: { option: string } }).context.option).toBe("settlementChecks");
    const optedOut = createPaywall({ ...base, settlementChecks: { "base-sepolia": false } });
    const fromDirect = createPaywall({ ...base, direct: directOnAnvil() });
    const directOnly = createPaywall({ ...base, lanes: { facilitator: false }, direct: directOnAnvil() });
    await Promise.all([optedOut.close(), fromDirect.close(), directOnly.close()]);
  });

  it("serves a payer whose facilitator settled and then answered 500, from the direct lane's RPC (anvil)", async () => {
    const ours = ourFacilitator(evm);
    let settles = 0;
    const lossy = await serve(async (request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/supported")) return Response.json(ours.supported());
      const body = (await request.json()) as unknown;
      if (path.endsWith("/verify")) return Response.json((await ours.verify(body)).body);
      settles++;
      await ours.settle(body);
      return new Response("internal error", { status: 500 });
    });
    const { requirement, pay } = await paywallWith({ facilitatorUrl: lossy.url, direct: directOnAnvil() });
    const payer = evmPayerAccounts[3];
    const before = await evm.balanceOf(payer.address);
    const header = await signPayment({ evm, payer, requirement });
    const statuses: number[] = [];
    let served: Response | undefined;
    for (let i = 0; i < 3 && served === undefined; i++) {
      const response = await pay(header);
      statuses.push(response.status);
      if (response.status === 200) served = response;
    }
    expect(served?.status).toBe(200);
    expect(await served?.json()).toEqual({ content: "paid" });
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
    expect(settles).toBe(1);
    expect(await errorOf(await pay(header))).toBe("replayed_payment");
  });
});
