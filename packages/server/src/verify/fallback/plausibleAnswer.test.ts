import { encodeBase58 } from "@tollgate/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ExpectedAnswer, implausibleSettle, implausibleVerify } from "./plausibleAnswer.js";

const evm: ExpectedAnswer = {
  family: "evm",
  networks: ["eip155:84532", "base-sepolia"],
  payer: "0x1111111111111111111111111111111111111111",
  amount: 10_000n,
  x402Version: 2,
};
const svm: ExpectedAnswer = { family: "svm", networks: ["solana:devnet"], amount: 10_000n, x402Version: 2 };
const hash = `0x${"ab".repeat(32)}`;
const signature = encodeBase58(new Uint8Array(64).fill(7));

describe("implausibleSettle", () => {
  it("believes a success that names the network, a transaction id of the family, the payer and the price", () => {
    expect(
      implausibleSettle({ success: true, transaction: hash, network: "base-sepolia" }, evm),
    ).toBeUndefined();
    expect(
      implausibleSettle(
        {
          success: true,
          transaction: hash,
          network: "eip155:84532",
          payer: evm.payer?.toUpperCase(),
          amount: "10000",
        },
        evm,
      ),
    ).toBeUndefined();
    expect(
      implausibleSettle({ success: true, transaction: signature, network: "solana:devnet" }, svm),
    ).toBeUndefined();
    // v1 authorizations may carry more than the price.
    expect(
      implausibleSettle(
        { success: true, transaction: hash, network: "base-sepolia", amount: "20000" },
        { ...evm, x402Version: 1 },
      ),
    ).toBeUndefined();
    // A refusal is not checked: it is believed as a refusal.
    expect(implausibleSettle({ success: false, transaction: "", network: "" }, evm)).toBeUndefined();
  });

  it("property: any other network, transaction, payer or amount is implausible", () => {
    const answer = { success: true, transaction: hash, network: "eip155:84532" };
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        if (!evm.networks.includes(text))
          expect(implausibleSettle({ ...answer, network: text }, evm)).toBe("network_mismatch");
        if (!/^0x[0-9a-fA-F]{64}$/.test(text))
          expect(implausibleSettle({ ...answer, transaction: text }, evm)).toBe("transaction_malformed");
        expect(implausibleSettle({ ...answer, network: "solana:devnet", transaction: text }, svm)).toBe(
          text === signature ? undefined : "transaction_malformed",
        );
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (amount) => {
        const issue = implausibleSettle({ ...answer, amount: amount.toString() }, evm);
        expect(issue).toBe(amount === evm.amount ? undefined : "amount_mismatch");
      }),
    );
    expect(implausibleSettle({ ...answer, payer: "0x2222222222222222222222222222222222222222" }, evm)).toBe(
      "payer_mismatch",
    );
  });
});

describe("implausibleVerify", () => {
  it("refuses an isValid for another payer, believes one for ours or none", () => {
    expect(
      implausibleVerify({ isValid: true, payer: "0x2222222222222222222222222222222222222222" }, evm),
    ).toBe("payer_mismatch");
    expect(implausibleVerify({ isValid: true, payer: evm.payer }, evm)).toBeUndefined();
    expect(implausibleVerify({ isValid: true }, evm)).toBeUndefined();
    expect(implausibleVerify({ isValid: false, invalidReason: "x", payer: "0x2" }, evm)).toBeUndefined();
  });
});
