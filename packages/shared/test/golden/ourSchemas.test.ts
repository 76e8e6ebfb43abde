import { describe, expect, it } from "vitest";
import { decodeHeader, encodeHeaderJson } from "../../src/headers/base64Json.js";
import { paymentPayloadV1ToV2, paymentPayloadV2ToV1, requirementV1ToV2 } from "../../src/headers/convert.js";
import { readPaymentRequired } from "../../src/headers/readPaymentRequired.js";
import { exactEvmPayloadSchema, exactSvmPayloadSchema } from "../../src/schemas/exact.js";
import {
  facilitatorRequestSchema,
  settleResponseSchema,
  supportedResponseSchema,
  verifyResponseSchema,
} from "../../src/schemas/facilitator.js";
import { paymentPayloadV1Schema, paymentRequiredV1Schema } from "../../src/schemas/v1.js";
import { paymentPayloadV2Schema, paymentRequiredV2Schema } from "../../src/schemas/v2.js";
import { type GoldenName, goldenCatalog, goldenNames, loadGolden } from "./fixtures.js";

/**
 * Our schemas accept exactly what the reference SDKs send: every golden sample produced by @x402/* 2.27.0 and
 * x402 / x402-express 1.2.0 parses with our schema for its place on the wire, headers decode with our codec to
 * the same value, and our encoder writes the very same header bytes back.
 */
const schemaFor = (name: GoldenName) => {
  if (name === "meta") return undefined;
  if (name.startsWith("v2/payment-required")) return paymentRequiredV2Schema;
  if (name.startsWith("v2/payment-signature")) return paymentPayloadV2Schema;
  if (name.startsWith("v2/payment-response") || name.startsWith("v1/x-payment-response"))
    return settleResponseSchema;
  if (name.includes("/verify-request") || name.includes("/settle-request")) return facilitatorRequestSchema;
  if (name.includes("/verify-response")) return verifyResponseSchema;
  if (name.includes("/settle-response")) return settleResponseSchema;
  if (name === "v2/supported") return supportedResponseSchema;
  if (name.startsWith("v1/payment-required.body")) return paymentRequiredV1Schema;
  if (name.startsWith("v1/x-payment")) return paymentPayloadV1Schema;
  throw new Error(`no schema for ${name}`);
};

const wireNames = goldenNames.filter((n) => n !== "meta");

describe("golden samples from the reference SDKs", () => {
  it("cover both generations", () => {
    expect(wireNames.filter((n) => n.startsWith("v1/")).length).toBeGreaterThan(15);
    expect(wireNames.filter((n) => n.startsWith("v2/")).length).toBeGreaterThan(15);
  });

  it.each(wireNames)("%s parses with our schema, unchanged", (name) => {
    const fixture = loadGolden(name) as { value: unknown; header?: string };
    const schema = schemaFor(name);
    if (!schema) return;
    const parsed = schema.safeParse(fixture.value);
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data).toEqual(fixture.value);
    if (goldenCatalog[name] === "header") {
      const header = fixture.header ?? "";
      expect(decodeHeader({ header: name, value: header, schema })).toEqual(fixture.value);
      // Our encoder writes the same bytes as the SDK's (all samples are ASCII JSON).
      expect(encodeHeaderJson({ header: name, value: fixture.value })).toBe(header);
    }
  });

  it.each(wireNames.filter((n) => n.startsWith("v2/payment-signature") || n.startsWith("v1/x-payment.")))(
    "%s carries a payload of the exact scheme",
    (name) => {
      const { value } = loadGolden(name) as {
        value: { payload: unknown; network?: string; accepted?: { network: string } };
      };
      const network = value.accepted?.network ?? value.network ?? "";
      const schema = network.includes("solana") ? exactSvmPayloadSchema : exactEvmPayloadSchema;
      expect(schema.safeParse(value.payload).success).toBe(true);
    },
  );

  it("reads every reference 402 into offers with no problem", () => {
    for (const name of wireNames.filter((n) => n.startsWith("v2/payment-required"))) {
      const { header } = loadGolden(name) as { header: string };
      const reading = readPaymentRequired({ headers: new Headers({ "PAYMENT-REQUIRED": header }), body: {} });
      expect(reading.problems).toEqual([]);
      expect(reading.offers.length).toBeGreaterThan(0);
      expect(reading.offers.every((o) => o.lane === "facilitator" && o.x402Version === 2)).toBe(true);
    }
    for (const name of wireNames.filter((n) => n.startsWith("v1/payment-required.body"))) {
      const { value } = loadGolden(name);
      const reading = readPaymentRequired({ headers: new Headers(), body: value });
      expect(reading.problems).toEqual([]);
      expect(reading.offers.every((o) => o.lane === "facilitator" && o.x402Version === 1)).toBe(true);
    }
  });

  it("converts the reference v1 payment and requirement to the v2 shapes @x402/core would send", () => {
    const { value: body } = loadGolden("v1/payment-required.body.evm");
    const { value: xPayment } = loadGolden("v1/x-payment.evm");
    const requirement = body.accepts[0];
    if (!requirement) throw new Error("fixture has no requirement");
    const { requirement: v2Requirement, resource } = requirementV1ToV2(
      paymentRequiredV1Schema.parse(body).accepts[0] ?? requirement,
    );
    expect(v2Requirement).toMatchObject({ network: "eip155:84532", amount: requirement.maxAmountRequired });
    const v2 = paymentPayloadV1ToV2(paymentPayloadV1Schema.parse(xPayment), {
      accepted: v2Requirement,
      resource,
    });
    expect(paymentPayloadV2Schema.safeParse(v2).success).toBe(true);
    expect(paymentPayloadV2ToV1(v2)).toEqual(xPayment);
  });
});
