import { transferWithAuthorizationTypes } from "@tollgate/shared";
import { evmPayeeAccounts, evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { type Address, type Hex, toHex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
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

let nonceSeed = 0;
const freshNonce = (): Hex => toHex(0x7e00_0000 + ++nonceSeed, { size: 32 });
const amount = 10_000n;

/** An EIP-3009 authorization of `payer` for `to`, signed as `primaryType`, with the payload a paywall holds. */
async function authorize(
  parameters: Readonly<{
    payer: PrivateKeyAccount;
    to: Address;
    nonce: Hex;
    primaryType?: "TransferWithAuthorization" | "ReceiveWithAuthorization";
  }>,
) {
  const { payer, to, nonce, primaryType = "TransferWithAuthorization" } = parameters;
  const message = {
    from: payer.address,
    to,
    value: amount,
    validAfter: 0n,
    validBefore: BigInt(Math.floor(Date.now() / 1000) + 3_600),
    nonce,
  };
  const types =
    primaryType === "TransferWithAuthorization"
      ? transferWithAuthorizationTypes
      : { ReceiveWithAuthorization: transferWithAuthorizationTypes.TransferWithAuthorization };
  const signature = await payer.signTypedData({
    domain: evm.eip712Domain,
    types,
    primaryType,
    message,
  } as Parameters<PrivateKeyAccount["signTypedData"]>[0]);
  const args = [
    message.from,
    message.to,
    message.value,
    message.validAfter,
    message.validBefore,
    nonce,
    signature,
  ] as const;
  const payload = {
    signature,
    authorization: {
      from: message.from,
      to: message.to,
      value: String(message.value),
      validAfter: String(message.validAfter),
      validBefore: String(message.validBefore),
      nonce,
    },
  };
  return { args, payload, signature };
}

/** The requirement a paywall offered: `amount` of the test token to `payTo`. */
const requirementFor = (payTo: Address) => ({
  scheme: "exact",
  network: "eip155:84532",
  amount: String(amount),
  asset: evm.token,
  payTo,
  maxTimeoutSeconds: 60,
  extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
});

/** The payer cancels its own authorization (anyone may relay the signed cancellation). */
async function cancel(payer: PrivateKeyAccount, nonce: Hex): Promise<void> {
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
}

describe("createEvmSettlementCheck", () => {
  it("finds an executed authorization that paid the payee, also past several log ranges", async () => {
    const payee = evmPayeeAccounts[1].address;
    const nonce = freshNonce();
    const { args, payload } = await authorize({ payer: evmPayerAccounts[0], to: payee, nonce });
    const check = createEvmSettlementCheck({ publicClient: evm.publicClient, maxLogRangeBlocks: 3 });
    const requirement = requirementFor(payee);
    expect(await check({ requirement, payload })).toBe(false);

    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "transferWithAuthorization",
      args,
    });
    await evm.publicClient.waitForTransactionReceipt({ hash });
    await evm.mine(10);
    expect(await check({ requirement, payload })).toBe(true);
    // Another payee or amount was not paid by it.
    expect(await check({ requirement: requirementFor(evmPayeeAccounts[2].address), payload })).toBe(false);
    expect(await check({ requirement: { ...requirement, amount: "10001" }, payload })).toBe(false);
    // Older than the lookback: not found, so not believed.
    const short = createEvmSettlementCheck({ publicClient: evm.publicClient, lookbackBlocks: 5 });
    expect(await short({ requirement, payload })).toBe(false);
  });

  it("does not take a receiveWithAuthorization with the same nonce, paying someone else, for a settlement", async () => {
    const payer = evmPayerAccounts[0];
    const payee = evmPayeeAccounts[1].address;
    const nonce = freshNonce();
    const { payload } = await authorize({ payer, to: payee, nonce });
    // The payer also signed a receive authorization with that nonce for another address, which redeems it.
    const other = await authorize({
      payer,
      to: evm.walletClient.account.address,
      nonce,
      primaryType: "ReceiveWithAuthorization",
    });
    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "receiveWithAuthorization",
      args: other.args,
    });
    await evm.publicClient.waitForTransactionReceipt({ hash });
    const check = createEvmSettlementCheck({ publicClient: evm.publicClient });
    expect(await check({ requirement: requirementFor(payee), payload })).toBe(false);
  });
});

/**
 * EIP-3009 also marks a nonce used when the payer CANCELS the authorization (`cancelAuthorization`), which moves
 * no money. A payer who cancels after a lost /settle answer and retries the same proof must not be served.
 */
describe("a cancelled EIP-3009 authorization", () => {
  it("is not taken for a settlement after a lost /settle answer", async () => {
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

    await cancel(payer, nonce);
    const retry = await app(request());
    const text = await retry.text();
    // No money moved, so the content is not served.
    expect(await evm.balanceOf(payee)).toBe(payeeBefore);
    expect(await evm.balanceOf(payer.address)).toBe(payerBefore);
    expect(retry.status).not.toBe(200);
    expect(text).not.toContain("the protected answer");
    await paywall.close();
  }, 30_000);

  it("is refused by our facilitator with settlement before, presented twice, without serving", async () => {
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
    await cancel(payer, nonce);
    const payeeBefore = await evm.balanceOf(payee);

    const request = () => new Request("http://api.test/paid", { headers: { "payment-signature": proof } });
    // The send fails on the used nonce and nothing was broadcast: a definitive refusal, the guard released.
    const first = await app(request());
    expect(first.status).toBe(402);
    expect(await first.json()).toMatchObject({ error: "settlement_failed" });
    const second = await app(request());
    const text = await second.text();
    expect(await evm.balanceOf(payee)).toBe(payeeBefore);
    expect(second.status).not.toBe(200);
    expect(text).not.toContain("the protected answer");
    await paywall.close();
  }, 30_000);
});
