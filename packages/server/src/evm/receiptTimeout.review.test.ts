// Review: when a settlement transaction was broadcast but its receipt did not arrive within receiptTimeoutMs,
// viem's own `timeout` fires first (WaitForTransactionReceiptTimeoutError, at receiptTimeoutMs) and beats the
// CHAIN__TIMEOUT guard (receiptTimeoutMs + 1000). withChainTimeout wraps it as CHAIN__CALL_FAILED, settle()
// rethrows it, and createFacilitator answers `unexpected_settle_error` WITHOUT the transaction hash. The paywall
// reads that as a clean refusal (no transaction): it releases its claim and answers 402 settlement_failed.
// The transaction then mines: the payer is charged and never served.
import { evmPayeeAccounts, evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentRequiredOf, signPayment, startChain } from "../../test/fixtures.js";
import { createFacilitator } from "../facilitator/createFacilitator.js";
import { createPaywall } from "../paywall.js";
import { createViemEvmChain } from "./evmChain.js";
import { createExactEvmScheme } from "./exactEvmScheme.js";
import { createEvmSettlementCheck } from "./settlementCheck.js";

let evm: TestEvmChain;
beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  await evm?.stop();
});

describe("review: a settlement whose receipt is late", () => {
  it("facilitator: reports the broadcast transaction (settlement_pending), not a bare unexpected_settle_error", async () => {
    const payee = evmPayeeAccounts[1].address;
    const facilitator = createFacilitator({
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
      payTo: payee,
      selfSettle: facilitator,
      settlementChecks: { "eip155:84532": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
    });
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    const first = await app(new Request("http://api.test/paid"));
    const requirement = paymentRequiredOf(first).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const payer = evmPayerAccounts[2];
    const proof = await signPayment({ evm, payer, requirement });
    const payerBefore = await evm.balanceOf(payer.address);

    // The chain is slow: the settlement is broadcast but not mined within receiptTimeoutMs.
    await evm.publicClient.request({ method: "evm_setAutomine" as never, params: [false] as never });
    let answer: Response;
    try {
      answer = await app(new Request("http://api.test/paid", { headers: { "payment-signature": proof } }));
    } finally {
      await evm.publicClient.request({ method: "evm_setAutomine" as never, params: [true] as never });
    }
    await evm.mine(1);
    const error = ((await answer.json()) as { error: string }).error;
    const charged = payerBefore - (await evm.balanceOf(payer.address));

    // The payer's money moved...
    expect(charged).toBe(10_000n);
    // ...so the paywall must not have told the client the settlement failed (it should be settlement_pending),
    expect(error).toBe("settlement_pending");
    // ...and a retry of the same proof must now be served (today: 402 invalid_exact_evm_nonce_already_used).
    const retry = await app(new Request("http://api.test/paid", { headers: { "payment-signature": proof } }));
    expect(retry.status).toBe(200);
    await paywall.close();
  }, 30_000);
});
