import { settleResponseSchema, verifyResponseSchema } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createFacilitator } from "./createFacilitator.js";
import type { FacilitatorScheme } from "./scheme.js";

/** A scheme whose refusals carry a message from the chain as long as a hostile contract makes it. */
const chatty: FacilitatorScheme = {
  scheme: "exact",
  networks: ["eip155:84532"],
  signers: { "eip155:*": ["0x1111111111111111111111111111111111111111"] },
  settlementKey: () => "key",
  verify: async () => ({
    ok: false,
    reason: "evm_simulation_failed",
    message: "revert: ".padEnd(10_000, "x"),
  }),
  settle: async () => ({
    ok: false,
    reason: "evm_simulation_failed",
    message: "revert: ".padEnd(10_000, "x"),
  }),
};

const requirement = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "10000",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  payTo: "0x2222222222222222222222222222222222222222",
  maxTimeoutSeconds: 60,
  extra: { name: "USDC", version: "2" },
};
const body = {
  x402Version: 2,
  paymentPayload: { x402Version: 2, accepted: requirement, payload: {} },
  paymentRequirements: requirement,
};

describe("createFacilitator's refusals", () => {
  it("bound a message from the chain, so the answer still parses as an answer", async () => {
    const facilitator = createFacilitator({ schemes: [chatty] });
    const verified = (await facilitator.verify(body)).body as { invalidMessage: string };
    expect(verified.invalidMessage.length).toBeLessThanOrEqual(1_024);
    expect(verifyResponseSchema.safeParse(verified).success).toBe(true);
    const settled = (await facilitator.settle(body)).body as { errorMessage: string };
    expect(settled.errorMessage.length).toBeLessThanOrEqual(1_024);
    expect(settleResponseSchema.safeParse(settled).success).toBe(true);
  });
});
