import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  evmPayloadArb,
  mutate,
  mutationArb,
  paymentRequiredV2Arb,
  requirementV2Arb,
  resourceArb,
  svmPayloadArb,
} from "../../test/arbitraries.js";
import { isTollgateError } from "../errors/TollgateError.js";
import { decodeHeader, encodeHeaderJson, parseWire } from "../headers/base64Json.js";
import {
  paymentPayloadV1ToV2,
  paymentPayloadV2ToV1,
  requirementV1ToV2,
  requirementV2ToV1,
} from "../headers/convert.js";
import { directBindingMessage, directProofHeadersSchema } from "./direct.js";
import { exactEvmPayloadSchema, exactSvmPayloadSchema } from "./exact.js";
import {
  facilitatorRequestSchema,
  settleResponseSchema,
  supportedResponseSchema,
  verifyResponseSchema,
} from "./facilitator.js";
import { hybridPaymentRequiredSchema } from "./hybrid.js";
import { paymentReceiptSchema } from "./receipt.js";
import { prepaidTokenSchema } from "./token.js";
import { paymentPayloadV1Schema, paymentRequiredV1Schema, paymentRequirementsV1Schema } from "./v1.js";
import { paymentPayloadV2Schema, paymentRequiredV2Schema, paymentRequirementsV2Schema } from "./v2.js";

const decoders = {
  paymentRequiredV2Schema,
  paymentPayloadV2Schema,
  paymentRequiredV1Schema,
  paymentPayloadV1Schema,
  hybridPaymentRequiredSchema,
  facilitatorRequestSchema,
  verifyResponseSchema,
  settleResponseSchema,
  supportedResponseSchema,
  paymentReceiptSchema,
  exactEvmPayloadSchema,
  exactSvmPayloadSchema,
  directProofHeadersSchema,
  prepaidTokenSchema,
};

const v2PayloadArb = fc
  .tuple(requirementV2Arb, resourceArb, evmPayloadArb, svmPayloadArb)
  .map(([accepted, resource, evm, svm]) => ({
    x402Version: 2 as const,
    resource,
    accepted,
    payload: accepted.network.startsWith("eip155:") ? evm : svm,
  }));

describe("wire schemas: properties", () => {
  it("valid v2 PAYMENT-REQUIRED values round-trip through the header codec", () => {
    fc.assert(
      fc.property(paymentRequiredV2Arb, (value) => {
        const header = encodeHeaderJson({ header: "PAYMENT-REQUIRED", value });
        expect(
          decodeHeader({ header: "PAYMENT-REQUIRED", value: header, schema: paymentRequiredV2Schema }),
        ).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it("valid v2 payloads round-trip, and convert to v1 and back unchanged", () => {
    fc.assert(
      fc.property(v2PayloadArb, (value) => {
        const header = encodeHeaderJson({ header: "PAYMENT-SIGNATURE", value });
        const decoded = decodeHeader({
          header: "PAYMENT-SIGNATURE",
          value: header,
          schema: paymentPayloadV2Schema,
        });
        expect(decoded).toEqual(value);
        const v1 = parseWire({
          what: "X-PAYMENT",
          schema: paymentPayloadV1Schema,
          value: paymentPayloadV2ToV1(decoded),
        });
        expect(paymentPayloadV1ToV2(v1, { accepted: decoded.accepted, resource: decoded.resource })).toEqual(
          value,
        );
        const payloadSchema = decoded.accepted.network.startsWith("eip155:")
          ? exactEvmPayloadSchema
          : exactSvmPayloadSchema;
        expect(payloadSchema.safeParse(decoded.payload).success).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("requirements convert v2 → v1 → v2 unchanged, and the v1 form parses", () => {
    fc.assert(
      fc.property(requirementV2Arb, resourceArb, (requirement, resource) => {
        const v1 = requirementV2ToV1(requirement, resource);
        expect(paymentRequirementsV1Schema.parse(v1)).toEqual(v1);
        const back = requirementV1ToV2(v1);
        expect(back.requirement).toEqual(requirement);
        expect(back.resource).toEqual(resource);
      }),
      { numRuns: 300 },
    );
  });

  it("every decoder answers any mutated or random input with data or a typed error, never a crash", () => {
    const seeds = fc.oneof(paymentRequiredV2Arb, v2PayloadArb, fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(
        seeds,
        mutationArb,
        fc.constantFrom(...Object.entries(decoders)),
        (seed, m, [name, schema]) => {
          const value = mutate(seed, m.path, m.replacement);
          try {
            const parsed = parseWire({ what: name, schema: schema as typeof paymentRequiredV2Schema, value });
            expect(parsed).toBeDefined();
          } catch (e) {
            expect(isTollgateError(e, "WIRE__SCHEMA_MISMATCH")).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a wrong type or value in any required field of a valid requirement is caught", () => {
    const bad = {
      network: ["base", "", "eip155", 8453, null],
      amount: [-1, "1.5", "-1", "01", "1e400", "9".repeat(100), null],
      maxTimeoutSeconds: [-1, 1.5, "60", null],
      scheme: ["", 1, null],
      asset: ["", null, {}],
      payTo: ["", null, []],
    };
    fc.assert(
      fc.property(
        requirementV2Arb,
        fc.constantFrom(...Object.entries(bad)),
        fc.nat(),
        (requirement, [key, values], i) => {
          const value = values[i % values.length];
          expect(paymentRequirementsV2Schema.safeParse({ ...requirement, [key]: value }).success).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("direct and token proofs", () => {
  it("reads EVM and Solana direct proofs", () => {
    const evm = directProofHeadersSchema.parse({
      tx: `0x${"ab".repeat(32)}`,
      chain: "base",
      signature: `0x${"11".repeat(65)}`,
    });
    expect(evm.chain).toBe("base");
    const sol = directProofHeadersSchema.parse({
      tx: "5".repeat(87),
      chain: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
    });
    expect(sol.signature).toBeUndefined();
    expect(directProofHeadersSchema.safeParse({ tx: "0x12", chain: "base" }).success).toBe(false);
    expect(
      directProofHeadersSchema.safeParse({ tx: `0x${"ab".repeat(32)}`, chain: "Base Mainnet" }).success,
    ).toBe(false);
  });

  it("builds the binding message with the lowercase hash and canonical CAIP-2", () => {
    expect(
      directBindingMessage({
        network: "eip155:8453",
        tx: `0x${"AB".repeat(32)}`,
        origin: "https://a.example",
      }),
    ).toBe(`tollgate-direct:eip155:8453:0x${"ab".repeat(32)}:https://a.example`);
  });

  it("accepts only 43-character base64url tokens", () => {
    expect(prepaidTokenSchema.safeParse(Buffer.alloc(32, 7).toString("base64url")).success).toBe(true);
    expect(prepaidTokenSchema.safeParse(Buffer.alloc(32, 7).toString("base64")).success).toBe(false);
    expect(prepaidTokenSchema.safeParse("short").success).toBe(false);
  });
});
