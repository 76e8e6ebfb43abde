import { describe, expect, it } from "vitest";
import { readPaymentRequired } from "../headers/readPaymentRequired.js";
import { caip2Schema } from "../schemas/primitives.js";
import { paymentRequirementsV1Schema } from "../schemas/v1.js";
import { canonicalCaip2 } from "./canonicalCaip2.js";

describe("canonicalCaip2", () => {
  it("spells an eip155 chain id without leading zeros and a namespace in lowercase", () => {
    expect(canonicalCaip2("eip155:084532")).toBe("eip155:84532");
    expect(canonicalCaip2("EIP155:8453")).toBe("eip155:8453");
    expect(canonicalCaip2(" eip155:0001 ")).toBe("eip155:1");
    expect(canonicalCaip2("eip155:0")).toBeUndefined();
    expect(canonicalCaip2("eip155:-1")).toBeUndefined();
    expect(canonicalCaip2("eip155:0x14a34")).toBeUndefined();
    expect(canonicalCaip2("base")).toBeUndefined();
    expect(canonicalCaip2("solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1")).toBe(
      "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
    );
  });
});

describe("wire network ids", () => {
  it("refuse a non-canonical CAIP-2 spelling at parse time", () => {
    expect(caip2Schema.safeParse("eip155:84532").success).toBe(true);
    expect(caip2Schema.safeParse("eip155:084532").success).toBe(false);
    expect(caip2Schema.safeParse("eip155:00").success).toBe(false);
  });

  it("drop an offer on an alias with a problem, instead of letting it reach the policy", () => {
    const reading = readPaymentRequired({
      headers: new Headers(),
      body: {
        x402Version: 2,
        resource: { url: "https://api.example.com/r" },
        accepts: [
          {
            scheme: "exact",
            network: "eip155:084532",
            amount: "1",
            asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            payTo: "0x00000000000000000000000000000000000000a1",
            maxTimeoutSeconds: 60,
          },
        ],
      },
    });
    expect(reading.offers).toEqual([]);
    expect(reading.problems).toHaveLength(1);
  });

  it("a v1 requirement may name its network by CAIP-2 (read as that network, kept verbatim)", () => {
    const v1 = {
      scheme: "exact",
      network: "eip155:84532",
      maxAmountRequired: "10000",
      resource: "https://api.example.com/r",
      description: "",
      mimeType: "",
      payTo: "0x00000000000000000000000000000000000000a1",
      maxTimeoutSeconds: 60,
      asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    };
    expect(paymentRequirementsV1Schema.safeParse(v1).success).toBe(true);
    expect(paymentRequirementsV1Schema.safeParse({ ...v1, network: "eip155:084532" }).success).toBe(false);
    const reading = readPaymentRequired({ headers: new Headers(), body: { x402Version: 1, accepts: [v1] } });
    expect(
      reading.offers.map((o) => [o.lane, o.lane !== "token" && o.network, o.lane !== "token" && o.networkV1]),
    ).toEqual([["facilitator", "eip155:84532", "base-sepolia"]]);
    const [offer] = reading.offers;
    expect(offer?.lane === "facilitator" && offer.requirement.network).toBe("eip155:84532");
  });
});
