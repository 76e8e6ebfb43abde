import { describe, expect, it } from "vitest";
import { isTollgateError } from "../errors/TollgateError.js";
import { createNetworkRegistry } from "../networks/registry.js";
import type { PaymentRequirementsV2 } from "../schemas/v2.js";
import {
  paymentPayloadV1ToV2,
  paymentPayloadV2ToV1,
  requirementV1ToV2,
  requirementV2ToV1,
} from "./convert.js";

const requirement: PaymentRequirementsV2 = {
  scheme: "exact",
  network: "eip155:8453",
  amount: "10000",
  asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  payTo: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
  maxTimeoutSeconds: 60,
  extra: { name: "USD Coin", version: "2" },
};
const resource = { url: "https://api.example.com/r", description: "A report", mimeType: "application/json" };

/** The error code a call throws, or `undefined`. */
function codeOf(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (e) {
    return isTollgateError(e)
      ? `${e.code} ${JSON.stringify((e as { context?: unknown }).context)}`
      : String(e);
  }
}

describe("converting between x402 v1 and v2", () => {
  it("names the network by its v1 name and keeps the EIP-712 domain, the description and the mime type", () => {
    expect(requirementV2ToV1(requirement, resource)).toEqual({
      scheme: "exact",
      network: "base",
      maxAmountRequired: "10000",
      asset: requirement.asset,
      payTo: requirement.payTo,
      maxTimeoutSeconds: 60,
      resource: resource.url,
      description: "A report",
      mimeType: "application/json",
      extra: { name: "USD Coin", version: "2" },
    });
  });

  it("gives a requirement without extra or resource text no extra and empty strings (v1 requires them)", () => {
    const { extra: _extra, ...bare } = requirement;
    const v1 = requirementV2ToV1(bare, { url: resource.url });
    expect(v1).not.toHaveProperty("extra");
    expect(v1).toMatchObject({ description: "", mimeType: "" });
  });

  it("refuses a network that has no v1 name with NETWORK__UNKNOWN, in both directions of a payment", () => {
    const registry = createNetworkRegistry();
    registry.addFromSupported([{ x402Version: 2, network: "eip155:999999" }]);
    const unnamed = { ...requirement, network: "eip155:999999" };
    expect(codeOf(() => requirementV2ToV1(unnamed, resource, { registry }))).toBe(
      'NETWORK__UNKNOWN {"network":"eip155:999999"}',
    );
    const payload = { x402Version: 2 as const, accepted: unnamed, payload: { signature: "0x" } };
    expect(codeOf(() => paymentPayloadV2ToV1(payload, { registry }))).toBe(
      'NETWORK__UNKNOWN {"network":"eip155:999999"}',
    );
    // Without a registry: the default one, which does not know the network at all.
    expect(codeOf(() => paymentPayloadV2ToV1(payload))).toMatch(/^NETWORK__UNKNOWN/);
  });

  it("converts a v1 requirement to v2 by CAIP-2, moving resource text out and dropping outputSchema", () => {
    const v1 = { ...requirementV2ToV1(requirement, resource), outputSchema: { input: {} } };
    expect(requirementV1ToV2(v1)).toEqual({ requirement, resource });
    expect(codeOf(() => requirementV1ToV2({ ...v1, network: "not-a-network" }))).toMatch(/^NETWORK__UNKNOWN/);
    // With a registry of its own, only that registry's names count.
    expect(
      codeOf(() => requirementV1ToV2(v1, { registry: createNetworkRegistry({ networks: [] }) })),
    ).toMatch(/^NETWORK__UNKNOWN/);
  });

  it("converts payloads: v2 → v1 takes scheme and network from accepted; v1 → v2 carries the resource when given", () => {
    const v2 = { x402Version: 2 as const, accepted: requirement, payload: { signature: "0xabc" } };
    expect(paymentPayloadV2ToV1(v2)).toEqual({
      x402Version: 1,
      scheme: "exact",
      network: "base",
      payload: { signature: "0xabc" },
    });
    const v1 = paymentPayloadV2ToV1(v2);
    expect(paymentPayloadV1ToV2(v1, { accepted: requirement })).toStrictEqual(v2);
    expect(paymentPayloadV1ToV2(v1, { accepted: requirement, resource })).toEqual({ ...v2, resource });
  });
});
