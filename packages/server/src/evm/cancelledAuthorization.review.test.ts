// Review: the EVM settlement check (createEvmSettlementCheck) takes `authorizationState(from, nonce) == true`
// as "this authorization was executed: the payee has the money". EIP-3009 also marks a nonce used when the
// payer CANCELS the authorization (`cancelAuthorization`), which moves no money. After any /settle whose answer
// was lost (timeout, 5xx, malformed: claim `pending_settlement`), the payer cancels its own authorization and
// retries the same proof: the paywall resumes, asks the chain, believes the cancelled nonce is a settlement, and
// serves the paid content. Nobody was paid.
import { evmPayeeAccounts, evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  ourFacilitator,
  paymentRequiredOf,
  serve,
  signPayment,
  startChain,
} from "../../test/fixtures.js";
import { createPaywall } from "../paywall.js";
import { createFetchTransport } from "../verify/fallback/transport.js";
import { createEvmSettlementCheck } from "./settlementCheck.js";

let evm: TestEvmChain;
beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  await closeAll();
  await evm?.stop();
});

describe("review: a cancelled EIP-3009 authorization after a lost /settle answer", () => {
  it("is not taken for a settlement", async () => {
    const facilitator = ourFacilitator(evm);
    // A facilitator that verifies correctly but whose /settle is down (a 503 gateway page): the /settle may
    // have arrived, so the paywall keeps the claim as pending_settlement and answers settlement_pending.
    const flaky = await serve(async (request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/supported")) return Response.json(facilitator.supported());
      if (path.endsWith("/verify"))
        return Response.json((await facilitator.verify(await request.json())).body);
      return new Response("<html>503 Service Unavailable</html>", { status: 503 });
    });
    const payee = evmPayeeAccounts[2].address;
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: flaky.url, name: "flaky" }],
      transport: createFetchTransport(),
      settlementChecks: { "eip155:84532": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
    });
    await paywall.ready();
    const app = paywall.fetch(() => Response.json({ content: "the protected answer" }));
    const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
    if (!requirement) throw new Error("no requirement");
    const payer = evmPayerAccounts[1];
    const nonce = `0x${"5a".repeat(32)}` as const;
    const proof = await signPayment({ evm, payer, requirement, nonce });
    const request = () => new Request("http://api.test/paid", { headers: { "payment-signature": proof } });
    const payeeBefore = await evm.balanceOf(payee);
    const payerBefore = await evm.balanceOf(payer.address);

    const first = await app(request());
    expect(first.status).toBe(402);
    expect(((await first.json()) as { error: string }).error).toBe("settlement_pending");

    // The payer cancels its own authorization (anyone may relay the signed cancellation).
    const cancelSignature = await payer.signTypedData({
      domain: evm.eip712Domain,
      types: {
        CancelAuthorization: [
          { name: "authorizer", type: "address" },
          { name: "nonce", type: "bytes32" },
        ],
      },
      primaryType: "CancelAuthorization",
      message: { authorizer: payer.address, nonce },
    });
    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "cancelAuthorization",
      args: [payer.address, nonce, cancelSignature],
    });
    await evm.publicClient.waitForTransactionReceipt({ hash });

    const retry = await app(request());
    const text = await retry.text();
    // No money moved...
    expect(await evm.balanceOf(payee)).toBe(payeeBefore);
    expect(await evm.balanceOf(payer.address)).toBe(payerBefore);
    // ...so the content must not be served. Actual: 200 with the protected answer.
    expect(retry.status).not.toBe(200);
    expect(text).not.toContain("the protected answer");
    await paywall.close();
  }, 30_000);

  it("settlement before, our facilitator, no outage at all: cancel first, then present the proof twice", async () => {
    const payee = evmPayeeAccounts[0].address;
    const paywall = createPaywall({
      routes: { "GET /paid": { price: "$0.01", settlement: "before" } },
      networks: ["base-sepolia"],
      payTo: payee,
      selfSettle: ourFacilitator(evm),
      settlementChecks: { "eip155:84532": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
    });
    await paywall.ready();
    const app = paywall.fetch(() => Response.json({ content: "the protected answer" }));
    const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
    if (!requirement) throw new Error("no requirement");
    const payer = evmPayerAccounts[2];
    const nonce = `0x${"6b".repeat(32)}` as const;
    const proof = await signPayment({ evm, payer, requirement, nonce });
    const cancelSignature = await payer.signTypedData({
      domain: evm.eip712Domain,
      types: {
        CancelAuthorization: [
          { name: "authorizer", type: "address" },
          { name: "nonce", type: "bytes32" },
        ],
      },
      primaryType: "CancelAuthorization",
      message: { authorizer: payer.address, nonce },
    });
    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "cancelAuthorization",
      args: [payer.address, nonce, cancelSignature],
    });
    await evm.publicClient.waitForTransactionReceipt({ hash });
    const payeeBefore = await evm.balanceOf(payee);

    const request = () => new Request("http://api.test/paid", { headers: { "payment-signature": proof } });
    // 1st: the send fails on the used nonce; the facilitator keeps its guard ("may be our own tx in flight")
    // and answers unexpected_settle_error; the paywall releases its claim.
    const first = await app(request());
    expect(first.status).toBe(402);
    // 2nd: the facilitator answers duplicate_settlement; the paywall asks the chain, which says "used".
    const second = await app(request());
    const text = await second.text();
    expect(await evm.balanceOf(payee)).toBe(payeeBefore);
    expect(second.status).not.toBe(200);
    expect(text).not.toContain("the protected answer");
    await paywall.close();
  }, 30_000);
});
