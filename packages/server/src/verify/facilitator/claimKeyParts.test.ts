import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimKeyParts } from "./claimKeyParts.js";
import { checkPaymentLocally } from "./localChecks.js";

const payTo = "0x2222222222222222222222222222222222222222";
const requirement = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "10000",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  payTo,
  maxTimeoutSeconds: 60,
  extra: { name: "USDC", version: "2" },
};

describe("claimKeyParts", () => {
  it("reads back the network, payer and nonce of the claim key the facilitator lane builds", () => {
    const nonce = `0x${"Ab".repeat(32)}`;
    const from = "0x1111111111111111111111111111111111111AbC";
    const local = checkPaymentLocally({
      x402Version: 2,
      family: "evm",
      requirement,
      payload: {
        signature: `0x${"ab".repeat(65)}`,
        authorization: { from, to: payTo, value: "10000", validAfter: "0", validBefore: "1060", nonce },
      },
      nowSeconds: 1_000,
      validBeforeMarginSeconds: 6,
    });
    if (!local.ok) throw new Error(local.reason);
    expect(claimKeyParts(local.claimKey)).toEqual({
      family: "evm",
      network: "eip155:84532",
      payer: from.toLowerCase(),
      nonce: nonce.toLowerCase(),
    });
  });

  it("reads a Solana key's network and message hash; nothing else is a claim key", () => {
    const hash = "f".repeat(64);
    expect(claimKeyParts(`x402:solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1:${hash}`)).toEqual({
      family: "svm",
      network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
      messageHash: hash,
    });
    for (const key of [
      "direct:eip155:8453:0xab",
      `x402:eip155:8453:0x${"a".repeat(40)}:0x${"1".repeat(63)}`,
      `x402:eip155:8453:0x${"A".repeat(40)}:0x${"1".repeat(64)}`,
      `x402:solana:0OIl:${hash}`,
    ]) {
      expect(claimKeyParts(key)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (key) => {
        const parts = claimKeyParts(key);
        return parts === undefined || key.startsWith(`x402:${parts.network}:`);
      }),
    );
  });
});
